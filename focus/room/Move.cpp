#include "focus/room/Move.hpp"

namespace confab::room {

std::string_view describe(MoveRefusal refusal) {
  switch (refusal) {
    case MoveRefusal::kNoParticipant:
      return "no such participant in the conference";
    case MoveRefusal::kNotSettled:
      return "the participant is not in the conference's mix yet (on the way in or hearing a "
             "prompt)";
    case MoveRefusal::kSameRoom:
      return "the participant is in that room already";
    case MoveRefusal::kOtherTenant:
      return "the rooms belong to different tenants";
    case MoveRefusal::kLocked:
      return "the target conference is locked: unlock it first";
    case MoveRefusal::kFull:
      return "the target room is full";
    case MoveRefusal::kWaitsForModerator:
      return "the target room's participants wait for a moderator, and none is in it";
    case MoveRefusal::kMediaFailed:
      return "the media mixer could not move the call";
  }
  return "the move was refused";
}

std::optional<MoveRefusal> checkMove(const MoveRequest& request) {
  if (!request.settled || !conference::inMix(request.who)) {
    return MoveRefusal::kNotSettled;
  }
  if (request.from.id == request.to.key) {
    return MoveRefusal::kSameRoom;
  }
  if (request.from.rules.tenantId != request.to.tenantId) {
    return MoveRefusal::kOtherTenant;
  }
  // As for a caller dialling in (Uas::admit): the running conference's lock (a moderator's *1)
  // or, before it runs, the room's rule. Whoever moved them is not a moderator of that room: an
  // organizer unlocks it first, as an explicit act (PATCH .../conference {"locked":false}).
  const bool locked = request.running != nullptr ? request.running->locked : request.to.locked;
  if (locked && roleAfterMove(request.who.role) != policy::Role::kModerator) {
    return MoveRefusal::kLocked;
  }
  if (request.to.maxParticipants != 0 && request.placesTaken >= request.to.maxParticipants) {
    return MoveRefusal::kFull;
  }
  if (request.to.waitForModerator && roleAfterMove(request.who.role) != policy::Role::kModerator &&
      (request.running == nullptr || request.running->moderatorCount() == 0)) {
    return MoveRefusal::kWaitsForModerator;
  }
  return std::nullopt;
}

policy::Role roleAfterMove(policy::Role before) {
  return before == policy::Role::kListener ? policy::Role::kListener : policy::Role::kParticipant;
}

}  // namespace confab::room
