// What the router's handlers share (internal to confab_api): the reply types, the context a
// handler runs in, and the helpers that read a request. The route table is in api/Router.cpp;
// handlers live beside the resources they serve (api/Router.cpp for rooms and the live bridge,
// api/TenantRoutes.cpp for tenants and keys).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "api/Auth.hpp"
#include "api/FileBody.hpp"
#include "api/Http.hpp"
#include "api/Live.hpp"
#include "api/Metrics.hpp"
#include "api/Problem.hpp"
#include "api/Webhook.hpp"
#include "policy/Store.hpp"

namespace confab::api::routes {

// Values captured by a route's {name} segments, in pattern order.
using Params = std::vector<std::pair<std::string_view, std::string>>;

struct Json {
  http::status status;
  boost::json::value body;
  // Location on a 201 (RFC 9110 §10.2.2), for one.
  std::vector<std::pair<http::field, std::string>> headers = {};
};
// A body that is not JSON (the Prometheus text of /metrics).
struct Text {
  http::status status;
  std::string contentType;
  std::string body;
  // By name: some (Content-Security-Policy, Referrer-Policy) have no http::field.
  std::vector<std::pair<std::string, std::string>> headers = {};
};
// A file as the body (a recording): the server streams it from the descriptor the handler opened,
// never reading it whole. 'headers' carry its Content-Type, Content-Disposition, Content-Range.
struct File {
  http::status status;
  FileBody::value_type body;
  std::vector<std::pair<http::field, std::string>> headers = {};
};
using Reply = std::variant<Json, Problem, Text, File>;

struct Context {
  policy::Store& store;  // tenants, rooms, keys: one transaction per change
  Live* live;
  Principal who;  // for open routes, nobody's
  // The decoded query parameters (only those the route takes), in order.
  const std::vector<std::pair<std::string, std::string>>* query;
  const RequestCounts* counts;               // what the API has answered so far, for /metrics
  const WebhookOptions* webhooks = nullptr;  // which webhook URLs are allowed; their counters
};

// Text from the request put into a detail: printable ASCII only, and not much of it, so that a
// problem body is valid UTF-8 and never echoes a large or hostile input back.
std::string printable(std::string_view text);

// The value captured for {name}; empty when the pattern has none.
const std::string& param(const Params& params, std::string_view name);

// A request body that must be a JSON object (RFC 8259) of the 'known' members only, or nothing
// at all when 'emptyIsOk'.
std::variant<boost::json::object, Problem> jsonBody(const Request& request,
                                                    bool emptyIsOk,
                                                    std::span<const std::string_view> known);
inline std::variant<boost::json::object, Problem> jsonBody(
    const Request& request, bool emptyIsOk, std::initializer_list<std::string_view> known) {
  return jsonBody(request, emptyIsOk,
                  std::span<const std::string_view>(known.begin(), known.size()));
}

// Pages of a list: how many items when the request does not say, and the most it may ask for.
inline constexpr std::size_t kDefaultPage = 100;
inline constexpr std::size_t kMaxPage = 500;

// 'text' percent-encoded but for RFC 3986 §2.3's unreserved characters: safe in a path segment
// and in a query value of a link the API hands out.
std::string urlPart(std::string_view text);

// The same bound on counts (limits) the operator's command line has.
inline constexpr int64_t kMaxCount = 1'000'000;

// Members of a request body read with their types checked; each one of the wrong type is named.
class Fields {
 public:
  explicit Fields(const boost::json::object& body) : body_(body) {}

