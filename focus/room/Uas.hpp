// The focus as a user agent server (RFC 3261 §8.2): inspects each new request in the RFC's order
// (method, headers, content, application), answers calls to known rooms and dispatches
// in-dialog requests to their Call.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "focus/auth/Digest.hpp"
#include "focus/conference/Model.hpp"
#include "focus/conference/Notifier.hpp"
#include "focus/room/Abuse.hpp"
#include "focus/room/Call.hpp"
#include "focus/room/DialOut.hpp"
#include "focus/room/Entry.hpp"
#include "focus/room/Move.hpp"
#include "focus/room/PinChecker.hpp"
#include "focus/room/Prompts.hpp"
#include "focus/room/ReferReport.hpp"
#include "focus/room/Referral.hpp"
#include "focus/timer/Timers.hpp"
#include "focus/txn/TransactionLayer.hpp"
#include "mixer/engine/Control.hpp"
#include "policy/Directory.hpp"
#include "policy/Room.hpp"

namespace confab::room {

// Calls coming and going, for logs and (later) the API's live events.
class CallObserver {
 public:
  virtual void onCallStarted(const Call& call, const transport::Source& from) = 0;
  virtual void onCallEnded(const Call& call) = 0;
  // An RFC 4733 key press from a caller.
  virtual void onDtmf(const Call& /*call*/, char /*digit*/) {}
  // Where the call's media latched, or packets refused at its port (mixer::MediaSourceEvent).
  virtual void onMediaSource(const Call& /*call*/, const mixer::MediaSourceEvent& /*event*/) {}
  // A limit refused something from 'source' (IP:PORT): "rtp-ports-exhausted", "room-full",
  // and the transport's "sip-message-too-large", "sip-connection-refused".
  virtual void onLimit(std::string_view /*event*/, const std::string& /*source*/) {}
  // The call's media leg changed in the mixer: "joined ...", "updated ...", "left: <why>".
  virtual void onMediaChange(const Call& /*call*/, const std::string& /*change*/) {}
  // An exception on a mixer thread, caught there: in this call's media (null: not one call's).
  virtual void onMixerFault(const Call* /*call*/, const std::string& /*what*/) {}

 protected:
  ~CallObserver() = default;
};

// What participants do in a conference that is not conference state (so not in the model, nor
// in RFC 4575 NOTIFYs): who talks, and the keys they press once in (never PIN entry). For the
// API's live events.
class ActivityListener {
 public:
  virtual void onTalking(const Call& call, bool talking) = 0;
  virtual void onKeyPressed(const Call& call, char key) = 0;

