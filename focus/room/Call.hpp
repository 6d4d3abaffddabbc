// One participant's call into a room: the dialog, its media ports and negotiated SDP, 2xx
// retransmission until ACK (RFC 3261 §13.3.1.4), session timers (RFC 4028) and the in-dialog
// requests (re-INVITE, UPDATE, INFO, OPTIONS, BYE).
#pragma once

#include <optional>
#include <string>

#include "focus/conference/Model.hpp"
#include "focus/dialog/Dialog.hpp"
#include "focus/dialog/SessionTimer.hpp"
#include "focus/sdp/OfferAnswer.hpp"
#include "focus/timer/Timers.hpp"
#include "focus/txn/TransactionLayer.hpp"
#include "mixer/engine/Control.hpp"
#include "policy/Room.hpp"

namespace confab::room {

// A room's mix in the mixer, shared by the calls in the room; the mix goes when the last does.
class RoomMix {
 public:
  RoomMix(mixer::Control& mixer, mixer::MixId id) : mixer_(mixer), id_(id) {}
  ~RoomMix() { mixer_.destroyMix(id_); }
  RoomMix(const RoomMix&) = delete;
  RoomMix& operator=(const RoomMix&) = delete;
  [[nodiscard]] mixer::MixId id() const { return id_; }

 private:
  mixer::Control& mixer_;
  mixer::MixId id_;
};

struct CallSettings {
  dialog::SessionTimerSettings sessionTimer;
  // Host for our Contact (the public name, with our listening port added); empty: the address
  // the call came in on.
  std::string contactHost;
  // SpeexDSP clean-up of every caller's voice in the mixer.
  bool noiseSuppression = false;
  bool automaticGain = false;
};

class Call final : private txn::ClientTransaction::User {
 public:
  class Listener {
   public:
    // The call is over (BYE either way, ACK or session timeout); the owner deletes it. Always
    // called from a timer, never from inside one of the call's own methods.
    virtual void onCallEnded(Call& call) = 0;
    // The media leg joined the mix, changed, or left it (for the debug log).
    virtual void onMediaChange(Call& /*call*/, const std::string& /*change*/) {}
    // An ACK came for a 2xx and the media is in the mixer: the caller can hear us now.
    virtual void onConfirmed(Call& /*call*/) {}
    // A key the caller pressed, sent as SIP INFO (RFC 4733 keys come from the mixer).
    virtual void onKey(Call& /*call*/, char /*key*/) {}
    // A request in the dialog the call itself does not handle (MESSAGE, REFER): the listener
    // answers it (405 if it does not serve it either).
    virtual void onDialogRequest(Call& call, txn::ServerTransaction& transaction) = 0;

   protected:
    ~Listener() = default;
  };

  // Where the caller is: on the way in (alone in a mix of their own, hearing prompts), waiting
  // for a moderator, or in the conference.
  enum class Stage : uint8_t { kEntering, kWaiting, kIn };

