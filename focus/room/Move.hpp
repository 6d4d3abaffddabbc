// Moving a live participant from one room's conference to another of the same tenant (issue 13
// item 2): the rules that decide whether a move may happen, and what the participant becomes in
// the room they are moved to. The move itself is Uas::move (the media by mixer::Control::move).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "focus/conference/Model.hpp"
#include "policy/Room.hpp"

namespace confab::room {

// Why a move was refused: one place (the API) turns each into a status.
enum class MoveRefusal : uint8_t {
  kNoParticipant,      // no such participant in a running conference
  kNotSettled,         // still on the way in (PIN, lobby, waiting, ringing) or hearing a prompt
  kSameRoom,           // already in the room they are to be moved to
  kOtherTenant,        // the rooms belong to two tenants
  kLocked,             // only moderators may enter the target now
  kFull,               // the target room's participant limit is reached
  kWaitsForModerator,  // the target room's participants wait for a moderator, and none is in
  kMediaFailed,        // the mixer could not move the call (it is being ended)
};

// For a person reading the refusal: what is wrong, without the room names.
[[nodiscard]] std::string_view describe(MoveRefusal refusal);

// What is known when a move is asked for.
struct MoveRequest {
  const conference::Participant& who;
  const conference::Conference& from;
  const policy::Room& to;
  const conference::Conference* running;  // the target's conference, if it runs
  std::size_t placesTaken = 0;  // calls in the target room holding a place (ringing ones too)
  bool settled = false;         // in the conference's mix, not hearing a prompt of their own
};

// The rules, in the order a caller would meet them dialling in (RFC 4575 only reports; these are
// ours): a participant in the mix, another room of the same tenant, not locked, not full, not
// waiting for a moderator. The tenant's own limit does not change: the call stays the tenant's.
[[nodiscard]] std::optional<MoveRefusal> checkMove(const MoveRequest& request);

// The role they take in the target room. A role is what a room's PIN gave them in that room, so
// it does not carry over: a moderator of one room is a participant of another (the target's role
// for someone let in without a moderator PIN). A listener stays a listener: a move never gives
// anyone a voice they were refused. An organizer can change the role after the move.
[[nodiscard]] policy::Role roleAfterMove(policy::Role before);

}  // namespace confab::room
