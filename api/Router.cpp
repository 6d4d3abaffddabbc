#include "api/Router.hpp"

#include <algorithm>
#include <array>
#include <boost/beast/core/string.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <ctime>
#include <exception>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "api/AccessLog.hpp"
#include "api/JsonText.hpp"
#include "api/OpenApi.hpp"
#include "api/Problem.hpp"
#include "api/Routes.hpp"

namespace confab::api {

namespace {

using routes::Context;
using routes::Json;
using routes::jsonBody;
using routes::param;
using routes::Params;
using routes::printable;
using routes::Reply;

// A request target split into decoded path segments ("/v1/rooms/x" -> v1, rooms, x) and the
// decoded query parameters, in order.
struct Target {
  std::vector<std::string> segments;
  std::vector<std::pair<std::string, std::string>> query;
};

using Handler = Reply (*)(const Context&, const Request&, const Params&);

// Who may call a route (issue 13 item 4).
enum class Access : uint8_t {
  kOpen,           // anyone, without a key (health)
  kRead,           // any key; a tenant's key sees its own tenant's resources only
  kWrite,          // a read-write key, likewise
  kOperatorRead,   // the bridge as a whole: operator keys only
  kOperatorWrite,  // changes to it: read-write operator keys only
};

// A POST that creates something takes an Idempotency-Key: a repeat with the same key gets the
// first answer again rather than a second creation.
enum class Creates : uint8_t {
  kNothing,
  // Rows in the store only: the rows and the kept answer are written in one transaction, so a
  // crash leaves both or neither (never a room whose creation a repeat would not recognize).
  kStored,
  // Something live as well (a recording, a call), which no rollback can take back: the answer is
  // kept after it, in a transaction of its own.
  kLive,
};

struct Route {
  std::string_view pattern;
  http::verb method;
  Handler handler;
  Access access;
  std::span<const std::string_view> query = {};  // the query parameters it takes
  Creates creates = Creates::kNothing;
};

// The segments of one of our own route patterns ("/v1/rooms/{id}" -> v1, rooms, {id}): not
// request input, so no decoding.
std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) {
      return out;
    }
    path.remove_prefix(slash + 1);
  }
}

// RFC 9112 §3.2: origin-form ("/path?query") and, which servers must accept too, absolute-form
// ("http://host/path?query"); the authority of the latter is not ours to check here.
std::variant<Target, Problem> parseTarget(std::string_view target) {
  // Boost.URL checks the grammar (RFC 3986 §3.3, §3.4) and the percent-encoding, and decodes.
  auto origin = boost::urls::parse_origin_form(target);
  if (!origin && (target.starts_with("http://") || target.starts_with("https://"))) {
    origin = boost::urls::parse_absolute_uri(target);
  }
  if (!origin) {
    return badRequest(
        target.empty() || (target.front() != '/' && target.find("://") == std::string_view::npos)
            ? "the request target must be a path starting with '/'"
            : "the request target is not a valid path and query (RFC 3986)");
  }
  Target out;
  if (origin->path().empty() || origin->path() == "/") {
    out.segments.emplace_back();  // "/" and an absolute-form's empty path: one empty segment
  } else {
    for (auto segment : origin->segments()) {
      out.segments.push_back(segment);
    }
    if (origin->path().back() == '/') {
      out.segments.emplace_back();  // "/v1/rooms/" is not "/v1/rooms"
    }
  }
  if (origin->has_query()) {
    for (auto param : origin->params()) {
      out.query.emplace_back(param.key, param.value);
    }
  }
  return out;
}

// Matches "/v1/rooms/{id}" against the segments; {name} takes any non-empty segment.
std::optional<Params> match(std::string_view pattern, const std::vector<std::string>& segments) {
  auto parts = splitPath(pattern);
  if (parts.size() != segments.size()) {
    return std::nullopt;
  }
  Params params;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto part = parts[i];
    if (part.size() > 2 && part.front() == '{' && part.back() == '}') {
      if (segments[i].empty()) {
        return std::nullopt;
      }
      params.emplace_back(part.substr(1, part.size() - 2), segments[i]);
    } else if (part != segments[i]) {
      return std::nullopt;
    }
  }
  return params;
}

Problem noLiveBridge() {
  return problemWith(http::status::service_unavailable, "this server has no live rooms");
}

// Liveness (a probe restarts the process when this fails): the server answers at all.
Reply getHealth(const Context& /*context*/, const Request& /*request*/, const Params& /*params*/) {
  return Json{http::status::ok, boost::json::object{{"status", "ok"}}};
}

// Everything a room-state change needs: the room, the live bridge and the room's mix.
struct LiveRoom {
  policy::Room room;
  Live* live = nullptr;
  std::optional<mixer::MixId> mix;
};

