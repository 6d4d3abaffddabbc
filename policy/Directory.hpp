// Rooms held in memory: the command line's rooms before the store has them, and tests.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy/Room.hpp"

namespace confab::policy {

class Directory final : public RoomSource {
 public:
  // Adds or replaces a room; returns false when the id is not a valid room id.
  bool put(Room room);
  [[nodiscard]] std::optional<Room> find(std::string_view id) const;
  [[nodiscard]] std::vector<Room> list() const;
  // RoomSource: every domain reaches every room; the rooms have no PINs.
  [[nodiscard]] std::optional<Room> find(std::string_view user,
                                         std::string_view domain) const override;
  [[nodiscard]] std::optional<Role> checkPin(const Room& room, std::string_view pin) const override;
  // Room ids are what a SIP URI user part can carry without escapes and a URL path segment can
  // carry too: letters, digits, '-', '_', '.', 1 to 64 of them.
  static bool validId(std::string_view id);

 private:
  std::unordered_map<std::string, Room> rooms_;
};

}  // namespace confab::policy
