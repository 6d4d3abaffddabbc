// Call detail records over REST (issue 13 item 6): each participant's stay and each conference,
// in pages by id, a tenant's key seeing its own tenant's only.
#include <boost/json/array.hpp>
#include <charconv>
#include <limits>

#include "api/Routes.hpp"

namespace confab::api::routes {

namespace {


// The query of a records route, for the key asking; or the problem with it.
std::variant<policy::RecordQuery, Problem> recordQuery(const Context& context) {
  policy::RecordQuery query;
  std::vector<FieldError> errors;
  for (const auto& [name, value] : *context.query) {
    int64_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    const bool number = ec == std::errc() && end == value.data() + value.size();
    if (name == "limit") {
      if (!number || n < 1 || n > static_cast<int64_t>(kMaxPage)) {
        errors.push_back({name, "a whole number from 1 to " + std::to_string(kMaxPage)});
      } else {
        query.limit = static_cast<std::size_t>(n);
      }
    } else if (name == "after") {
      if (!number || n < 0) {
        errors.push_back({name, "a record id"});
      } else {
        query.afterId = n;
      }
    } else if (name == "tenant") {
      if (!number || n < 1) {
        errors.push_back({name, "a tenant's id"});
      } else {
        query.tenantId = n;
      }
    } else if (name == "room") {
      query.room = value.substr(0, 200);
    }
  }
  if (!errors.empty()) {
    return badRequest("bad query parameters", std::move(errors));
  }
  if (!context.who.isOperator()) {
    if (query.tenantId && *query.tenantId != context.who.tenantId) {
      query.limit = 0;  // another tenant's: none
    }
    query.tenantId = context.who.tenantId;
  }
  return query;
}

boost::json::value tenantOf(int64_t id) {
  return id == 0 ? boost::json::value(nullptr) : boost::json::value(id);
}

boost::json::value qualityJson(const std::optional<policy::CallQuality>& quality) {
  if (!quality) {
    return nullptr;
  }
  return boost::json::object{{"packetsReceived", quality->packetsReceived},
                             {"packetsDropped", quality->packetsDropped},
                             {"framesConcealed", quality->framesConcealed},
                             {"fractionLost", quality->fractionLost},
                             {"jitterMs", quality->jitterMs},
                             {"roundTripMs", quality->roundTripMs},
                             {"remoteLost", quality->remoteLost}};
}

// The page and, when it may go on, the path of the next one.
template <class Record, class ToJson>
Reply page(const char* path,
           const char* member,
           std::vector<Record> records,
           std::size_t limit,
           ToJson toJson) {
  boost::json::array out;
  for (const auto& r : records) {
    out.push_back(toJson(r));
  }
  boost::json::object body{{member, std::move(out)}};
  if (limit != 0 && records.size() == limit) {
    body["next"] = std::string(path) + "?after=" + std::to_string(records.back().id) +
                   "&limit=" + std::to_string(limit);
  }
  return Json{http::status::ok, std::move(body)};
}

}  // namespace

Reply listCallRecords(const Context& context,
                      const Request& /*request*/,
                      const Params& /*params*/) {
  auto query = recordQuery(context);
  if (auto* problem = std::get_if<Problem>(&query)) {
    return std::move(*problem);
  }
  const auto& q = std::get<policy::RecordQuery>(query);
  auto records = q.limit == 0 ? std::vector<policy::CallRecord>{} : context.store.callRecords(q);
  return page(
      "/v1/records/calls", "calls", std::move(records), q.limit, [](const policy::CallRecord& r) {
        return boost::json::object{{"id", r.id},
                                   {"tenant", tenantOf(r.tenantId)},
                                   {"room", r.room},
                                   {"conferenceStarted", r.conferenceStarted},
                                   {"callId", r.callId},
                                   {"entity", r.entity},
                                   {"displayName", r.displayName},
                                   {"role", r.role},
                                   {"joining", r.joining},
                                   {"joined", r.joined},
                                   {"left", r.left},
                                   {"seconds", static_cast<double>(r.left - r.joined) / 1000.0},
                                   {"codec", r.codec},
                                   {"srtp", r.srtp},
                                   {"disconnection", r.disconnection},
                                   {"reason", r.reason},
                                   {"quality", qualityJson(r.quality)}};
      });
}

Reply listConferenceRecords(const Context& context,
                            const Request& /*request*/,
                            const Params& /*params*/) {
  auto query = recordQuery(context);
  if (auto* problem = std::get_if<Problem>(&query)) {
    return std::move(*problem);
  }
  const auto& q = std::get<policy::RecordQuery>(query);
  auto records =
      q.limit == 0 ? std::vector<policy::ConferenceRecord>{} : context.store.conferenceRecords(q);
  return page("/v1/records/conferences", "conferences", std::move(records), q.limit,
              [](const policy::ConferenceRecord& r) {
                return boost::json::object{
                    {"id", r.id},
                    {"tenant", tenantOf(r.tenantId)},
                    {"room", r.room},
                    {"started", r.started},
                    {"ended", r.ended},
                    {"seconds", static_cast<double>(r.ended - r.started) / 1000.0},
                    {"participants", r.participants}};
              });
}

}  // namespace confab::api::routes
