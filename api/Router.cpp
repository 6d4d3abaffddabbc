#include "api/Router.hpp"

#include <array>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "api/Problem.hpp"

namespace confab::api {

namespace {

// A request target split into decoded path segments ("/v1/rooms/x" -> v1, rooms, x) and the raw
// query.
struct Target {
  std::vector<std::string> segments;
  std::string_view query;
};

// Values captured by a route's {name} segments, in pattern order.
using Params = std::vector<std::pair<std::string_view, std::string>>;

struct Json {
  http::status status;
  boost::json::value body;
};
using Reply = std::variant<Json, Problem>;
using Handler = Reply (*)(const policy::Directory&, const Params&);

struct Route {
  std::string_view pattern;
  http::verb method;
  Handler handler;
};

// Text from the request put into a detail: printable ASCII only, and not much of it, so that a
// problem body is valid UTF-8 and never echoes a large or hostile input back.
std::string printable(std::string_view text) {
  constexpr std::size_t kMax = 100;
  std::string out;
  for (char c : text.substr(0, kMax)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (text.size() > kMax) {
    out += "...";
  }
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// RFC 3986 §2.1 percent-decoding of one path segment.
std::optional<std::string> percentDecode(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (std::size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      out += segment[i];
      continue;
    }
    if (i + 2 >= segment.size()) {
      return std::nullopt;
    }
    int high = hexValue(segment[i + 1]);
    int low = hexValue(segment[i + 2]);
    if (high < 0 || low < 0) {
      return std::nullopt;
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

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
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.substr(0, scheme.size()) == scheme) {
      auto slash = target.find('/', scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
      break;
    }
  }
  if (target.empty() || target.front() != '/') {
    return badRequest("the request target must be a path starting with '/'");
  }
  Target out;
  auto question = target.find('?');
  std::string_view path = target.substr(0, question);
  if (question != std::string_view::npos) {
    out.query = target.substr(question + 1);
  }
  for (auto segment : splitPath(path)) {
    auto decoded = percentDecode(segment);
    if (!decoded) {
      return badRequest("bad percent-encoding in the path");
    }
    out.segments.push_back(std::move(*decoded));
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

const std::string& param(const Params& params, std::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) {
      return value;
    }
  }
  static const std::string kNone;
  return kNone;
}

boost::json::object toJson(const policy::Room& room) {
  return {{"id", room.id}, {"name", room.name}, {"maxParticipants", room.maxParticipants}};
}

Reply getHealth(const policy::Directory& /*directory*/, const Params& /*params*/) {
  return Json{http::status::ok, boost::json::object{{"status", "ok"}}};
}

Reply listRooms(const policy::Directory& directory, const Params& /*params*/) {
  boost::json::array rooms;
  for (const auto& room : directory.list()) {
    rooms.push_back(toJson(room));
  }
  return Json{http::status::ok, boost::json::object{{"rooms", std::move(rooms)}}};
}

Reply getRoom(const policy::Directory& directory, const Params& params) {
  const auto& id = param(params, "id");
  if (!policy::Directory::validId(id)) {
    return badRequest("invalid room id", {{"id", "a room id is 1 to 64 of A-Z a-z 0-9 . _ -"}});
  }
  auto room = directory.find(id);
  if (!room) {
    return notFound("no room " + id);
  }
  return Json{http::status::ok, toJson(*room)};
}

const std::array kRoutes{
    Route{"/health", http::verb::get, &getHealth},
    Route{"/v1/rooms", http::verb::get, &listRooms},
    Route{"/v1/rooms/{id}", http::verb::get, &getRoom},
};

Reply dispatch(const policy::Directory& directory, const Request& request) {
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
    if (route.method == method) {
      if (!target.query.empty()) {
        // No route takes parameters yet: say so rather than ignore what the client meant.
        std::vector<FieldError> errors;
        std::string_view query = target.query;
        while (!query.empty() && errors.size() < 10) {
          auto amp = query.find('&');
          auto name = query.substr(0, std::min(amp, query.find('=')));
          errors.push_back({printable(name), "unknown query parameter"});
          query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        }
        return badRequest("this resource takes no query parameters", std::move(errors));
      }
      return route.handler(directory, *params);
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

Router::Router(const policy::Directory& directory) : directory_(directory) {}

Response Router::route(const Request& request) const {
  Response response;
  try {
    auto reply = dispatch(directory_, request);
    if (auto* problem = std::get_if<Problem>(&reply)) {
      response = toResponse(*problem, request.version(), request.keep_alive());
    } else {
      auto& json = std::get<Json>(reply);
      response = Response(json.status, request.version());
      response.set(http::field::content_type, "application/json");
      response.set(http::field::cache_control, "no-store");
      response.keep_alive(request.keep_alive());
      response.body() = boost::json::serialize(json.body);
      response.prepare_payload();
    }
  } catch (const std::exception&) {
    // Only allocation failure gets here; the client may retry.
    Problem problem;
    problem.status = http::status::internal_server_error;
    problem.detail = "the server could not answer this request";
    response = toResponse(problem, request.version(), false);
  }
  if (request.method() == http::verb::head) {
    // Content-Length stays: it tells the size a GET would have had.
    response.body().clear();
  }
  return response;
}

Response Router::answer(std::string_view bytes, const Limits& limits) const {
  auto request = parseRequest(bytes, limits);
  if (!request) {
    return toResponse(fromParseError(request.error()), 11, false);
  }
  return route(*request);
}

}  // namespace confab::api
