#include "policy/Directory.hpp"

#include <algorithm>

namespace confab::policy {

bool Directory::validId(std::string_view id) {
  if (id.empty() || id.size() > 64) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

bool Directory::put(Room room) {
  if (!validId(room.id)) {
    return false;
  }
  if (room.key.empty()) {
    room.key = room.id;
  }
  std::string key = room.id;
  rooms_.insert_or_assign(std::move(key), std::move(room));
  return true;
}

std::optional<Room> Directory::find(std::string_view id) const {
  auto it = rooms_.find(std::string(id));
  if (it == rooms_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::optional<Room> Directory::find(std::string_view user, std::string_view /*domain*/) const {
  return find(user);
}

std::optional<Role> Directory::checkPin(const Room& /*room*/, std::string_view /*pin*/) const {
  return Role::kParticipant;
}

std::vector<Room> Directory::list() const {
  std::vector<Room> out;
  out.reserve(rooms_.size());
  for (const auto& [id, room] : rooms_) {
    out.push_back(room);
  }
  std::sort(out.begin(), out.end(), [](const Room& a, const Room& b) { return a.id < b.id; });
  return out;
}

}  // namespace confab::policy
