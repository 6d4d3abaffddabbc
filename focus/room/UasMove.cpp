// Uas::move (issue 13 item 2): a participant taken from one room's conference into another's, by
// the same steps as hanging up in one and dialling into the other, without the call changing.
#include "focus/room/Uas.hpp"

namespace confab::room {

std::optional<MoveRefusal> Uas::move(std::string_view participantId, const policy::Room& target) {
  const auto* from = model_.conferenceOf(participantId);
  const auto* who = model_.participant(participantId);
  Call* call = callOf(participantId);
  if (from == nullptr || who == nullptr) {
    return MoveRefusal::kNoParticipant;
  }
  if (call == nullptr || call->ended()) {
    return MoveRefusal::kNotSettled;  // a dial-out still ringing, or a call on its way out
  }
  // In the conference's own mix: not at a PIN prompt, in the lobby, waiting for a moderator,
  // ringing, nor hearing the count alone (that prompt would take them back to the room they left).
  const bool settled =
      call->stage() == Call::Stage::kIn && call->inMix() && !entries_.contains(call);
  if (auto refused = checkMove(MoveRequest{*who, *from, target, model_.find(target.key),
                                           callsInRoom(target.key), settled})) {
    return refused;
  }
  // Several mixers: when the target's conference runs on another one, Call::moveTo gives the
  // media new ports there and re-INVITEs the phone (docs/multi-mixer.md).
  const std::string source = from->id;
  const bool wasModerator = call->moderator();
  conference::Participant moved = *who;
  // RFC 4575 §5.7.4: they did not leave of their own accord; the focus took them out, and the
  // reason says where to (the room's watchers and the call record see it).
  model_.leave(participantId, conference::DisconnectionMethod::kBooted,
               "moved to room " + target.key);
  // In the target they are who they were (the same user, endpoint, media, how they first
  // joined), with the role the target gives them, and a stay that starts now.
  moved.role = roleAfterMove(moved.role);
  moved.status = conference::EndpointStatus::kPending;
  moved.disconnection.reset();
  moved.disconnectReason.clear();
  moved.joinedAt = {};
  moved.leftAt = {};
  call->setRole(moved.role);
  starPressed_.erase(call);
  model_.open(target, conferenceUri(target.id, dialledHost(*call)));
  model_.join(target.key, std::move(moved));
  // As a caller let in: the target's mute rules, its mix (Call::moveTo moves the media and sets
  // their controls again, which the mixer's move resets), the entry tone for those there.
  join(*call, target);
  const bool failed = call->ended();  // the mixer refused: it is being hung up, and leaves later
  if (!failed && call->onHold()) {
    model_.setStatus(participantId, conference::EndpointStatus::kOnHold);
  }
  afterLeaving(source, true, wasModerator);
  return failed ? std::optional(MoveRefusal::kMediaFailed) : std::nullopt;
}

}  // namespace confab::room
