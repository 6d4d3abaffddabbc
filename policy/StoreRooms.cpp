#include "policy/StoreRooms.hpp"

namespace confab::policy {

Room StoreRooms::toRoom(const StoredRoom& stored, const Tenant& tenant, bool defaultTenant) {
  Room room;
  room.id = stored.user;
  room.name = stored.name.empty() ? stored.user : stored.name;
  room.maxParticipants = stored.maxParticipants;
  room.key = defaultTenant ? stored.user : stored.user + "@" + tenant.name;
  room.storeId = stored.id;
  room.tenantId = tenant.id;
  room.tenantMaxParticipants = tenant.maxParticipants;
  room.participantPin = stored.hasParticipantPin;
  room.moderatorPin = stored.hasModeratorPin;
  room.listenerPin = stored.hasListenerPin;
  room.muteOnEntry = stored.muteOnEntry;
  room.waitForModerator = stored.waitForModerator;
  room.endWithLastModerator = stored.endWhenLastModeratorLeaves;
  room.tones = stored.entryExitTones;
  room.announceCount = stored.announceCount;
  room.locked = stored.locked;
  room.publicRoster = stored.publicRoster;
  room.participantsInvite = stored.participantsInvite;
  room.language = stored.language;
  return room;
}

std::optional<Room> StoreRooms::find(std::string_view user, std::string_view domain) const {
  // One query: on PostgreSQL each query is a round trip to the server, paid on the SIP thread.
  auto found = store_.findRoomForCall(domain, user);
  if (!found) {
    return std::nullopt;
  }
  Room room = toRoom(found->room, found->tenant, found->tenant.id == default_);
  room.requireSrtp = requireSrtp_;
  return room;
}

std::optional<Role> StoreRooms::checkPin(const Room& room, std::string_view pin) const {
  return store_.checkPin(room.storeId, pin);
}

}  // namespace confab::policy