  void text(std::string_view name, std::string& out) {
    if (const auto* v = body_.if_contains(name)) {
      if (v->is_string()) {
        out = std::string(v->as_string());
      } else {
        wrong(name, "must be a string");
      }
    }
  }
  void count(std::string_view name, unsigned& out) {
    if (const auto* v = body_.if_contains(name)) {
      if (v->is_int64() && v->as_int64() >= 0 && v->as_int64() <= kMaxCount) {
        out = static_cast<unsigned>(v->as_int64());
      } else if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(kMaxCount)) {
        out = static_cast<unsigned>(v->as_uint64());
      } else {
        wrong(name, "must be a whole number from 0 to 1000000 (0: no limit)");
      }
    }
  }
  void flag(std::string_view name, bool& out) {
    if (const auto* v = body_.if_contains(name)) {
      if (v->is_bool()) {
        out = v->as_bool();
      } else {
        wrong(name, "must be true or false");
      }
    }
  }
  void texts(std::string_view name, std::vector<std::string>& out) {
    if (const auto* v = body_.if_contains(name)) {
      if (!v->is_array()) {
        wrong(name, "must be an array of strings");
        return;
      }
      std::vector<std::string> read;
      for (const auto& item : v->as_array()) {
        if (!item.is_string()) {
          wrong(name, "must be an array of strings");
          return;
        }
        read.emplace_back(item.as_string());
      }
      out = std::move(read);
    }
  }
  // A tenant's dial-out account: an object {user, password, realm?}, or null for none. Nothing
  // when the member is absent.
  std::optional<std::optional<policy::SipAccount>> account(std::string_view name) {
    const auto* v = body_.if_contains(name);
    if (v == nullptr) {
      return std::nullopt;
    }
    if (v->is_null()) {
      return std::optional<policy::SipAccount>();
    }
    const std::string field(name);
    if (!v->is_object()) {
      wrong(name, "must be an object {user, password, realm} or null");
      return std::nullopt;
    }
    const auto& o = v->as_object();
    for (const auto& member : o) {
      if (member.key() != "user" && member.key() != "password" && member.key() != "realm") {
        errors_.push_back({field + "." + printable(member.key()), "unknown member"});
      }
    }
    policy::SipAccount account;
    for (auto [key, out, required] : {std::tuple{"user", &account.username, true},
                                      std::tuple{"password", &account.password, true},
                                      std::tuple{"realm", &account.realm, false}}) {
      const auto* m = o.if_contains(key);
      if (m == nullptr && !required) {
        continue;
      }
      if (m == nullptr || !m->is_string()) {
        errors_.push_back(
            {field + "." + key, required ? "a string is required" : "must be a string"});
        continue;
      }
      *out = std::string(m->as_string());
    }
    return std::optional<policy::SipAccount>(std::move(account));
  }

  // 400 naming each member of the wrong type, if any.
  std::optional<Problem> problem() {
    if (errors_.empty()) {
      return std::nullopt;
    }
    return badRequest("members of the wrong type", std::move(errors_));
  }

 private:
  void wrong(std::string_view name, std::string why) {
    errors_.push_back({std::string(name), std::move(why)});
  }
  const boost::json::object& body_;
  std::vector<FieldError> errors_;
};

// A strong entity tag (RFC 9110 §8.8.3) for a resource's stored form: quoted hex of a 64-bit
// FNV-1a hash of its JSON. Live state (who is talking) stays out of it, so that reading a room
// and then changing it does not fail because someone spoke.
std::string entityTag(const boost::json::value& stored);
// RFC 9110 §13.1.1: when the request has If-Match, one of its tags (or "*") must be the current
// one; otherwise the change is refused with 412, so two organizers cannot overwrite each other.
std::optional<Problem> checkIfMatch(const Request& request, const std::string& current);

// The {id} of a route as a store id; a 404 naming 'what' for anything else (no such resource can
// exist).
std::variant<int64_t, Problem> idParam(const Params& params, std::string_view what);

// What the store refused, as the problem for it: 404, 409 on a conflict (a duplicate name), 422
// for a value that breaks a rule (naming the field the store named), 500 for the file.
Problem fromStore(const policy::StoreError& error);