  // 'contact' is our Contact URI for this call (RFC 3261 §8.1.1.8, RFC 4579 §5 isfocus is added).
  // 'media' is the endpoint reserved in 'mixer' for this call; the call releases it.
  Call(std::string roomId,
       std::string contact,
       dialog::Dialog dialog,
       mixer::Control& mixer,
       mixer::Reservation media,
       std::shared_ptr<RoomMix> mix,
       sdp::LocalMedia local,
       txn::TransactionLayer& layer,
       timer::Timers& timers,
       const CallSettings& settings,
       Listener& listener,
       Stage stage = Stage::kIn);
  ~Call();
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // Answers the initial INVITE or a re-INVITE (offer in it, or an offer from us in the 2xx).
  // On failure the error response has been sent; the caller drops a call that never started.
  bool answerInvite(txn::ServerTransaction& invite);
  // An ACK for one of our 2xx, with the answer when we made the offer.
  void onAck(const sip::Message& ack);
  // Any request within the dialog except ACK and CANCEL.
  void onRequest(txn::ServerTransaction& transaction);
  // A call the focus placed (DialOut): its 2xx answered 'offer' with 'media' and was ACKed.
  // Joins the mix; false (and a BYE goes) when the mixer refuses it.
  bool startAnswered(const sdp::SessionDescription& offer, sdp::Negotiated media);
  // A new request in the call's dialog (the next CSeq) and where it goes: for NOTIFYs of a
  // REFER received in it (RFC 3515 §2.4.4).
  [[nodiscard]] sip::Message newRequest(const std::string& method) {
    return dialog_.makeRequest(method);
  }
  [[nodiscard]] const std::string& contactHeader() const { return contact_; }
  // Sends a MESSAGE in the dialog (RFC 3428 §4: a page within a session); its answer is not
  // waited for.
  void sendMessage(const std::string& contentType, std::string body);
  // Ends the call from our side with a BYE (shutdown, timeouts, operator action). 'failure':
  // something broke (no ACK, no media, timers), rather than someone ending it.
  void hangUp(std::string reason = "ended by the focus", bool failure = false);

  [[nodiscard]] const dialog::Dialog& dialog() const { return dialog_; }
  [[nodiscard]] const std::string& roomId() const { return roomId_; }
  [[nodiscard]] const std::optional<sdp::Negotiated>& media() const { return negotiated_; }
  [[nodiscard]] bool confirmed() const { return confirmed_; }
  [[nodiscard]] bool ended() const { return ending_; }
  // How it ended: the caller's BYE, or a failure (timeouts, lost media) rather than a decision.
  [[nodiscard]] bool endedByPeer() const { return endedByPeer_; }
  [[nodiscard]] bool failed() const { return failed_; }
  // Their SDP asks for none of our audio (a=sendonly or a=inactive: on hold, RFC 3264 §8.4).
  [[nodiscard]] bool onHold() const;
  [[nodiscard]] uint32_t ssrc() const { return ssrc_; }
  [[nodiscard]] uint16_t localRtpPort() const { return media_.rtpPort; }
  [[nodiscard]] mixer::EndpointId mediaEndpoint() const { return media_.id; }
  // Whether the mixer has the call's media (after a usable offer/answer).
  [[nodiscard]] bool inMix() const { return joined_; }

  // What the conference model set for this participant, as the mixer has it; kept across
  // re-INVITEs (which renegotiate codecs and keys, not whether someone is muted).
  using Controls = conference::Controls;
  [[nodiscard]] const Controls& controls() const { return controls_; }
  void setControls(const Controls& controls);
  [[nodiscard]] Stage stage() const { return stage_; }
  // What the PIN made them: moderator, participant, or listener (muted, cannot unmute).
  [[nodiscard]] policy::Role role() const { return role_; }
  [[nodiscard]] bool moderator() const { return role_ == policy::Role::kModerator; }
  [[nodiscard]] bool listener() const { return role_ == policy::Role::kListener; }
  void setRole(policy::Role role) { role_ = role; }
  // Takes the call's media to another mix (out of its own into the conference), keeping the
  // controls set on it; the call now belongs to 'roomId'. A mix on another mixer (several
  // mixers) takes a re-INVITE to new ports there (relocateMedia).
  void moveTo(std::string roomId, std::shared_ptr<RoomMix> mix, Stage stage);
  [[nodiscard]] const std::shared_ptr<RoomMix>& mix() const { return mix_; }
  // The call's media has new ports on another mixer (mixer::MixerSet: its mixer went away and
  // the room runs elsewhere now, or moveTo() a mix on another mixer): 'where' is them. The phone is
  // re-INVITEd with the new address and a new SRTP key of ours (RFC 3264 §8.3.1), and the media
  // joins the room again with its answer. A phone that refuses or does not answer is hung up on.
  void relocateMedia(const mixer::Reservation& where);
  // A relocation's re-INVITE is out or waiting for its turn.
  [[nodiscard]] bool relocating() const { return relocationPending_ || relocationOffer_; }
  // Why the call ended, for people reading logs ("caller hung up", "no ACK", ...).
  [[nodiscard]] const std::string& endReason() const { return endReason_; }

