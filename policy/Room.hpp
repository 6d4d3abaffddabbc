// A room as the focus sees it when a call arrives: who may enter, and the rules of the room.
// Where rooms come from (the SQLite store, or the command line's rooms) is behind RoomSource.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace confab::policy {

enum class Role : uint8_t { kParticipant, kModerator, kListener };

struct Room {
  Room() = default;
  Room(std::string roomId, std::string roomName, unsigned max = 0, bool srtp = false)
      : id(std::move(roomId)), name(std::move(roomName)), maxParticipants(max), requireSrtp(srtp) {}

  std::string id;                // the user part callers dial: sip:ID@host
  std::string name;              // shown to people
  unsigned maxParticipants = 0;  // 0: no limit of its own
  // Media must be encrypted (SRTP); a caller offering only plain RTP is refused.
  bool requireSrtp = false;
  // The live conference's name: unique across tenants (the same number can be two tenants'
  // rooms), and what logs and the API call it. The room id for the default tenant.
  std::string key;
  int64_t storeId = 0;  // in the policy store; 0: not from the store
  int64_t tenantId = 0;
  unsigned tenantMaxParticipants = 0;  // across the tenant's rooms; 0: no limit
  // Callers prove themselves with a PIN (RFC 4733 or SIP INFO digits) before they join.
  bool participantPin = false;
  bool moderatorPin = false;
  // A listener PIN is set: who enters it joins muted and cannot unmute (Role::kListener).
  bool listenerPin = false;
  bool muteOnEntry = false;       // participants (not moderators) join muted
  bool waitForModerator = false;  // participants wait, hearing music, until a moderator is in
  bool endWithLastModerator = false;
  bool tones = false;          // entry and exit tones for everyone in the room
  bool announceCount = false;  // a caller hears how many are already there
  bool locked = false;         // only moderators may enter
  // Anyone may watch the roster (RFC 4575), not only those in the conference (for a PIN room;
  // a room without PINs is open to anyone anyway).
  bool publicRoster = false;
  // Participants, not only moderators, may call people in or remove them (RFC 4579 REFER).
  bool participantsInvite = false;
  std::string language = "en";

  // Whether a caller is asked anything (or told anything) before joining.
  [[nodiscard]] bool asksPin() const { return participantPin || moderatorPin || listenerPin; }
};

class RoomSource {
 public:
  // The room 'user' reaches at 'domain' (the Request-URI's user and host), within the tenant
  // that owns the domain. A lookup, never a wait: the SIP thread calls it.
  [[nodiscard]] virtual std::optional<Room> find(std::string_view user,
                                                 std::string_view domain) const = 0;
  // The role a PIN gives in a room: the moderator PIN gives kModerator, the listener PIN
  // kListener, the participant PIN kParticipant, and with no participant PIN anything else
  // gives kParticipant. Nothing for a wrong PIN.
  [[nodiscard]] virtual std::optional<Role> checkPin(const Room& room,
                                                     std::string_view pin) const = 0;

 protected:
  ~RoomSource() = default;
};

}  // namespace confab::policy
