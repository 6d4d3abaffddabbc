// Rooms over REST (issue 13 item 2): the policy store's rooms of the key's tenant (or, for the
// operator, of any tenant), created, listed in pages, read with their live conference, changed
// and deleted; PINs write-only. Each change is one store transaction, applied to the next call.
#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <charconv>
#include <string>

#include "api/Routes.hpp"
#include "focus/sip/Headers.hpp"
#include "focus/transport/Addressing.hpp"
#include "policy/Directory.hpp"
#include "policy/StoreRooms.hpp"

namespace confab::api::routes {

namespace {

double millis(uint32_t units, uint32_t clockRate) {
  return clockRate == 0 ? 0.0 : static_cast<double>(units) * 1000.0 / clockRate;
}

// The PINs a room has, never the PINs themselves.
boost::json::object roomJson(const ApiRoom& room) {
  const auto& r = room.stored;
  return {{"id", room.live.key},
          {"tenant", room.tenant.id},
          {"user", r.user},
          {"name", r.name},
          {"maxParticipants", r.maxParticipants},
          {"muteOnEntry", r.muteOnEntry},
          {"waitForModerator", r.waitForModerator},
          {"endWhenLastModeratorLeaves", r.endWhenLastModeratorLeaves},
          {"entryExitTones", r.entryExitTones},
          {"announceCount", r.announceCount},
          {"locked", r.locked},
          {"language", r.language},
          {"publicRoster", r.publicRoster},
          {"participantsInvite", r.participantsInvite},
          {"pins", boost::json::object{{"participant", r.hasParticipantPin},
                                       {"moderator", r.hasModeratorPin},
                                       {"listener", r.hasListenerPin}}}};
}

ApiRoom apiRoom(policy::StoredRoom stored, policy::Tenant tenant) {
  const bool isDefault = tenant.name == policy::Store::kDefaultTenant;
  policy::Room live = policy::StoreRooms::toRoom(stored, tenant, isDefault);
  return ApiRoom{std::move(stored), std::move(tenant), std::move(live)};
}

constexpr std::array<std::string_view, 16> kRoomMembers = {"tenant",
                                                           "user",
                                                           "name",
                                                           "maxParticipants",
                                                           "muteOnEntry",
                                                           "waitForModerator",
                                                           "endWhenLastModeratorLeaves",
                                                           "entryExitTones",
                                                           "announceCount",
                                                           "locked",
                                                           "language",
                                                           "publicRoster",
                                                           "participantsInvite",
                                                           "participantPin",
                                                           "moderatorPin",
                                                           "listenerPin"};

// Reads the members a room change may carry into 'change'; PINs as a string to set or null to
// remove.
void readRoom(Fields& fields,
              const boost::json::object& body,
              policy::RoomChange& change,
              std::vector<FieldError>& errors) {
  auto& r = change.room;
  fields.text("name", r.name);
  fields.count("maxParticipants", r.maxParticipants);
  fields.flag("muteOnEntry", r.muteOnEntry);
  fields.flag("waitForModerator", r.waitForModerator);
  fields.flag("endWhenLastModeratorLeaves", r.endWhenLastModeratorLeaves);
  fields.flag("entryExitTones", r.entryExitTones);
  fields.flag("announceCount", r.announceCount);
  fields.flag("locked", r.locked);
  fields.text("language", r.language);
  fields.flag("publicRoster", r.publicRoster);
  fields.flag("participantsInvite", r.participantsInvite);
  for (auto [name, pin] : {std::pair{"participantPin", &change.participantPin},
                           std::pair{"moderatorPin", &change.moderatorPin},
                           std::pair{"listenerPin", &change.listenerPin}}) {
    if (const auto* v = body.if_contains(name)) {
      if (v->is_null()) {
        *pin = std::string();  // the store's "remove"
      } else if (v->is_string() && !v->as_string().empty()) {
        *pin = std::string(v->as_string());
      } else {
        errors.push_back({name, "a PIN as a string of digits, or null to remove it"});
      }
    }
  }
}

}  // namespace

boost::json::object participantJson(const room::Call& call, const room::Uas& focus) {
  const auto& dialog = call.dialog();
  boost::json::object out{{"callId", dialog.callId()}, {"from", dialog.remoteUri()}};
  // Their URI alone: From's value without the display name and the tag (a dialed-out party's To).
  if (auto remote = sip::NameAddr::parse(dialog.remoteUri())) {
    out["uri"] = remote->uri.str();
  }
  // Where their signalling comes from; for a party we called, which sent us no request yet,
  // where ours go (their Contact, or the first route).
  if (dialog.source().remote.port != 0) {
    out["address"] = dialog.source().remote.str();
  } else {
    const auto to = dialog.destination();
    const uint16_t port = to.port != 0 ? to.port : transport::defaultPort(to.protocol);
    const auto literal = transport::parseIpLiteral(to.host);
    out["address"] = literal ? transport::Endpoint{*literal, port}.str()
                             : to.host + ":" + std::to_string(port);
  }
  uint32_t clockRate = 8000;
  if (const auto& media = call.media()) {
    clockRate = media->codec.clockRate;
    out["codec"] = media->codec.name + "/" + std::to_string(media->codec.clockRate);
    out["srtp"] = media->srtp.has_value();
  }
  const auto& controls = call.controls();
  out["muted"] = controls.muted;
  out["deaf"] = controls.deaf;
  out["gain"] = controls.gain;
  out["inMix"] = call.inMix();
  if (const auto* p = focus.conferences().participant(call.dialog().key())) {
    out["displayName"] = p->displayName;  // From's, as the caller's phone set it: not ours to trust
    out["role"] = std::string(conference::name(p->role));
    out["status"] = std::string(conference::name(p->status));
  }
  if (auto stats = focus.participantMedia(call)) {
    out["talking"] = stats->talking;
    const auto& q = stats->quality;
    // RFC 3550 §6.4: fraction lost is in 1/256 units, jitter in RTP timestamp units.
    out["media"] = boost::json::object{{"packetsReceived", stats->packetsReceived},
                                       {"packetsDropped", stats->packetsDropped},
                                       {"packetsLate", stats->packetsLate},
                                       {"packetsDuplicate", stats->packetsDuplicate},
                                       {"packetsMalformed", stats->packetsMalformed},
                                       {"packetsUnauthenticated", stats->packetsUnauthenticated},
                                       {"packetsRefused", stats->packetsRefused},
                                       {"packetsNotMedia", stats->packetsNotMedia},
                                       {"framesDecoded", stats->framesDecoded},
                                       {"framesConcealed", stats->framesConcealed},
                                       {"packetsSent", stats->packetsSent},
                                       {"fractionLost", q.ourFractionLost / 256.0},
                                       {"jitterMs", millis(q.ourJitter, clockRate)},
                                       {"remoteFractionLost", q.theirFractionLost / 256.0},
                                       {"remoteCumulativeLost", q.theirCumulativeLost},
                                       {"remoteJitterMs", millis(q.theirJitter, clockRate)},
                                       {"roundTripMs", q.roundTripMicros / 1000.0}};
  }
  return out;
}

std::variant<ApiRoom, Problem> resolveRoom(const Context& context, const Params& params) {
  const std::string& id = param(params, "id");
  const auto at = id.find('@');
  const std::string user = id.substr(0, at);
  if (!policy::Directory::validId(user)) {
    return badRequest("invalid room id", {{"id",
                                           "a room is USER or USER@TENANT, USER 1 to 64 of "
                                           "A-Z a-z 0-9 . _ -"}});
  }
  std::optional<policy::Tenant> tenant;
  if (at != std::string::npos) {
    tenant = context.store.tenantByName(id.substr(at + 1));
  } else if (!context.who.isOperator()) {
    tenant = context.store.tenant(context.who.tenantId);
  } else {
    tenant = context.store.tenantByName(policy::Store::kDefaultTenant);
  }
  // Another tenant's room is as absent as one that does not exist: nothing tells them apart.
  std::optional<policy::StoredRoom> stored;
  if (tenant && context.who.sees(tenant->id)) {
    stored = context.store.findRoom(tenant->id, user);
  }
  if (!stored) {
    return notFound("no room " + printable(id));
  }
  return apiRoom(std::move(*stored), std::move(*tenant));
}

Reply listRooms(const Context& context, const Request& /*request*/, const Params& /*params*/) {
  policy::Store::RoomQuery query;
  query.limit = kDefaultPage;
  std::vector<FieldError> errors;
  const auto number = [&](const std::string& name, const std::string& text, int64_t min,
                          int64_t max) -> std::optional<int64_t> {
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
      errors.push_back(
          {name, "a whole number from " + std::to_string(min) + " to " + std::to_string(max)});
      return std::nullopt;
    }
    return value;
  };
  for (const auto& [name, value] : *context.query) {
    if (name == "limit") {
      if (auto n = number(name, value, 1, kMaxPage)) {
        query.limit = static_cast<std::size_t>(*n);
      }
    } else if (name == "after") {
      if (auto n = number(name, value, 0, std::numeric_limits<int64_t>::max())) {
        query.afterId = *n;
      }
    } else if (name == "tenant") {
      if (auto n = number(name, value, 1, std::numeric_limits<int64_t>::max())) {
        query.tenantId = *n;
      }
    } else if (name == "q") {
      query.search = value.substr(0, 128);
    }
  }
  if (!errors.empty()) {
    return badRequest("bad query parameters", std::move(errors));
  }
  if (!context.who.isOperator()) {
    // A tenant lists its own rooms whatever it asks for; another tenant's id finds none.
    if (query.tenantId && *query.tenantId != context.who.tenantId) {
      return Json{http::status::ok, boost::json::object{{"rooms", boost::json::array{}}}};
    }
    query.tenantId = context.who.tenantId;
  }
  // One more than the page: whether there is a next one.
  ++query.limit;
  auto page = context.store.roomPage(query);
  const bool more = page.size() == query.limit;
  if (more) {
    page.pop_back();
  }
  boost::json::array rooms;
  std::map<int64_t, policy::Tenant> tenants;
  for (auto& stored : page) {
    auto found = tenants.find(stored.tenantId);
    if (found == tenants.end()) {
      found = tenants
                  .emplace(stored.tenantId,
                           context.store.tenant(stored.tenantId).value_or(policy::Tenant{}))
                  .first;
    }
    auto room = apiRoom(stored, found->second);
    auto json = roomJson(room);
    if (context.live != nullptr) {
      json["participants"] = context.live->calls.callsIn(room.live.key).size();
    }
    rooms.push_back(std::move(json));
  }
  boost::json::object out{{"rooms", std::move(rooms)}};
  // The cursor for the next page (keyset paging by the rooms' store ids), when there is one.
  if (more) {
    out["next"] = "/v1/rooms?after=" + std::to_string(page.back().id) +
                  "&limit=" + std::to_string(query.limit - 1);
  }
  return Json{http::status::ok, std::move(out)};
}