std::variant<LiveRoom, Problem> liveRoom(const Context& context, const Params& params) {
  auto found = routes::resolveRoom(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  if (context.live == nullptr) {
    return noLiveBridge();
  }
  LiveRoom out{std::get<routes::ApiRoom>(found).live, context.live, std::nullopt};
  out.mix = context.live->calls.mixOf(out.room.key);
  return out;
}

Problem nobodyIn(const policy::Room& room) {
  return problemWith(http::status::conflict, "nobody is in room " + room.key);
}

Reply startRecording(const Context& context, const Request& request, const Params& params) {
  auto found = liveRoom(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  auto& target = std::get<LiveRoom>(found);
  auto body = jsonBody(request, true, {"format"});
  if (auto* problem = std::get_if<Problem>(&body)) {
    return std::move(*problem);
  }
  const auto& object = std::get<boost::json::object>(body);
  mixer::RecordingFormat format = mixer::RecordingFormat::kWav;
  std::string_view extension = ".wav";
  if (const auto* value = object.if_contains("format")) {
    const auto* text = value->if_string();
    if (text != nullptr && *text == "ogg") {
      format = mixer::RecordingFormat::kOggOpus;
      extension = ".opus";
    } else if (text == nullptr || *text != "wav") {
      return badRequest("unknown recording format", {{"format", "one of \"wav\", \"ogg\""}});
    }
  }
  if (!target.mix) {
    return nobodyIn(target.room);
  }
  if (auto stats = target.live->calls.roomMedia(target.room.key); stats && stats->recording) {
    return problemWith(http::status::conflict, "room " + target.room.key + " is already recording");
  }
  std::error_code ec;
  std::filesystem::create_directories(target.live->recordings, ec);
  if (ec) {
    return problemWith(http::status::internal_server_error,
                       "cannot create the recordings folder: " + ec.message());
  }
  const std::string name = routes::recordingName(target.room.key, extension);
  if (!routes::validRecordingName(name, target.room.key)) {
    // A tenant's name is free text: one with '/' or ".." must not put a file outside the folder.
    return problemWith(http::status::conflict,
                       "room " + printable(target.room.key) + " has no name a file can have");
  }
  const auto path = target.live->recordings / name;
  if (!target.live->calls.startRecording(target.room.key, path.string(), format, name)) {
    return problemWith(http::status::conflict,
                       "the mixer did not start recording room " + target.room.key);
  }
  return Json{
      http::status::created,
      boost::json::object{{"file", name},
                          {"format", format == mixer::RecordingFormat::kWav ? "wav" : "ogg"}}};
}

Reply stopRecording(const Context& context, const Request& /*request*/, const Params& params) {
  auto found = liveRoom(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  auto& target = std::get<LiveRoom>(found);
  auto stats = target.live->calls.roomMedia(target.room.key);
  if (!stats || !stats->recording) {
    return problemWith(http::status::conflict, "room " + target.room.key + " is not recording");
  }
  target.live->calls.stopRecording(target.room.key);
  return Json{http::status::ok, boost::json::object{{"recording", false}}};
}

// A media file is named, never given as a path: no folders, no hidden files, nothing outside
// the media folder.
bool validMediaName(std::string_view name) {
  return !name.empty() && name.size() <= 128 && name.front() != '.' &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
         });
}

Reply startPlayback(const Context& context, const Request& request, const Params& params) {
  auto found = liveRoom(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  auto& target = std::get<LiveRoom>(found);
  auto body = jsonBody(request, false, {"file"});
  if (auto* problem = std::get_if<Problem>(&body)) {
    return std::move(*problem);
  }
  const auto& object = std::get<boost::json::object>(body);
  const auto* value = object.if_contains("file");
  const auto* name = value != nullptr ? value->if_string() : nullptr;
  if (name == nullptr) {
    return badRequest("which file to play?",
                      {{"file", "required: a file name in the media folder"}});
  }
  if (!validMediaName(*name)) {
    return badRequest("bad file name",
                      {{"file", "1 to 128 of A-Z a-z 0-9 . _ -, not starting with '.'"}});
  }
  const auto path = target.live->media / std::string(*name);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return badRequest("no such file",
                      {{"file", "no file " + printable(*name) + " in the media folder"}});
  }
  if (!target.mix) {
    return nobodyIn(target.room);
  }
  if (!target.live->calls.play(target.room.key, path.string())) {
    return badRequest("the file cannot be played",
                      {{"file", "not a WAV (16-bit PCM) or Ogg Opus file the mixer can read"}});
  }
  return Json{http::status::accepted,
              boost::json::object{{"file", std::string(*name)}, {"playing", true}}};
}

Reply stopPlayback(const Context& context, const Request& /*request*/, const Params& params) {
  auto found = liveRoom(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  auto& target = std::get<LiveRoom>(found);
  auto stats = target.live->calls.roomMedia(target.room.key);
  if (!stats || !stats->playing) {
    return problemWith(http::status::conflict, "nothing is playing in room " + target.room.key);
  }
  target.live->calls.stopPlaying(target.room.key);
  return Json{http::status::ok, boost::json::object{{"playing", false}}};
}

Reply changeParticipant(const Context& context, const Request& request, const Params& params) {
  auto found = liveRoom(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  auto& target = std::get<LiveRoom>(found);
  room::Call* call = target.live->calls.findCall(param(params, "callId"));
  if (call == nullptr || call->roomId() != target.room.key || call->ended()) {
    return notFound("no participant " + printable(param(params, "callId")) + " in room " +
                    target.room.key);
  }
  auto body = jsonBody(request, false, {"muted", "deaf", "gain", "role"});
  if (auto* problem = std::get_if<Problem>(&body)) {
    return std::move(*problem);
  }
  const auto& object = std::get<boost::json::object>(body);
  room::Call::Controls controls = call->controls();
  std::vector<FieldError> errors;
  for (auto [field, flag] :
       {std::pair{"muted", &controls.muted}, std::pair{"deaf", &controls.deaf}}) {
    if (const auto* value = object.if_contains(field)) {
      if (!value->is_bool()) {
        errors.push_back({field, "true or false"});
      } else {
        *flag = value->as_bool();
      }
    }
  }
  if (const auto* value = object.if_contains("gain")) {
    // mixer::kMaxGain is the one range (+12 dB).
    if (!value->is_number() || value->to_number<double>() < 0.0 ||
        value->to_number<double>() > mixer::kMaxGain) {
      errors.push_back(
          {"gain", "a number from 0 to " + decimal(mixer::kMaxGain) + " (linear, 1 is unchanged)"});
    } else {
      controls.gain = static_cast<float>(value->to_number<double>());
    }
  }
  std::optional<policy::Role> role;
  if (const auto* value = object.if_contains("role")) {
    const auto* text = value->if_string();
    for (auto r : {policy::Role::kParticipant, policy::Role::kModerator, policy::Role::kListener}) {
      if (text != nullptr && *text == conference::name(r)) {
        role = r;
      }
    }
    if (!role) {
      errors.push_back({"role", "one of \"participant\", \"moderator\", \"listener\""});
    }
  }
  if (!errors.empty()) {
    return badRequest("bad participant settings", std::move(errors));
  }
  // Through the conference model, the one owner of live state: the call's media follows it, and
  // the room's event-package subscribers see it (RFC 4575).
  if (target.live->calls.conferences().participant(call->dialog().key()) == nullptr) {
    return notFound("participant " + printable(param(params, "callId")) +
                    " is not in the conference yet");
  }
  if (role) {
    // A listener is muted by what they are; a participant made one is muted with it.
    if (*role == policy::Role::kListener) {
      controls.muted = true;
    }
    target.live->calls.conferences().setRole(call->dialog().key(), *role);
  }
  target.live->calls.conferences().setControls(call->dialog().key(), controls);
  return Json{http::status::ok, routes::participantJson(*call, target.live->calls)};
}

// A participant of the room's conference by the Call-ID the API shows, or the 404.
std::variant<const conference::Participant*, Problem> participantIn(const LiveRoom& target,
                                                                    const Params& params) {
  const auto* conference = target.live->calls.conferences().find(target.room.key);
  const std::string& callId = param(params, "callId");
  if (conference != nullptr) {
    for (const auto& p : conference->participants) {
      if (p.callId == callId && !p.disconnection) {
        return &p;
      }
    }
  }
  return notFound("no participant " + printable(callId) + " in room " + target.room.key);
}

Reply removeParticipant(const Context& context, const Request& /*request*/, const Params& params) {
  auto found = liveRoom(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  auto& target = std::get<LiveRoom>(found);
  auto who = participantIn(target, params);
  if (auto* problem = std::get_if<Problem>(&who)) {
    return std::move(*problem);
  }
  const std::string id = std::get<const conference::Participant*>(who)->id;
  if (!target.live->calls.kick(id, "removed over the API")) {
    return notFound("participant " + printable(param(params, "callId")) + " is leaving already");
  }
  return Json{http::status::no_content, nullptr};
}

Reply addParticipant(const Context& context, const Request& request, const Params& params) {
  auto found = liveRoom(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  auto& target = std::get<LiveRoom>(found);
  auto body = jsonBody(request, false, {"uri"});
  if (auto* problem = std::get_if<Problem>(&body)) {
    return std::move(*problem);
  }
  const auto* value = std::get<boost::json::object>(body).if_contains("uri");
  if (value == nullptr || !value->is_string()) {
    return badRequest("whom to call", {{"uri", "a SIP URI, as \"sip:bob@example.com\""}});
  }
  auto uri = sip::Uri::parse(value->as_string());
  if (!uri || !uri->isSip() || uri->host.empty()) {
    return problemWith(http::status::unprocessable_entity, "not a SIP URI we can call",
                       {{"uri", "a sip: or sips: URI with a host"}});
  }
  uri->headers.clear();  // the caller of the API does not get to write our headers
  if (target.live->calls.conferences().find(target.room.key) == nullptr) {
    return nobodyIn(target.room);
  }
  if (auto refused = target.live->calls.dialOut(target.room.key, *uri, std::string(), nullptr)) {
    // 503: no media ports, or the mixer is gone; the rest (full, not running) is the room's
    // state now.
    const auto status =
        refused->first == 503 ? http::status::service_unavailable : http::status::conflict;
    return problemWith(status, refused->second);
  }
  // The call is placed; how it goes shows in the room (and its conference events).
  return Json{http::status::accepted,
              boost::json::object{{"uri", uri->str()}, {"status", "dialing-out"}}};
}

Reply changeConference(const Context& context, const Request& request, const Params& params) {
  auto found = liveRoom(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  auto& target = std::get<LiveRoom>(found);
  auto body = jsonBody(request, false, {"locked", "allMuted"});
  if (auto* problem = std::get_if<Problem>(&body)) {
    return std::move(*problem);
  }
  const auto& object = std::get<boost::json::object>(body);
  std::vector<FieldError> errors;
  std::optional<bool> locked;
  std::optional<bool> allMuted;
  for (auto [field, out] : {std::pair{"locked", &locked}, std::pair{"allMuted", &allMuted}}) {
    if (const auto* value = object.if_contains(field)) {
      if (value->is_bool()) {
        *out = value->as_bool();
      } else {
        errors.push_back({field, "true or false"});
      }
    }
  }
  if (!errors.empty()) {
    return badRequest("bad conference settings", std::move(errors));
  }
  auto& focus = target.live->calls;
  if (focus.conferences().find(target.room.key) == nullptr) {
    return nobodyIn(target.room);
  }
  // Through the focus, as a moderator's keypad: the same prompts, the same events.
  if (locked) {
    focus.setLocked(target.room.key, *locked);
  }
  if (allMuted) {
    focus.setAllMuted(target.room.key, *allMuted);
  }
  return Json{http::status::ok, routes::conferenceJson(focus, target.room.key)};
}

Reply endConference(const Context& context, const Request& /*request*/, const Params& params) {
  auto found = liveRoom(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  auto& target = std::get<LiveRoom>(found);
  if (target.live->calls.conferences().find(target.room.key) == nullptr) {
    return nobodyIn(target.room);
  }
  const auto removed = target.live->calls.endConference(target.room.key, "the conference ended");
  return Json{http::status::ok, boost::json::object{{"removed", removed}}};
}

Reply getMixer(const Context& context, const Request& /*request*/, const Params& /*params*/) {
  if (context.live == nullptr) {
    return noLiveBridge();
  }
  boost::json::array threads;
  for (const auto& t : context.live->calls.mixerThreads()) {
    threads.push_back(boost::json::object{{"ticks", t.ticks},
                                          {"mixes", t.mixes},
                                          {"faults", t.faults},
                                          {"cpuSeconds", t.cpuSeconds},
                                          {"latenessP50Micros", t.latenessP50Micros},
                                          {"latenessP99Micros", t.latenessP99Micros},
                                          {"latenessP999Micros", t.latenessP999Micros}});
  }
  return Json{http::status::ok, boost::json::object{{"threads", std::move(threads)}}};
}

// Seconds from now to a point on the focus's clock, never below 0.
int64_t secondsUntil(std::chrono::steady_clock::time_point when) {
  const auto left =
      std::chrono::duration_cast<std::chrono::seconds>(when - std::chrono::steady_clock::now());
  return std::max<int64_t>(left.count(), 0);
}

Reply listRegistrations(const Context& context,
                        const Request& /*request*/,
                        const Params& /*params*/) {
  if (context.live == nullptr) {
    return noLiveBridge();
  }
  boost::json::array out;
  if (context.live->registrations != nullptr) {
    for (const auto& r : *context.live->registrations) {
      const auto& to = r->settings().registrar;
      boost::json::object o{
          {"aor", r->settings().aor.str()},
          {"registrar", to.host + (to.port != 0 ? ":" + std::to_string(to.port) : std::string())},
          {"contact", r->contact()},
          {"state", registration::stateName(r->state())},
          {"failures", static_cast<uint64_t>(r->failures())}};
      if (auto at = r->expiresAt();
          at && r->state() == registration::Registration::State::kRegistered) {
        o["expiresInSeconds"] = secondsUntil(*at);
      }
      if (auto next = r->nextAttempt()) {
        o["nextAttemptInSeconds"] = secondsUntil(*next);
      }
      if (r->lastStatus() != 0) {
        o["lastStatus"] = r->lastStatus();
        o["lastError"] = r->lastError();
      }
      out.push_back(std::move(o));
    }
  }
  return Json{http::status::ok, boost::json::object{{"registrations", std::move(out)}}};
}

constexpr std::array<std::string_view, 1> kEventsQuery = {"room"};
constexpr std::array<std::string_view, 4> kRecordsQuery = {"tenant", "room", "limit", "after"};
constexpr std::array<std::string_view, 4> kRoomListQuery = {"tenant", "q", "limit", "after"};
constexpr std::array<std::string_view, 2> kPageQuery = {"limit", "after"};

// Readiness (a load balancer sends calls here only while this is 200): the policy store answers
// and the mixer can give new calls media. 503 names what is not ready.
Reply getReady(const Context& context, const Request& /*request*/, const Params& /*params*/) {
  std::vector<FieldError> failing;
  if (context.store.schemaVersion() != policy::Store::kSchemaVersion) {
    failing.push_back({"store", "the policy store does not answer"});
  }
  if (context.live != nullptr && !context.live->calls.mixerReady()) {
    failing.push_back({"mixer", "no mixer to give new calls media"});
  }
  if (!failing.empty()) {
    return problemWith(http::status::service_unavailable, "not ready", std::move(failing));
  }
  return Json{http::status::ok, boost::json::object{{"status", "ready"}}};
}

// /v1/events is a WebSocket (api/Server.cpp takes the upgrade); a plain GET is told so.
Reply getEvents(const Context& /*context*/, const Request& /*request*/, const Params& /*params*/) {
  Problem problem =
      problemWith(http::status::upgrade_required,
                  "/v1/events is a WebSocket stream: connect with Upgrade: websocket");
  // RFC 9110 §15.5.22: a 426 names the protocol to switch to.
  problem.headers.emplace_back(http::field::upgrade, "websocket");
  return problem;
}

// The document the routes below are held to (docs/openapi.json; api/OpenApi.hpp).
Reply getOpenApi(const Context& /*context*/, const Request& /*request*/, const Params& /*params*/) {
  static const boost::json::value kDocument = boost::json::parse(openApiDocument());
  return Json{http::status::ok, kDocument};
}

const std::array kRoutes{
    Route{"/", http::verb::get, &routes::getConsole, Access::kOpen},
    Route{"/console/{file}", http::verb::get, &routes::getConsoleFile, Access::kOpen},
    Route{"/health", http::verb::get, &getHealth, Access::kOpen},
    Route{"/healthz", http::verb::get, &getHealth, Access::kOpen},
    Route{"/readyz", http::verb::get, &getReady, Access::kOpen},
    Route{"/v1/openapi.json", http::verb::get, &getOpenApi, Access::kOpen},
    Route{"/v1/events", http::verb::get, &getEvents, Access::kRead, kEventsQuery},
    Route{"/v1/records/calls", http::verb::get, &routes::listCallRecords, Access::kRead,
          kRecordsQuery},
    Route{"/v1/records/conferences", http::verb::get, &routes::listConferenceRecords, Access::kRead,
          kRecordsQuery},
    Route{"/v1/conferences", http::verb::get, &routes::listConferences, Access::kRead},
    Route{"/v1/rooms", http::verb::get, &routes::listRooms, Access::kRead, kRoomListQuery},
    Route{"/v1/rooms", http::verb::post, &routes::createRoom, Access::kWrite, {}, Creates::kStored},
    Route{"/v1/rooms/{id}", http::verb::get, &routes::getRoom, Access::kRead},
    Route{"/v1/rooms/{id}", http::verb::patch, &routes::changeRoom, Access::kWrite},
    Route{"/v1/rooms/{id}", http::verb::delete_, &routes::deleteRoom, Access::kWrite},
    Route{"/v1/rooms/{id}/recording", http::verb::post, &startRecording, Access::kWrite, {},
          Creates::kLive},
    Route{"/v1/rooms/{id}/recording", http::verb::delete_, &stopRecording, Access::kWrite},
    Route{"/v1/rooms/{id}/recordings", http::verb::get, &routes::listRecordings, Access::kRead,
          kPageQuery},
    Route{"/v1/rooms/{id}/recordings/{name}", http::verb::get, &routes::getRecording,
          Access::kRead},
    Route{"/v1/rooms/{id}/recordings/{name}", http::verb::delete_, &routes::deleteRecording,
          Access::kWrite},
    Route{"/v1/rooms/{id}/playback", http::verb::post, &startPlayback, Access::kWrite},
    Route{"/v1/rooms/{id}/playback", http::verb::delete_, &stopPlayback, Access::kWrite},
    Route{"/v1/rooms/{id}/participants/{callId}", http::verb::patch, &changeParticipant,
          Access::kWrite},
    Route{"/v1/rooms/{id}/participants/{callId}", http::verb::delete_, &removeParticipant,
          Access::kWrite},
    Route{"/v1/rooms/{id}/participants/{callId}/move", http::verb::post, &routes::moveParticipant,
          Access::kWrite},
    Route{"/v1/rooms/{id}/participants", http::verb::post, &addParticipant, Access::kWrite, {},
          Creates::kLive},
    Route{"/v1/rooms/{id}/conference", http::verb::patch, &changeConference, Access::kWrite},
    Route{"/v1/rooms/{id}/conference", http::verb::delete_, &endConference, Access::kWrite},
    Route{"/v1/mixer", http::verb::get, &getMixer, Access::kOperatorRead},
    Route{"/metrics", http::verb::get, &routes::getMetrics, Access::kOperatorRead},
    Route{"/v1/registrations", http::verb::get, &listRegistrations, Access::kOperatorRead},
    Route{"/v1/tenants", http::verb::get, &routes::listTenants, Access::kOperatorRead},
    Route{"/v1/tenants", http::verb::post, &routes::createTenant, Access::kOperatorWrite, {},
          Creates::kStored},
    Route{"/v1/tenants/{id}", http::verb::get, &routes::getTenant, Access::kRead},
    Route{"/v1/tenants/{id}", http::verb::patch, &routes::changeTenant, Access::kOperatorWrite},
    Route{"/v1/tenants/{id}", http::verb::delete_, &routes::deleteTenant, Access::kOperatorWrite},
    Route{"/v1/webhooks", http::verb::get, &routes::listWebhooks, Access::kRead},
    // Not idempotent, like keys: a replay would show the secret a second time.
    Route{"/v1/webhooks", http::verb::post, &routes::createWebhook, Access::kWrite},
    Route{"/v1/webhooks/{id}", http::verb::get, &routes::getWebhook, Access::kRead},
    Route{"/v1/webhooks/{id}", http::verb::patch, &routes::changeWebhook, Access::kWrite},
    Route{"/v1/webhooks/{id}", http::verb::delete_, &routes::deleteWebhook, Access::kWrite},
    Route{"/v1/webhooks/{id}/secret", http::verb::post, &routes::rotateWebhookSecret,
          Access::kWrite},
    Route{"/v1/keys", http::verb::get, &routes::listKeys, Access::kOperatorRead},
    Route{"/v1/keys", http::verb::post, &routes::createKey, Access::kOperatorWrite},
    Route{"/v1/keys/{id}", http::verb::delete_, &routes::deleteKey, Access::kOperatorWrite},
};

// Whether the key may call the route: nothing when it may, else the 403 (RFC 9110 §15.5.4: the
// key is known and will not do, so a new one is needed, not the same one again).
std::optional<Problem> forbidden(const Route& route, const Principal& who) {
  const bool operatorOnly =
      route.access == Access::kOperatorRead || route.access == Access::kOperatorWrite;
  if (operatorOnly && !who.isOperator()) {
    return problemWith(http::status::forbidden,
                       "this resource is the operator's: a tenant's key cannot use it");
  }
  const bool writes = route.access == Access::kWrite || route.access == Access::kOperatorWrite;
  if (writes && who.readOnly) {
    return problemWith(http::status::forbidden, "this key is read-only");
  }
  return std::nullopt;
}

// A creating POST with an Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): the
// first answer (a 2xx) is kept in the store for a day, per API key, and a repeat with the same
// key and the same request gets it again; the same key with another request is a 422. Failures
// are not kept: the client may retry them.
Reply idempotently(const Route& route,
                   const Context& context,
                   const Request& request,
                   const Params& params) {
  const std::string_view key = request["Idempotency-Key"];
  if (request.count("Idempotency-Key") != 1 || key.empty() || key.size() > 255 ||
      std::any_of(key.begin(), key.end(), [](char c) { return c < 0x21 || c > 0x7e; })) {
    return badRequest("a bad Idempotency-Key",
                      {{"Idempotency-Key", "one value, 1 to 255 visible ASCII characters"}});
  }
  const std::string hash =
      routes::entityTag(boost::json::value(std::string(http::to_string(request.method())) + " " +
                                           std::string(request.target()) + "\n" + request.body()));
  if (auto kept = context.store.storedAnswer(context.who.keyId, key)) {
    if (kept->requestHash != hash) {
      return problemWith(http::status::unprocessable_entity,
                         "this Idempotency-Key was used for another request",
                         {{"Idempotency-Key", "use a new key for a new request"}});
    }
    Json replay{static_cast<http::status>(kept->status),
                kept->body.empty() ? boost::json::value(nullptr) : boost::json::parse(kept->body)};
    if (!kept->location.empty()) {
      replay.headers.emplace_back(http::field::location, kept->location);
    }
    return replay;
  }
  // Runs the handler and keeps its answer if it is a 2xx: false when that answer was not kept.
  std::optional<Reply> reply;
  auto answerAndKeep = [&]() {
    reply = route.handler(context, request, params);
    auto* json = std::get_if<Json>(&*reply);
    if (json == nullptr || static_cast<unsigned>(json->status) / 100 != 2) {
      return true;
    }
    policy::Store::StoredAnswer answer{hash, static_cast<int>(json->status), {}, {}};
    for (const auto& [field, value] : json->headers) {
      if (field == http::field::location) {
        answer.location = value;
      }
    }
    answer.body = json->body.is_null() ? std::string() : boost::json::serialize(json->body);
    return !std::holds_alternative<policy::StoreError>(
        context.store.keepAnswer(context.who.keyId, key, answer));
  };
  if (route.creates == Creates::kLive) {
    // Not kept (the store failed): the live change stands; only a repeat would not be recognized.
    (void)answerAndKeep();
    return std::move(*reply);
  }
  if (std::holds_alternative<policy::StoreError>(context.store.together(answerAndKeep)) &&
      reply && std::holds_alternative<Json>(*reply)) {
    // The creation was rolled back with its answer: nothing was made, so the client may retry.
    return problemWith(http::status::service_unavailable,
                       "the store could not keep the answer for this Idempotency-Key, so nothing "
                       "was created: try again");
  }
  return std::move(*reply);
}

Reply dispatch(Context context,
               const Request& request,
               Auth& auth,
               const boost::asio::ip::address& source,
               std::string_view& matched,
               std::optional<Principal>& accepted) {
  // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
  // request message that lacks a Host header field and to any request message that contains
  // more than one Host header field line".
  auto hosts = request.count(http::field::host);
  if (hosts > 1 || (hosts == 0 && request.version() >= 11)) {
    return badRequest("an HTTP/1.1 request needs exactly one Host header",
                      {{"Host", "give it exactly once"}});
  }
  auto parsed = parseTarget(request.target());
  if (auto* problem = std::get_if<Problem>(&parsed)) {
    return std::move(*problem);
  }
  const auto& target = std::get<Target>(parsed);

  // HEAD is GET without the body (RFC 9110 §9.3.2).
  auto method = request.method() == http::verb::head ? http::verb::get : request.method();
  std::string allow;
  for (const auto& route : kRoutes) {
    auto params = match(route.pattern, target.segments);
    if (!params) {
      continue;
    }
    matched = route.pattern;
    if (route.method == method) {
      if (route.access != Access::kOpen) {
        auto who = auth.authenticate(request, source);
        if (auto* problem = std::get_if<Problem>(&who)) {
          return std::move(*problem);
        }
        context.who = std::get<Principal>(who);
        accepted = context.who;
        if (auto problem = forbidden(route, context.who)) {
          return std::move(*problem);
        }
      }
      // A parameter the route does not take is refused, not ignored: the client meant something.
      std::vector<FieldError> errors;
      for (const auto& [name, value] : target.query) {
        if (errors.size() < 10 &&
            std::find(route.query.begin(), route.query.end(), name) == route.query.end()) {
          errors.push_back({printable(name), "unknown query parameter"});
        }
      }
      if (!errors.empty()) {
        return badRequest("query parameters this resource does not take", std::move(errors));
      }
      context.query = &target.query;
      if (route.creates != Creates::kNothing && request.count("Idempotency-Key") != 0) {
        return idempotently(route, context, request, *params);
      }
      return route.handler(context, request, *params);
    }
    allow += allow.empty() ? "" : ", ";
    allow += http::to_string(route.method);
    if (route.method == http::verb::get) {
      allow += ", HEAD";
    }
  }
  if (!allow.empty()) {
    return methodNotAllowed(std::move(allow));
  }
  return notFound("no resource at " + printable(request.target()));
}

}  // namespace

std::vector<std::pair<std::string_view, http::verb>> Router::routes() {
  std::vector<std::pair<std::string_view, http::verb>> out;
  for (const auto& route : kRoutes) {
    out.emplace_back(route.pattern, route.method);
  }
  return out;
}

Router::Router(policy::Store& store, Auth& auth, Live* live, WebhookOptions webhooks)
    : store_(store), auth_(auth), live_(live), webhooks_(webhooks) {}

namespace {

Response inMemory(http::status status, unsigned version, bool keepAlive) {
  Response response(status, version);
  response.set(http::field::cache_control, "no-store");
  response.keep_alive(keepAlive);
  return response;
}

// The reply as what the server writes. HEAD is GET without the body (RFC 9110 §9.3.2):
// Content-Length stays, telling the size a GET would have had.
Answer toAnswer(Reply reply, const Request& request) {
  const bool head = request.method() == http::verb::head;
  Response response;
  if (auto* problem = std::get_if<Problem>(&reply)) {
    response = toResponse(*problem, request.version(), request.keep_alive());
  } else if (auto* text = std::get_if<routes::Text>(&reply)) {
    response = inMemory(text->status, request.version(), request.keep_alive());
    response.set(http::field::content_type, text->contentType);
    for (const auto& [field, value] : text->headers) {
      response.set(field, value);
    }
    response.body() = std::move(text->body);
    response.prepare_payload();
  } else if (auto* json = std::get_if<Json>(&reply)) {
    response = inMemory(json->status, request.version(), request.keep_alive());
    if (!json->body.is_null()) {
      response.set(http::field::content_type, "application/json");
    }
    for (const auto& [field, value] : json->headers) {
      response.set(field, value);
    }
    response.body() = json->body.is_null() ? std::string() : jsonText(json->body);
    response.prepare_payload();
  } else {
    auto& file = std::get<routes::File>(reply);
    FileResponse streamed(file.status, request.version());
    streamed.set(http::field::cache_control, "no-store");
    for (const auto& [field, value] : file.headers) {
      streamed.set(field, value);
    }
    streamed.keep_alive(request.keep_alive());
    streamed.body() = std::move(file.body);
    streamed.prepare_payload();
    if (!head) {
      return streamed;
    }
    response = Response(std::move(streamed.base()));
    return response;  // the file closes here, unread
  }
  if (head) {
    response.body().clear();
  }
  return response;
}

}  // namespace

Answer Router::serve(const Request& request, const boost::asio::ip::address& source) const {
  const auto started = std::chrono::steady_clock::now();
  Answer answer;
  std::string_view matched = "unmatched";
  std::optional<Principal> who;
  try {
    answer = toAnswer(dispatch(Context{store_, live_, {}, nullptr, &counts_, &webhooks_}, request,
                               auth_, source, matched, who),
                      request);
  } catch (const std::exception&) {
    // Only allocation failure gets here; the client may retry.
    Problem problem;
    problem.status = http::status::internal_server_error;
    problem.detail = "the server could not answer this request";
    answer = toResponse(problem, request.version(), false);
  }
  // By route pattern, never by the target itself: the label set stays bounded.
  const unsigned status = std::visit([](const auto& r) { return r.result_int(); }, answer);
  ++counts_[{std::string(matched), std::string(http::to_string(request.method())), status}];
  if (log_ != nullptr) {
    AccessEntry entry;
    entry.at = std::chrono::system_clock::now();
    entry.source = source;
    entry.method = request.method_string();
    entry.target = request.target();
    entry.route = matched;
    entry.status = status;
    // What the body is (a file's whole size or range), not what reaches the client yet.
    entry.bytes = std::visit(
        [](const auto& r) {
          auto size = r.payload_size();
          return size ? static_cast<std::size_t>(*size) : std::size_t{0};
        },
        answer);
    entry.took = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    if (who) {
      entry.keyId = who->keyId;
      if (!who->isOperator()) {
        entry.tenantId = who->tenantId;
      }
    }
    entry.userAgent = request[http::field::user_agent];
    log_->write(entry);
  }
  return answer;
}

Response Router::route(const Request& request, const boost::asio::ip::address& source) const {
  auto answer = serve(request, source);
  if (auto* file = std::get_if<FileResponse>(&answer)) {
    return Response(std::move(file->base()));
  }
  return std::move(std::get<Response>(answer));
}

Response Router::answer(std::string_view bytes,
                        const Limits& limits,
                        const boost::asio::ip::address& source) const {
  auto request = parseRequest(bytes, limits);
  if (!request) {
    return toResponse(fromParseError(request.error()), 11, false);
  }
  return route(*request, source);
}

}  // namespace confab::api