// A room as the API names it ({id} in a route): its live key, "1000" for a room of tenant
// "default" and "4000@acme" for another tenant's; a tenant's key may leave out its "@tenant".
struct ApiRoom {
  policy::StoredRoom stored;
  policy::Tenant tenant;
  policy::Room live;  // what the focus runs it with (live.key names the conference)
};
// The room {id} names, if the key may see it (another tenant's room is 404 like a missing one).
std::variant<ApiRoom, Problem> resolveRoom(const Context& context, const Params& params);

// Rooms in the policy store, and a room's live state (api/RoomRoutes.cpp).
Reply listRooms(const Context& context, const Request& request, const Params& params);
Reply createRoom(const Context& context, const Request& request, const Params& params);
Reply getRoom(const Context& context, const Request& request, const Params& params);
Reply listConferences(const Context& context, const Request& request, const Params& params);
Reply changeRoom(const Context& context, const Request& request, const Params& params);
Reply deleteRoom(const Context& context, const Request& request, const Params& params);
// One participant as the API shows them: call, role, codec, controls and media quality.
boost::json::object participantJson(const room::Call& call, const room::Uas& focus);
// The conference running in a room (lock, mute-all, how many), or null when none runs.
boost::json::value conferenceJson(const room::Uas& focus, const std::string& key);
// Moves a participant to another room of the same tenant (api/MoveRoute.cpp).
Reply moveParticipant(const Context& context, const Request& request, const Params& params);

// A room's recordings in the live bridge's folder (api/RecordingRoutes.cpp). Names are
// "<roomkey>-<UTC stamp>.wav|.opus": recordingName() makes them, and validRecordingName() is the
// one check between a request's {name} and the file system (no separators, no "..", no
// controls, and the room's own key, so one room or tenant never reaches another's).
std::string recordingName(const std::string& roomKey, std::string_view extension);
bool validRecordingName(std::string_view name, std::string_view roomKey);
Reply listRecordings(const Context& context, const Request& request, const Params& params);
Reply getRecording(const Context& context, const Request& request, const Params& params);
Reply deleteRecording(const Context& context, const Request& request, const Params& params);

// The web console's pages (api/Console.cpp): / is its page, /console/{file} the rest.
Reply getConsole(const Context& context, const Request& request, const Params& params);
Reply getConsoleFile(const Context& context, const Request& request, const Params& params);

// The Prometheus exposition of the bridge (api/Metrics.cpp).
Reply getMetrics(const Context& context, const Request& request, const Params& params);

// Call detail records (api/RecordRoutes.cpp).
Reply listCallRecords(const Context& context, const Request& request, const Params& params);
Reply listConferenceRecords(const Context& context, const Request& request, const Params& params);

// Tenants and API keys, the operator's (api/TenantRoutes.cpp).
Reply listTenants(const Context& context, const Request& request, const Params& params);
Reply createTenant(const Context& context, const Request& request, const Params& params);
Reply getTenant(const Context& context, const Request& request, const Params& params);
Reply changeTenant(const Context& context, const Request& request, const Params& params);
Reply deleteTenant(const Context& context, const Request& request, const Params& params);
Reply listKeys(const Context& context, const Request& request, const Params& params);
Reply createKey(const Context& context, const Request& request, const Params& params);
Reply deleteKey(const Context& context, const Request& request, const Params& params);

// Webhooks: a tenant's key its tenant's, the operator's every one (api/WebhookRoutes.cpp).
Reply listWebhooks(const Context& context, const Request& request, const Params& params);
Reply createWebhook(const Context& context, const Request& request, const Params& params);
Reply getWebhook(const Context& context, const Request& request, const Params& params);
Reply changeWebhook(const Context& context, const Request& request, const Params& params);
// A new secret (shown once); the old one signs too for "overlapSeconds" (default a day).
Reply rotateWebhookSecret(const Context& context, const Request& request, const Params& params);
Reply deleteWebhook(const Context& context, const Request& request, const Params& params);

}  // namespace confab::api::routes