boost::json::value conferenceJson(const room::Uas& focus, const std::string& key) {
  const auto* c = focus.conferences().find(key);
  if (c == nullptr) {
    return nullptr;  // nobody is in it: no conference runs
  }
  return boost::json::object{{"locked", c->locked},
                             {"allMuted", c->allMuted},
                             {"participants", c->participants.size()},
                             {"uri", c->uri}};
}

// The conferences running now, by room, that the key may see: a tenant's its own, the operator's
// all (ad-hoc ones from the factory URI included). Nothing runs without the live focus.
Reply listConferences(const Context& context,
                      const Request& /*request*/,
                      const Params& /*params*/) {
  boost::json::array out;
  if (context.live != nullptr) {
    for (const auto& [key, c] : context.live->calls.conferences().all()) {
      if (!context.who.sees(c.rules.tenantId)) {
        continue;
      }
      out.push_back(boost::json::object{
          {"room", c.id},
          {"tenant", c.rules.tenantId == 0 ? boost::json::value(nullptr)
                                           : boost::json::value(c.rules.tenantId)},
          {"uri", c.uri},
          {"started", std::chrono::duration_cast<std::chrono::milliseconds>(
                          c.startedAt.time_since_epoch())
                          .count()},
          {"participants", c.activeCount()},
          {"locked", c.locked},
          {"allMuted", c.allMuted},
          {"recording", !c.recording.empty()},
          {"adHoc", c.adHoc}});
    }
  }
  return Json{http::status::ok, boost::json::object{{"conferences", std::move(out)}}};
}

