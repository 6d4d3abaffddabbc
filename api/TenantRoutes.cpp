// The operator's resources (issue 13 item 2): tenants with their limits, SIP domains and dial-out
// account, and API keys. Each change is one store transaction: a 2xx means it is on disk, an
// error means nothing of it was kept.
#include <array>
#include <boost/json/array.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "api/Routes.hpp"

namespace confab::api::routes {

namespace {

constexpr std::array<std::string_view, 6> kTenantMembers = {
    "name", "domains", "maxRooms", "maxParticipants", "recordingAllowed", "dialOut"};

boost::json::object toJson(const policy::Tenant& t) {
  boost::json::array domains;
  for (const auto& d : t.domains) {
    domains.emplace_back(d);
  }
  boost::json::object out{{"id", t.id},
                          {"name", t.name},
                          {"domains", std::move(domains)},
                          {"maxRooms", t.maxRooms},
                          {"maxParticipants", t.maxParticipants},
                          {"recordingAllowed", t.recordingAllowed}};
  // The password is write-only: only whose account it is shows.
  if (t.dialOutUser.empty()) {
    out["dialOut"] = nullptr;
  } else {
    out["dialOut"] = boost::json::object{{"user", t.dialOutUser}, {"realm", t.dialOutRealm}};
  }
  return out;
}

boost::json::object toJson(const policy::ApiKey& k) {
  boost::json::object out{
      {"id", k.id}, {"name", k.name}, {"readOnly", k.readOnly}, {"created", k.created}};
  if (k.tenantId == 0) {
    out["tenant"] = nullptr;
  } else {
    out["tenant"] = k.tenantId;
  }
  return out;
}

}  // namespace

Reply listTenants(const Context& context, const Request& /*request*/, const Params& /*params*/) {
  boost::json::array out;
  for (const auto& t : context.store.tenants()) {
    out.push_back(toJson(t));
  }
  return Json{http::status::ok, boost::json::object{{"tenants", std::move(out)}}};
}

Reply getTenant(const Context& context, const Request& /*request*/, const Params& params) {
  auto id = idParam(params, "tenant");
  if (auto* problem = std::get_if<Problem>(&id)) {
    return std::move(*problem);
  }
  const auto t = context.store.tenant(std::get<int64_t>(id));
  // A tenant's key sees its own tenant; any other is as absent as one that does not exist.
  if (!t || !context.who.sees(t->id)) {
    return notFound("no tenant " + param(params, "id"));
  }
  auto out = toJson(*t);
  std::string etag = entityTag(out);
  return Json{http::status::ok, std::move(out), {{http::field::etag, std::move(etag)}}};
}

Reply createTenant(const Context& context, const Request& request, const Params& /*params*/) {
  auto body = jsonBody(request, false, kTenantMembers);
  if (auto* problem = std::get_if<Problem>(&body)) {
    return std::move(*problem);
  }
  const auto& object = std::get<boost::json::object>(body);
  if (!object.contains("name")) {
    return badRequest("a tenant needs a name", {{"name", "required"}});
  }
  policy::Tenant t;
  Fields fields(object);
  fields.text("name", t.name);
  fields.texts("domains", t.domains);
  fields.count("maxRooms", t.maxRooms);
  fields.count("maxParticipants", t.maxParticipants);
  fields.flag("recordingAllowed", t.recordingAllowed);
  auto account = fields.account("dialOut");
  if (auto problem = fields.problem()) {
    return std::move(*problem);
  }
  auto created = context.store.createTenant(t, account ? *account : std::nullopt);
  if (auto* error = std::get_if<policy::StoreError>(&created)) {
    return fromStore(*error);
  }
  const auto& made = std::get<policy::Tenant>(created);
  return Json{http::status::created,
              toJson(made),
              {{http::field::location, "/v1/tenants/" + std::to_string(made.id)}}};
}

Reply changeTenant(const Context& context, const Request& request, const Params& params) {
  auto id = idParam(params, "tenant");
  if (auto* problem = std::get_if<Problem>(&id)) {
    return std::move(*problem);
  }
  auto body = jsonBody(request, false, kTenantMembers);
  if (auto* problem = std::get_if<Problem>(&body)) {
    return std::move(*problem);
  }
  auto t = context.store.tenant(std::get<int64_t>(id));
  if (!t) {
    return notFound("no tenant " + param(params, "id"));
  }
  if (auto stale = checkIfMatch(request, entityTag(toJson(*t)))) {
    return std::move(*stale);
  }
  // RFC 7396 merge: what the body names changes, the rest stays.
  Fields fields(std::get<boost::json::object>(body));
  fields.text("name", t->name);
  fields.texts("domains", t->domains);
  fields.count("maxRooms", t->maxRooms);
  fields.count("maxParticipants", t->maxParticipants);
  fields.flag("recordingAllowed", t->recordingAllowed);
  auto account = fields.account("dialOut");
  if (auto problem = fields.problem()) {
    return std::move(*problem);
  }
  auto updated = context.store.updateTenant(*t, account);
  if (auto* error = std::get_if<policy::StoreError>(&updated)) {
    return fromStore(*error);
  }
  auto out = toJson(std::get<policy::Tenant>(updated));
  std::string etag = entityTag(out);
  return Json{http::status::ok, std::move(out), {{http::field::etag, std::move(etag)}}};
}

Reply deleteTenant(const Context& context, const Request& /*request*/, const Params& params) {
  auto id = idParam(params, "tenant");
  if (auto* problem = std::get_if<Problem>(&id)) {
    return std::move(*problem);
  }
  auto removed = context.store.deleteTenant(std::get<int64_t>(id));
  if (auto* error = std::get_if<policy::StoreError>(&removed)) {
    return fromStore(*error);
  }
  if (!std::get<bool>(removed)) {
    return notFound("no tenant " + param(params, "id"));
  }
  return Json{http::status::no_content, nullptr};
}

Reply listKeys(const Context& context, const Request& /*request*/, const Params& /*params*/) {
  boost::json::array out;
  for (const auto& k : context.store.apiKeys()) {
    out.push_back(toJson(k));
  }
  return Json{http::status::ok, boost::json::object{{"keys", std::move(out)}}};
}

Reply createKey(const Context& context, const Request& request, const Params& /*params*/) {
  auto body = jsonBody(request, true, {"tenant", "readOnly", "name"});
  if (auto* problem = std::get_if<Problem>(&body)) {
    return std::move(*problem);
  }
  const auto& object = std::get<boost::json::object>(body);
  policy::ApiKey spec;
  Fields fields(object);
  fields.text("name", spec.name);
  fields.flag("readOnly", spec.readOnly);
  std::vector<FieldError> errors;
  if (const auto* tenant = object.if_contains("tenant"); tenant != nullptr && !tenant->is_null()) {
    if (tenant->is_int64() && tenant->as_int64() > 0) {
      spec.tenantId = tenant->as_int64();
    } else {
      errors.push_back({"tenant", "must be a tenant's id, or null for an operator key"});
    }
  }
  if (auto problem = fields.problem()) {
    problem->errors.insert(problem->errors.end(), errors.begin(), errors.end());
    return std::move(*problem);
  }
  if (!errors.empty()) {
    return badRequest("members of the wrong type", std::move(errors));
  }
  auto issued = context.store.createApiKey(spec);
  if (auto* error = std::get_if<policy::StoreError>(&issued)) {
    // A tenant that does not exist is the request's mistake, not a missing resource at this URL.
    if (error->kind == policy::StoreError::Kind::kNotFound) {
      return problemWith(http::status::unprocessable_entity, error->message,
                         {{"tenant", "no such tenant"}});
    }
    return fromStore(*error);
  }
  const auto& made = std::get<policy::IssuedApiKey>(issued);
  boost::json::object out = toJson(made.key);
  // The only time the token is shown: the store keeps its hash.
  out["token"] = made.token;
  return Json{http::status::created,
              std::move(out),
              {{http::field::location, "/v1/keys/" + std::to_string(made.key.id)}}};
}

Reply deleteKey(const Context& context, const Request& /*request*/, const Params& params) {
  auto id = idParam(params, "key");
  if (auto* problem = std::get_if<Problem>(&id)) {
    return std::move(*problem);
  }
  auto removed = context.store.deleteApiKey(std::get<int64_t>(id));
  if (auto* error = std::get_if<policy::StoreError>(&removed)) {
    return fromStore(*error);
  }
  if (!std::get<bool>(removed)) {
    return notFound("no key " + param(params, "id"));
  }
  return Json{http::status::no_content, nullptr};
}

}  // namespace confab::api::routes