 protected:
  ~ActivityListener() = default;
};

struct UasSettings {
  CallSettings call;
  // The c= address of our SDP; empty: the address the request reached us on.
  std::string mediaAddress;
  // Ring this long (180 Ringing) before answering; 0 answers at once.
  std::chrono::milliseconds answerDelay{0};
  // The user part of the lobby: callers key in the meeting number there. Empty: no lobby.
  std::string lobbyUser;
  // Where the voice prompts are (Prompts.hpp); empty: none, callers hear silence and tones.
  std::string soundsDir;
  EntrySettings entry;
  AbuseSettings abuse;
  // Source addresses the per-source limits do not apply to (a SIP proxy in front of us).
  std::vector<std::string> trustedSources;
  // After the ACK, before the first prompt: the phone's audio path opens.
  std::chrono::milliseconds promptDelay{500};
  // Dial-outs go here first (RFC 3261 §8.1.2), whatever their URI's host; none: to the URI's
  // own address (an IP literal) or through DNS (RFC 3263) when a resolver is given.
  std::optional<transport::Destination> outboundProxy;
  // The conference factory's user part (RFC 4579 §5.3): an INVITE to it makes a new ad-hoc
  // conference. Empty: no factory.
  std::string factoryUser;
  std::size_t maxAdHocRooms = 100;
};

class Uas final : public txn::TransactionUser,
                  public Call::Listener,
                  public Entry::Listener,
                  public mixer::MixerEvents,
                  private conference::Listener,
                  private DialOut::Listener {
 public:
  Uas(txn::TransactionLayer* layer,
      timer::Timers& timers,
      const policy::RoomSource& rooms,
      mixer::Control& mixer,
      UasSettings settings);
  ~Uas();
  Uas(const Uas&) = delete;
  Uas& operator=(const Uas&) = delete;

  // Lets the layer be built after us (they point at each other).
  void attach(txn::TransactionLayer& layer) {
    layer_ = &layer;
    notifier_.attach(layer);
  }
  void observe(CallObserver* observer) { observer_ = observer; }
  void listenActivity(ActivityListener* listener) { activity_ = listener; }

  void onRequest(txn::ServerTransaction& transaction) override;
  void onAck(const sip::Message& ack, const transport::Source& source) override;
  void onCancel(txn::ServerTransaction& invite) override;
  void onServerTransactionEnded(txn::ServerTransaction& transaction) override;
  void onStrayResponse(const sip::Message& response) override;

  // mixer::MixerEvents
  void onDtmf(mixer::EndpointId endpoint, char digit) override;
  void onTalking(mixer::EndpointId endpoint, bool talking) override;
  void onMediaSource(mixer::EndpointId endpoint, const mixer::MediaSourceEvent& event) override;
  void onMixerFault(mixer::EndpointId endpoint, mixer::MixId mix, const std::string& what) override;
  void onRtpTimeout(mixer::EndpointId endpoint) override;
  void onEndpointFailed(mixer::EndpointId endpoint) override;
  void onEndpointRelocated(mixer::EndpointId endpoint, const mixer::Reservation& where) override;

  // Sends BYE on every call (shutdown).
  void hangUpAll();
  // A configuration reload (SIGHUP, issue 14 item 2): the abuse limits, the PIN and meeting
  // number questions, the answer delay and the trusted sources of 'next' apply from now on.
  // Calls up are left as they are (a lower per-source limit ends none of them).
  void reconfigure(const UasSettings& next);
  [[nodiscard]] std::size_t callCount() const { return calls_.size(); }
  [[nodiscard]] std::size_t callsInRoom(const std::string& roomId) const;
  [[nodiscard]] const Call* findCall(const std::string& callId) const;
  [[nodiscard]] Call* findCall(const std::string& callId);
  // The calls in a room that have not ended, oldest first.
  [[nodiscard]] std::vector<const Call*> callsIn(const std::string& roomId) const;
  // The room's mix, while anyone is in the room.
  [[nodiscard]] std::optional<mixer::MixId> mixOf(const std::string& roomId) const;
  // Whether only moderators may enter now (the room's rule, or a moderator's *1).
  [[nodiscard]] bool locked(const std::string& roomId) const;
  // The live conferences: the one owner of who is in which room, roles, mute, lock. Changing it
  // changes the calls (their media follows its events).
  [[nodiscard]] conference::Model& conferences() { return model_; }
  [[nodiscard]] const conference::Model& conferences() const { return model_; }
  [[nodiscard]] const conference::Notifier& notifier() const { return notifier_; }
  // The room's media as the API reads and steers it: through the focus, which tells the mixer
  // and the conference model (so a recording shows in the conference's events).
  [[nodiscard]] std::optional<mixer::MixStats> roomMedia(const std::string& roomId) const;
  [[nodiscard]] std::optional<mixer::MediaStats> participantMedia(const Call& call) const;
  // What a call's record keeps of its media: the mixer's counts and the last RTCP figures.
  [[nodiscard]] std::optional<policy::CallQuality> qualityOf(const Call& call) const;
  [[nodiscard]] std::vector<mixer::EngineThreadStats> mixerThreads() const;
  [[nodiscard]] bool mixerReady() const { return mixer_.ready(); }
  // False when nobody is in the room or the mixer refused.
  bool startRecording(const std::string& roomId,
                      const std::string& path,
                      mixer::RecordingFormat format,
                      const std::string& name);
  void stopRecording(const std::string& roomId);
  bool play(const std::string& roomId, const std::string& path);
  void stopPlaying(const std::string& roomId);
  // The call a participant of the model is.
  [[nodiscard]] Call* callOf(std::string_view participantId);
  // Removes a participant: BYE (or CANCEL while we call them), and they leave "booted" (RFC 4575
  // §5.7.4). False: no such participant.
  bool kick(std::string_view participantId, std::string reason);
  // What a moderator's keypad does (*1, *9), for the API too: through the conference model, with
  // the same prompt to everyone. False when no conference runs in the room.
  bool setLocked(const std::string& roomKey, bool locked);
  bool setAllMuted(const std::string& roomKey, bool muted);
  // Moves a participant in a conference's mix into the conference of another room of the same
  // tenant (Move.hpp has the rules), without the caller noticing more than the new room's sound:
  // the same call, RTP port, SSRC and SRTP contexts (mixer::Control::move), no re-INVITE. In the
  // model they leave their room ("booted", the reason naming the target: RFC 4575 §5.7.4) and
  // join the target, which starts if it was not running, as when someone dials in; the room
  // they left hears the exit tone or ends as when someone hangs up. Nothing, or why not
  // (UasMove.cpp).
  std::optional<MoveRefusal> move(std::string_view participantId, const policy::Room& target);
  // Ends the conference: everyone in it, or on the way in, is removed ("booted", RFC 4575
  // §5.7.4). The number removed.
  std::size_t endConference(const std::string& roomKey, const std::string& reason);
  // Calls 'target' into the running conference 'roomKey' (RFC 4579 §5.5); 'report' (may be
  // null) hears how it goes. Nothing, or the status and reason it was refused with.
  std::optional<std::pair<int, std::string>> dialOut(const std::string& roomKey,
                                                     const sip::Uri& target,
                                                     std::string referredBy,
                                                     std::shared_ptr<ReferReport> report);
  // The digest account a room's dial-outs answer 401/407 with (RFC 8760): its tenant's from the
  // policy store, else the focus's own; nothing leaves challenges unanswered. Asked once per
  // dial-out, on this thread.
  using DialOutAccount = std::function<std::optional<auth::Credentials>(const policy::Room&)>;
  // How dial-outs find where to go (a DNS resolver, main wires one), and whose they are.
  void useLocator(DialOut::Locate locate) { locate_ = std::move(locate); }
  void useDialOutAccounts(DialOutAccount accounts) { accounts_ = std::move(accounts); }
  [[nodiscard]] std::size_t dialOutCount() const { return outgoing_.size(); }
  [[nodiscard]] std::size_t referReportsKept() const { return reports_.size(); }

  // Entry::Listener
  std::optional<policy::Room> findRoom(std::string_view user, std::string_view domain) override;
  void checkPin(Entry& entry, const policy::Room& room, std::string pin) override;
  // PIN checks off this thread (main wires one); without, they run here (tests).
  void usePinChecker(PinChecker* checker) { pinChecker_ = checker; }
  void onWrongPin(Entry& entry, const policy::Room& room) override;
  bool pinEntryOpen(const policy::Room& room) override;
  [[nodiscard]] const AbuseCounters& abuseCounters() const { return abuse_.counters(); }
  // SIP transactions ended so far, by side, method and status; null before attach().
  [[nodiscard]] const txn::TransactionCounts* transactionCounts() const {
    return layer_ != nullptr ? &layer_->counts() : nullptr;
  }
  void admit(Entry& entry, const policy::Room& room, policy::Role role) override;

 private:
  void onCallEnded(Call& call) override;
  void onMediaChange(Call& call, const std::string& change) override;
  void onConfirmed(Call& call) override;
  void onKey(Call& call, char key) override;
  // conference::Listener: the calls' media follows the model's controls.
  void onChange(const conference::Change& change) override;
  // The participant a call is, as it joins the conference model.
  [[nodiscard]] conference::Participant participantFor(const Call& call,
                                                       conference::EndpointStatus status) const;
  // The model's media state from the call's negotiated SDP.
  void noteMedia(const Call& call);
  // Ends the conference when nobody is in it or on the way (ringing, waiting, hearing prompts).
  void endIfEmpty(const std::string& roomId);
  // Someone ('wasIn': from the conference's mix) left the room: the conference ends if nobody is
  // left, or with its last moderator if its rules say so, else the others hear the exit tone.
  void afterLeaving(const std::string& roomId, bool wasIn, bool wasModerator);
  // The conference's URI (RFC 4575 conf-uri): the room's user at the host the caller dialled.
  [[nodiscard]] static std::string conferenceUri(const std::string& user,
                                                 const std::string& hostPort);
  [[nodiscard]] std::string dialledHost(const Call& call) const;
  // Keys from a caller in the conference: the keypad controls (README).
  void keypad(Call& call, char key);
  // The prompts that say a conference has 'total' people in it.
  static std::vector<std::string> countPrompts(std::size_t total);
  // '#': how many are in the conference, told to this caller alone.
  void tellCount(Call& call, const policy::Room& rules);
  // Into the room's mix, with the room's rules for someone of that role.
  void join(Call& call, const policy::Room& room);
  // A moderator is in: everyone waiting for one joins.
  void releaseWaiting(const std::string& roomId);
  // Plays a prompt or tone to everyone in the room (entry/exit tones, lock changes).
  void announce(const std::string& roomId, const std::string& prompt);
  [[nodiscard]] std::size_t moderatorsIn(const std::string& roomId) const;
  [[nodiscard]] std::size_t callsOfTenant(int64_t tenant) const;
  // Dial-outs under way into the tenant's conferences (they hold places too).
  [[nodiscard]] std::size_t outgoingOfTenant(int64_t tenant) const;
  void dropEntry(Call& call);
  // A call that began (counted against its source) is gone or never started.
  void forget(const Call* call);
  void limit(std::string_view event, const transport::Source& from);
  void handleNewInvite(txn::ServerTransaction& transaction);
  void admit(std::unique_ptr<Call> call, const transport::Source& from);
  void handleOutOfDialog(txn::ServerTransaction& transaction);
  // SUBSCRIBE to a room (RFC 6665): conference (RFC 4575), presence, dialog.
  void handleSubscribe(txn::ServerTransaction& transaction);
  // Whether the subscriber may see the room's roster: anyone for a room without PINs; for a
  // room with one, only someone in it (their From and their address are one of its calls').
  [[nodiscard]] bool mayWatch(const policy::Room& room,
                              const sip::Message& request,
                              const transport::Source& source);
  static constexpr std::size_t kMaxMessageBytes = 1000;
  [[nodiscard]] bool trustedSource(const std::string& ip) const;
  // Over the per-address request rate (not for trusted sources): 503 sent, true.
  bool overRate(txn::ServerTransaction& transaction,
                std::string_view event,
                const std::string& tag);
  // The call in a running conference that a request out of any dialog comes from: its From is
  // the participant's and it comes from the call's address. Null when none is.
  [[nodiscard]] Call* participantSending(const std::string& roomKey,
                                         const sip::Message& request,
                                         const transport::Source& source);
  // RFC 3428 MESSAGE from a participant (in their call's dialog, or to the room URI from
  // 'sender' null): relayed as text to everyone else in the conference.
  void relayMessage(Call* sender, txn::ServerTransaction& transaction);
  void onDialogRequest(Call& call, txn::ServerTransaction& transaction) override;
  // RFC 4579 §5.5, §5.6: REFER to the room (in a participant's call or to the room URI): dial
  // someone in, or (method=BYE) remove a participant. Moderators only.
  void handleRefer(Call* from, txn::ServerTransaction& transaction);
  // DialOut::Listener
  void onProgress(DialOut& call, int status, const std::string& reason) override;
  void onAnswered(DialOut& call, dialog::Dialog dialog, sdp::Negotiated media) override;
  void onFailed(DialOut& call, int status, const std::string& reason) override;
  void locate(const sip::Uri& uri,
              std::function<void(std::vector<transport::Destination>, std::string)> done);
  // Deletes a finished dial-out from a timer (it may be the one calling us).
  void retire(DialOut& call);
  // Keeps a REFER's report until its last NOTIFY is answered.
  void keepReport(std::shared_ptr<ReferReport> report);
  // Our Contact URI for a room, at our address for 'protocol'.
  [[nodiscard]] std::string roomContact(const std::string& user,
                                        transport::Protocol protocol) const;
  // The room's mix, made when it has none: beside 'beside' (the mix its first caller is in now),
  // so that with several mixers that caller's media can move into it.
  std::shared_ptr<RoomMix> mixFor(const std::string& roomId,
                                  const std::shared_ptr<RoomMix>& beside = nullptr);
  Call* findByEndpoint(mixer::EndpointId endpoint);
  std::string mediaAddressFor(const sip::Message& request, const transport::Source& source) const;
  std::string contactFor(const std::string& roomId,
                         const sip::Message& request,
                         const transport::Source& source) const;

  struct Ringing {
    std::unique_ptr<Call> call;
    timer::Timers::Id timer = 0;
  };

  txn::TransactionLayer* layer_;
  CallObserver* observer_ = nullptr;
  ActivityListener* activity_ = nullptr;
  timer::Timers& timers_;
  const policy::RoomSource& rooms_;
  mixer::Control& mixer_;
  // Declared before the calls: it outlives them (their ends are its events).
  conference::Model model_;
  conference::Notifier notifier_;
  std::unordered_map<std::string, std::weak_ptr<RoomMix>> mixes_;  // by room id
  UasSettings settings_;
  std::unordered_map<std::string, std::unique_ptr<Call>> calls_;  // by dialog key
  std::unordered_map<txn::ServerTransaction*, Ringing> ringing_;  // INVITEs not answered yet
  Prompts prompts_;
  // Callers on their way in, by call; an entry never outlives its call.
  std::unordered_map<const Call*, std::unique_ptr<Entry>> entries_;
  std::unordered_map<const Call*, bool> starPressed_;  // keypad: '*' came, its digit not yet
  std::unordered_set<const Call*> greeted_;  // the room heard their entry tone (or need not)
  Abuse abuse_;
  PinChecker* pinChecker_ = nullptr;
  struct Source {
    std::string ip;        // the address each call came from
    bool counted = false;  // against the per-source call limit (not for trusted sources)
    transport::ConnectionId connection = 0;  // the stream it came on, held while it lasts
    std::string dialled;  // the Request-URI's host[:port]: where the caller reached us
  };
  std::unordered_map<const Call*, Source> sourceOf_;
  // Calls we are placing, until answered or failed.
  struct Outgoing {
    std::unique_ptr<DialOut> call;
    mixer::Reservation media;
    std::shared_ptr<ReferReport> report;
    std::string participant;  // its id in the model until it has a dialog
  };
  std::unordered_map<const DialOut*, Outgoing> outgoing_;
  // REFER reports still going after their dial-out or removal is over (their last NOTIFY out).
  std::vector<std::shared_ptr<ReferReport>> reports_;
  // Conferences made through the factory, by room id, while they run.
  std::unordered_map<std::string, policy::Room> adHoc_;
  DialOut::Locate locate_;
  DialOutAccount accounts_;
};

}  // namespace confab::room