Reply getRoom(const Context& context, const Request& /*request*/, const Params& params) {
  auto found = resolveRoom(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  const auto& room = std::get<ApiRoom>(found);
  boost::json::object out = roomJson(room);
  const std::string etag = entityTag(out);
  if (context.live != nullptr) {
    boost::json::array participants;
    for (const auto* call : context.live->calls.callsIn(room.live.key)) {
      participants.push_back(participantJson(*call, context.live->calls));
    }
    out["participants"] = std::move(participants);
    const auto mix = context.live->calls.roomMedia(room.live.key);
    out["recording"] = mix && mix->recording;
    out["playing"] = mix && mix->playing;
    // Frames the room's files fell behind by (MixStats): anything but 0 means a slow disk.
    out["media"] = boost::json::object{{"playbackUnderruns", mix ? mix->playbackUnderruns : 0},
                                       {"recordingDrops", mix ? mix->recordingDrops : 0}};
    out["conference"] = conferenceJson(context.live->calls, room.live.key);
  }
  return Json{http::status::ok, std::move(out), {{http::field::etag, etag}}};
}

Reply createRoom(const Context& context, const Request& request, const Params& /*params*/) {
  auto body = jsonBody(request, false, kRoomMembers);
  if (auto* problem = std::get_if<Problem>(&body)) {
    return std::move(*problem);
  }
  const auto& object = std::get<boost::json::object>(body);
  policy::RoomChange change;
  std::vector<FieldError> errors;
  Fields fields(object);
  fields.text("user", change.room.user);
  if (!object.contains("user")) {
    errors.push_back({"user", "required: what callers dial, 1 to 64 of A-Z a-z 0-9 . _ -"});
  }
  // The operator names the tenant; a tenant's key makes rooms of its own tenant only.
  int64_t tenantId = context.who.tenantId;
  if (const auto* t = object.if_contains("tenant")) {
    if (!t->is_int64() || t->as_int64() <= 0) {
      errors.push_back({"tenant", "a tenant's id"});
    } else {
      tenantId = t->as_int64();
    }
  } else if (context.who.isOperator()) {
    errors.push_back({"tenant", "required with an operator's key: whose room it is"});
  }
  readRoom(fields, object, change, errors);
  if (auto problem = fields.problem()) {
    problem->errors.insert(problem->errors.end(), errors.begin(), errors.end());
    return std::move(*problem);
  }
  if (!errors.empty()) {
    return badRequest("the room is not complete", std::move(errors));
  }
  // Another tenant is as absent as one that does not exist.
  auto tenant = context.who.sees(tenantId) ? context.store.tenant(tenantId) : std::nullopt;
  if (!tenant) {
    return problemWith(http::status::unprocessable_entity, "no tenant " + std::to_string(tenantId),
                       {{"tenant", "no such tenant"}});
  }
  change.room.tenantId = tenantId;
  if (change.room.name.empty()) {
    change.room.name = change.room.user;
  }
  auto created = context.store.createRoom(change);
  if (auto* error = std::get_if<policy::StoreError>(&created)) {
    return fromStore(*error);  // the store names a PIN's field, never the PIN
  }
  auto room = apiRoom(std::get<policy::StoredRoom>(created), *tenant);
  auto out = roomJson(room);
  std::string etag = entityTag(out);
  return Json{http::status::created,
              std::move(out),
              {{http::field::location, "/v1/rooms/" + room.live.key},
               {http::field::etag, std::move(etag)}}};
}

Reply changeRoom(const Context& context, const Request& request, const Params& params) {
  auto found = resolveRoom(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  auto& room = std::get<ApiRoom>(found);
  auto body = jsonBody(request, false, kRoomMembers);
  if (auto* problem = std::get_if<Problem>(&body)) {
    return std::move(*problem);
  }
  if (auto stale = checkIfMatch(request, entityTag(roomJson(room)))) {
    return std::move(*stale);
  }
  const auto& object = std::get<boost::json::object>(body);
  std::vector<FieldError> errors;
  for (const char* fixed : {"tenant", "user"}) {
    if (object.contains(fixed)) {
      errors.push_back({fixed, "a room keeps its tenant and number: create another"});
    }
  }
  // RFC 7396 merge: what the body names changes, the rest stays.
  policy::RoomChange change;
  change.room = room.stored;
  Fields fields(object);
  readRoom(fields, object, change, errors);
  if (auto problem = fields.problem()) {
    problem->errors.insert(problem->errors.end(), errors.begin(), errors.end());
    return std::move(*problem);
  }
  if (!errors.empty()) {
    return badRequest("members a room change cannot take", std::move(errors));
  }
  auto updated = context.store.updateRoom(change);
  if (auto* error = std::get_if<policy::StoreError>(&updated)) {
    return fromStore(*error);  // the store names a PIN's field, never the PIN
  }
  auto out = roomJson(apiRoom(std::get<policy::StoredRoom>(updated), std::move(room.tenant)));
  std::string etag = entityTag(out);
  return Json{http::status::ok, std::move(out), {{http::field::etag, std::move(etag)}}};
}

Reply deleteRoom(const Context& context, const Request& /*request*/, const Params& params) {
  auto found = resolveRoom(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  const auto& room = std::get<ApiRoom>(found);
  // Deleting the policy would leave a conference running with rules from nowhere.
  if (context.live != nullptr && !context.live->calls.callsIn(room.live.key).empty()) {
    return problemWith(http::status::conflict,
                       "room " + room.live.key + " has a conference running: end it first");
  }
  auto removed = context.store.deleteRoom(room.stored.id);
  if (auto* error = std::get_if<policy::StoreError>(&removed)) {
    return fromStore(*error);
  }
  if (!std::get<bool>(removed)) {
    return notFound("no room " + room.live.key);
  }
  return Json{http::status::no_content, nullptr};
}

}  // namespace confab::api::routes
