// The live conferences (issue 12 item 1): who is in which room, in what role, with what media
// state, and the room's lock, in the terms of RFC 4575 (conference, user, endpoint, media). This
// is the one owner of live room state. SIP call flows, the keypad and the API change it only
// through the operations below; each operation that changes something is one Change, which
// every listener follows: the calls' media (the mixer), the event package's subscribers, logs.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/CallQuality.hpp"
#include "policy/Room.hpp"

namespace confab::conference {

// RFC 4575 §5.7.1 (endpoint status).
enum class EndpointStatus : uint8_t {
  kPending,        // admitted, not in the mix yet (hearing the count, waiting for a moderator)
  kDialingOut,     // the focus is calling them (RFC 4579 §5.5)
  kDialingIn,      // their INVITE is being answered
  kAlerting,       // our INVITE rings at their end
  kOnHold,         // they put the conference on hold (their SDP direction)
  kConnected,      // in the mix
  kMutedViaFocus,  // in the conference, the focus does not mix their voice
  kDisconnecting,  // a BYE is under way
  kDisconnected,
};
// RFC 4575 §5.7.3, §5.7.4.
enum class JoiningMethod : uint8_t { kDialedIn, kDialedOut, kFocusOwner };
enum class DisconnectionMethod : uint8_t { kDeparted, kBooted, kFailed, kBusy };

[[nodiscard]] std::string_view name(EndpointStatus status);
[[nodiscard]] std::string_view name(JoiningMethod method);
[[nodiscard]] std::string_view name(DisconnectionMethod method);
[[nodiscard]] std::string_view name(policy::Role role);

// What an organizer set for a participant's audio; the mixer follows it.
struct Controls {
  bool muted = false;  // their voice is not mixed
  bool deaf = false;   // they hear silence
  float gain = 1.0F;   // on their voice
  bool operator==(const Controls&) const = default;
};

// The call's media as negotiated (what the mixer runs for it).
struct Media {
  std::string codec;    // "PCMU/8000"; empty before the offer/answer
  bool onHold = false;  // their SDP says they do not want our audio (sendonly or inactive)
  bool srtp = false;
  uint32_t ssrc = 0;  // ours, towards them
  bool operator==(const Media&) const = default;
};

// One user with their one endpoint: each call into a room is one participant.
struct Participant {
  std::string id;           // the call's dialog key: stable while it lasts
  std::string callId;       // its Call-ID, what the API names it by
  std::string entity;       // the user: their From URI (RFC 4575 §5.6 user entity)
  std::string endpoint;     // the device: their Contact (RFC 4575 §5.7 endpoint entity)
  std::string displayName;  // From's display name
  policy::Role role = policy::Role::kParticipant;
  EndpointStatus status = EndpointStatus::kPending;
  JoiningMethod joining = JoiningMethod::kDialedIn;
  std::string joinedBy;  // for a dial-out: who asked for it (the REFER's sender)
  std::chrono::system_clock::time_point joinedAt{};
  std::optional<DisconnectionMethod> disconnection;
  std::string disconnectReason;
  std::chrono::system_clock::time_point leftAt{};
  Controls controls;
  Media media;
  // Set as they leave: how their media went (none when they never had any).
  std::optional<policy::CallQuality> quality;
};

// In the mix (connected, on hold, or muted by the focus): what user-count counts.
[[nodiscard]] bool inMix(const Participant& p);

struct Conference {
  std::string id;   // the room's key (policy::Room::key)
  std::string uri;  // its conf-uri, sip:ROOM@HOST
  policy::Room rules;
  bool locked = false;    // the rule or a moderator's lock: only moderators may enter
  bool allMuted = false;  // a moderator muted every non-moderator
  bool adHoc = false;     // made through the conference factory (RFC 4579 §5.3)
  std::string recording;  // the file the conference is being recorded to; empty: not recording
  std::chrono::system_clock::time_point startedAt{};
  std::vector<Participant> participants;  // in the order they joined

  [[nodiscard]] const Participant* find(std::string_view participantId) const;
  // Participants in the mix (connected, muted via focus, on hold), for user-count.
  [[nodiscard]] std::size_t activeCount() const;
  [[nodiscard]] std::size_t moderatorCount() const;
};

struct Change {
  enum class Kind : uint8_t {
    kStarted,  // a conference began (its first participant is coming)
    kJoined,   // a participant is added
    kUpdated,  // a participant's status, role, controls or media changed
    kLeft,     // a participant is gone (the Participant carries how, and is removed after)
    kRoom,     // the conference's own state (lock, all muted, recording) changed
    kEnded,    // the conference is over (removed after)
  };
  Kind kind;
  const Conference& conference;
  const Participant* participant = nullptr;  // for kJoined, kUpdated, kLeft
  bool controlsChanged = false;              // kUpdated: what the mixer must follow
};

// Listeners follow the model; they must not call its operations while hearing a change.
class Listener {
 public:
  virtual void onChange(const Change& change) = 0;

 protected:
  ~Listener() = default;
};

class Model {
 public:
  using Clock = std::chrono::system_clock;
  // Listeners hear every change in the order they were added.
  void listen(Listener& listener) { listeners_.push_back(&listener); }
  void unlisten(Listener& listener);

  // The conference for a room, started now with the room's rules if it is not running.
  const Conference& open(const policy::Room& rules, const std::string& uri, bool adHoc = false);
  [[nodiscard]] const Conference* find(std::string_view id) const;
  [[nodiscard]] const std::map<std::string, Conference, std::less<>>& all() const {
    return conferences_;
  }
  [[nodiscard]] const Participant* participant(std::string_view id) const;
  // The conference a participant is in.
  [[nodiscard]] const Conference* conferenceOf(std::string_view participantId) const;

  // A participant joins the running conference 'id' (false: no such conference, or already in).
  bool join(std::string_view id, Participant participant);
  bool setStatus(std::string_view participantId, EndpointStatus status);
  bool setRole(std::string_view participantId, policy::Role role);
  bool setControls(std::string_view participantId, const Controls& controls);
  // The negotiated media; a hold (their SDP) moves a connected endpoint to on-hold and back.
  bool setMedia(std::string_view participantId, const Media& media);
  // A participant's id changes (a dial-out's, once its dialog exists); not an event: watchers
  // never see ids.
  bool rekey(std::string_view participantId, std::string newId);
  // The participant is gone: one kLeft carrying how, then they are removed.
  bool leave(std::string_view participantId,
             DisconnectionMethod how,
             std::string reason,
             std::optional<policy::CallQuality> quality = std::nullopt);
  bool setLocked(std::string_view id, bool locked);
  // Recording started (to 'file') or stopped (empty).
  bool setRecording(std::string_view id, std::string file);
  // Mutes (or unmutes) every participant who is not a moderator (listeners stay muted), and
  // sets the room's all-muted state that later joiners get.
  bool setAllMuted(std::string_view id, bool muted);
  // The conference is over: one kEnded; whoever is left is removed without a kLeft each (the
  // calls' own ends follow).
  bool end(std::string_view id);

  // Time is injected for tests; the wall clock otherwise (RFC 4575 'when' is wall-clock time).
  void setClock(Clock::time_point (*now)()) { now_ = now; }

 private:
  Participant* findMutable(std::string_view participantId, Conference** in = nullptr);
  void emit(const Change& change);

  std::map<std::string, Conference, std::less<>> conferences_;
  std::vector<Listener*> listeners_;
  Clock::time_point (*now_)() = &Clock::now;
};

}  // namespace confab::conference