 private:
  void onResponse(txn::ClientTransaction& transaction, const sip::Message& response) override;
  void onTimeout(txn::ClientTransaction& transaction) override;

  // RFC 4028 negotiation for a request; nothing (with the error response sent) when refused,
  // else the timer to run (which may be none).
  std::optional<std::optional<dialog::SessionTimer>> negotiateSessionTimer(
      txn::ServerTransaction& transaction);
  // Applies an offer (answer() into 'body') or makes ours; false with the error response sent.
  bool handleSdp(txn::ServerTransaction& transaction, std::string& body);
  sip::Message okResponse(const sip::Message& request, std::string body);
  void startRetransmitting(sip::Message ok, uint32_t cseq, const transport::Source& source);
  void retransmitOk();
  void armSessionTimer();
  void refreshSession();
  // Session-Expires for a request of ours in the dialog (a refresh, a relocation).
  void addSessionExpires(sip::Message& request) const;
  void finish(std::string reason);
  // Hands the negotiated media to the mixer: join the room's mix, or update it (re-INVITE).
  // False when the mixer refused it.
  bool applyMedia();
  // Sets an SDP's o= version for sending (RFC 3264 §8: higher only when it changed).
  void stampVersion(sdp::SessionDescription& sd);
  // Sends the relocation's re-INVITE, or waits for the INVITE transaction under way to finish.
  void sendRelocation();
  void onRelocationAnswer(const sip::Message& response);

  std::string roomId_;
  std::string contact_;
  dialog::Dialog dialog_;
  mixer::Control& mixer_;
  mixer::Reservation media_;
  std::shared_ptr<RoomMix> mix_;
  uint32_t ssrc_;
  bool joined_ = false;
  Controls controls_;
  Stage stage_ = Stage::kIn;
  policy::Role role_ = policy::Role::kParticipant;
  sdp::LocalMedia local_;
  txn::TransactionLayer& layer_;
  timer::Timers& timers_;
  const CallSettings& settings_;
  Listener& listener_;

  std::optional<sdp::Negotiated> negotiated_;
  std::vector<std::string> signallingHosts_;  // of the last offer's request (MediaParams.hpp)
  std::optional<sdp::SessionDescription> pendingOffer_;  // our offer awaiting the ACK
  std::string lastSdp_;                                  // what we last sent, for refreshes
  std::optional<dialog::SessionTimer> sessionTimer_;
  bool peerAllowsUpdate_ = false;
  bool confirmed_ = false;
  bool ending_ = false;
  bool endedByPeer_ = false;
  bool failed_ = false;
  std::string endReason_;

  // 2xx retransmission until ACK.
  sip::Message pendingOk_;
  transport::Source okSource_;
  std::optional<uint32_t> awaitingAckFor_;
  std::chrono::milliseconds okInterval_{0};
  timer::Timers::Id okTimer_ = 0;
  timer::Timers::Id ackTimeout_ = 0;

  timer::Timers::Id sessionTimerId_ = 0;
  timer::Timers::Id finishTimer_ = 0;
  txn::ClientTransaction* bye_ = nullptr;
  // A session refresh, or the relocation's re-INVITE (relocationOffer_ set): one INVITE of ours
  // at a time in the dialog (RFC 3261 §14.1).
  txn::ClientTransaction* refresh_ = nullptr;
  bool relocationPending_ = false;                          // to send when the dialog is free
  std::optional<sdp::SessionDescription> relocationOffer_;  // sent, awaiting the answer
  timer::Timers::Id relocationTimer_ = 0;
};

}  // namespace confab::room
