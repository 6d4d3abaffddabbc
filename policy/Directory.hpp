// The rooms this bridge serves and what a caller needs to enter them. Filled from configuration
// now; persistent storage (SQLite) comes with the REST API.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace confab::policy {

struct Room {
  std::string id;           // the user part callers dial: sip:ID@host
  std::string name;         // shown to people
  unsigned maxParticipants = 0;  // 0: no limit of its own
  // Media must be encrypted (SRTP); a caller offering only plain RTP is refused.
  bool requireSrtp = false;
};

class Directory {
 public:
  // Adds or replaces a room; returns false when the id is not a valid room id.
  bool put(Room room);
  [[nodiscard]] std::optional<Room> find(std::string_view id) const;
  [[nodiscard]] std::vector<Room> list() const;
  // Room ids are what a SIP URI user part can carry without escapes and a URL path segment can
  // carry too: letters, digits, '-', '_', '.', 1 to 64 of them.
  static bool validId(std::string_view id);

 private:
  std::unordered_map<std::string, Room> rooms_;
};

}  // namespace confab::policy
