// POST /v1/rooms/{id}/participants/{callId}/move (issue 13 item 2): an organizer moves a live
// participant into another room of the same tenant. A POST rather than a "room" member in the
// participant's PATCH: a move is an action with effects beyond the participant (the source
// conference may end, the target's may start, both rooms hear tones), and repeating it does not
// give the same result (the second is refused: they are in that room already).
#include <boost/json/object.hpp>
#include <string>
#include <utility>
#include <variant>

#include "api/Routes.hpp"

namespace confab::api::routes {

namespace {

// The status of each refusal: 409 for the state of the rooms now (it may change), 404 for
// another tenant's room (as if it did not exist: RFC 9110 §15.5.5), 503 for the mixer.
Problem refusedMove(room::MoveRefusal refusal, const std::string& from, const std::string& to) {
  using room::MoveRefusal;
  std::string detail = std::string(room::describe(refusal));
  switch (refusal) {
    case MoveRefusal::kNoParticipant:
      return notFound("no participant in room " + from);
    case MoveRefusal::kOtherTenant:
      return problemWith(http::status::not_found, "no room " + to + " of this tenant",
                         {{"room", "a room of the participant's own tenant"}});
    case MoveRefusal::kMediaFailed:
      return problemWith(http::status::service_unavailable, std::move(detail));
    case MoveRefusal::kSameRoom:
    case MoveRefusal::kLocked:
    case MoveRefusal::kFull:
    case MoveRefusal::kWaitsForModerator:
      return problemWith(http::status::conflict, detail + " (room " + to + ")", {{"room", detail}});
    case MoveRefusal::kNotSettled:
      break;
  }
  return problemWith(http::status::conflict, std::move(detail));
}

}  // namespace

Reply moveParticipant(const Context& context, const Request& request, const Params& params) {
  auto source = resolveRoom(context, params);
  if (auto* problem = std::get_if<Problem>(&source)) {
    return std::move(*problem);
  }
  if (context.live == nullptr) {
    return problemWith(http::status::service_unavailable, "this server has no live rooms");
  }
  auto body = jsonBody(request, false, {"room"});
  if (auto* problem = std::get_if<Problem>(&body)) {
    return std::move(*problem);
  }
  const auto* value = std::get<boost::json::object>(body).if_contains("room");
  if (value == nullptr || !value->is_string()) {
    return badRequest("which room to move them to?",
                      {{"room", "required: a room id as in /v1/rooms/{id}, as \"1001\""}});
  }
  // The target is named as the API names rooms ({id}), and found with the same rule: another
  // tenant's room is not there for a tenant's key. The problem names the member, not the path.
  auto target = resolveRoom(context, Params{{"id", std::string(value->as_string())}});
  if (auto* problem = std::get_if<Problem>(&target)) {
    for (auto& error : problem->errors) {
      error.field = "room";
    }
    if (problem->errors.empty()) {
      problem->errors.push_back({"room", problem->detail});
    }
    return std::move(*problem);
  }
  const auto& from = std::get<ApiRoom>(source);
  const auto& to = std::get<ApiRoom>(target);
  // The operator sees every tenant's rooms, but a participant stays within their tenant.
  if (to.tenant.id != from.tenant.id) {
    return refusedMove(room::MoveRefusal::kOtherTenant, from.live.key, to.live.key);
  }
  auto& focus = context.live->calls;
  const std::string& callId = param(params, "callId");
  const auto* conference = focus.conferences().find(from.live.key);
  const conference::Participant* who = nullptr;
  if (conference != nullptr) {
    for (const auto& p : conference->participants) {
      if (p.callId == callId && !p.disconnection) {
        who = &p;
      }
    }
  }
  if (who == nullptr) {
    return notFound("no participant " + printable(callId) + " in room " + from.live.key);
  }
  const std::string id = who->id;
  if (auto refused = focus.move(id, to.live)) {
    return refusedMove(*refused, from.live.key, to.live.key);
  }
  const room::Call* call = focus.callOf(id);
  if (call == nullptr) {
    return refusedMove(room::MoveRefusal::kMediaFailed, from.live.key, to.live.key);
  }
  boost::json::object out = participantJson(*call, focus);
  out["room"] = to.live.key;
  return Json{http::status::ok, std::move(out)};
}

}  // namespace confab::api::routes
