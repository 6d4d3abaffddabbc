// Webhooks (issue 13 item 3): where a tenant's events are POSTed. A tenant's key makes and sees
// its own tenant's; the operator's sees every one and makes the operator's own (every tenant's
// events) or, naming a tenant, a tenant's. The secret is shown once, in the 201, like a key's
// token; a webhook of another tenant is as absent as one that does not exist (404).
#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <boost/json/array.hpp>
#include <cstdint>
#include <string>

#include "api/Routes.hpp"

namespace confab::api::routes {

namespace {

// What /v1/events sends but participant.talking: several a second per room are too many for a
// durable write and a POST each.
constexpr std::array<std::string_view, 7> kEventTypes = {
    "conference.started",  "conference.changed", "conference.ended", "participant.joined",
    "participant.updated", "participant.left",   "participant.key"};

std::string typeList() {
  std::string out;
  for (auto type : kEventTypes) {
    out += out.empty() ? "" : ", ";
    out += type;
  }
  return out;
}

boost::json::object toJson(const policy::Webhook& w) {
  boost::json::array events;
  for (const auto& e : w.events) {
    events.emplace_back(e);
  }
  boost::json::object out{
      {"id", w.id}, {"url", w.url}, {"events", std::move(events)}, {"created", w.created}};
  // Until when the secret a rotation replaced still signs (Unix seconds); null when none does.
  out["oldSecretUntil"] =
      w.oldSecret.empty() ? boost::json::value(nullptr) : boost::json::value(w.oldSecretUntil);
  if (w.tenantId == 0) {
    out["tenant"] = nullptr;
  } else {
    out["tenant"] = w.tenantId;
  }
  return out;
}

// The webhook {id} names, if the key may see it.
std::variant<policy::Webhook, Problem> visibleWebhook(const Context& context,
                                                      const Params& params) {
  auto id = idParam(params, "webhook");
  if (auto* problem = std::get_if<Problem>(&id)) {
    return std::move(*problem);
  }
  auto hook = context.store.webhook(std::get<int64_t>(id));
  // The operator's own webhooks (tenant 0) are no tenant's to see.
  if (!hook || !(context.who.isOperator() || hook->tenantId == context.who.tenantId)) {
    return notFound("no webhook " + printable(param(params, "id")));
  }
  return std::move(*hook);
}

// What a webhook's url and events must be, beyond their types: event types webhooks send, and a
// URL the sender may deliver to.
std::optional<Problem> checkedSpec(const Context& context, const policy::Webhook& spec) {
  for (const auto& type : spec.events) {
    if (std::find(kEventTypes.begin(), kEventTypes.end(), type) == kEventTypes.end()) {
      return problemWith(http::status::unprocessable_entity, "an event type webhooks do not send",
                         {{"events", "\"" + printable(type) + "\" is none of " + typeList()}});
    }
  }
  const bool allowPrivate = context.webhooks != nullptr && context.webhooks->allowPrivate;
  if (auto why = webhookUrlProblem(spec.url, allowPrivate)) {
    return problemWith(http::status::unprocessable_entity, "this URL cannot receive webhooks",
                       {{"url", *why}});
  }
  return std::nullopt;
}

// The longest a replaced secret may go on signing: a week covers a receiver's release cycle.
constexpr int64_t kMaxOverlapSeconds = 7 * 24 * 3600;
constexpr int64_t kDefaultOverlapSeconds = 24 * 3600;

}  // namespace

Reply listWebhooks(const Context& context, const Request& /*request*/, const Params& /*params*/) {
  boost::json::array out;
  const auto hooks = context.who.isOperator() ? context.store.webhooks()
                                              : context.store.webhooks(context.who.tenantId);
  for (const auto& w : hooks) {
    out.push_back(toJson(w));
  }
  return Json{http::status::ok, boost::json::object{{"webhooks", std::move(out)}}};
}

Reply createWebhook(const Context& context, const Request& request, const Params& /*params*/) {
  auto body = jsonBody(request, false, {"url", "events", "tenant"});
  if (auto* problem = std::get_if<Problem>(&body)) {
    return std::move(*problem);
  }
  const auto& object = std::get<boost::json::object>(body);
  policy::Webhook spec;
  spec.tenantId = context.who.tenantId;
  Fields fields(object);
  fields.text("url", spec.url);
  fields.texts("events", spec.events);
  std::vector<FieldError> errors;
  if (const auto* tenant = object.if_contains("tenant"); tenant != nullptr && !tenant->is_null()) {
    if (!context.who.isOperator()) {
      errors.push_back({"tenant", "a tenant's key makes its own tenant's webhooks only"});
    } else if (tenant->is_int64() && tenant->as_int64() > 0) {
      spec.tenantId = tenant->as_int64();
    } else {
      errors.push_back({"tenant", "must be a tenant's id, or null for the operator's webhook"});
    }
  }
  if (auto problem = fields.problem()) {
    problem->errors.insert(problem->errors.end(), errors.begin(), errors.end());
    return std::move(*problem);
  }
  if (!errors.empty()) {
    return badRequest("members of the wrong type", std::move(errors));
  }
  if (!object.contains("url")) {
    return badRequest("a webhook needs a url", {{"url", "required"}});
  }
  if (auto problem = checkedSpec(context, spec)) {
    return std::move(*problem);
  }
  auto made = context.store.createWebhook(spec);
  if (auto* error = std::get_if<policy::StoreError>(&made)) {
    if (error->kind == policy::StoreError::Kind::kNotFound) {
      return problemWith(http::status::unprocessable_entity, error->message,
                         {{"tenant", "no such tenant"}});
    }
    return fromStore(*error);
  }
  const auto& hook = std::get<policy::Webhook>(made);
  boost::json::object out = toJson(hook);
  // The only time the secret is shown: the receiver keeps it to check signatures.
  out["secret"] = hook.secret;
  return Json{http::status::created,
              std::move(out),
              {{http::field::location, "/v1/webhooks/" + std::to_string(hook.id)}}};
}

Reply getWebhook(const Context& context, const Request& /*request*/, const Params& params) {
  auto found = visibleWebhook(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  const auto& hook = std::get<policy::Webhook>(found);
  auto out = toJson(hook);
  std::string etag = entityTag(out);
  if (auto status = context.store.webhookStatus(hook.id)) {
    boost::json::object delivery{
        {"pending", status->pending}, {"failed", status->failed}, {"dropped", status->dropped}};
    delivery["lastSuccess"] =
        status->lastSuccess != 0 ? boost::json::value(status->lastSuccess) : nullptr;
    delivery["lastFailure"] =
        status->lastFailure != 0 ? boost::json::value(status->lastFailure) : nullptr;
    delivery["lastError"] = status->lastError.empty() ? boost::json::value(nullptr)
                                                      : boost::json::value(status->lastError);
    out["delivery"] = std::move(delivery);
  }
  return Json{http::status::ok, std::move(out), {{http::field::etag, std::move(etag)}}};
}

Reply changeWebhook(const Context& context, const Request& request, const Params& params) {
  auto body = jsonBody(request, false, {"url", "events"});
  if (auto* problem = std::get_if<Problem>(&body)) {
    return std::move(*problem);
  }
  auto found = visibleWebhook(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  auto hook = std::get<policy::Webhook>(std::move(found));
  if (auto stale = checkIfMatch(request, entityTag(toJson(hook)))) {
    return std::move(*stale);
  }
  // RFC 7396 merge: what the body names changes, the rest stays.
  Fields fields(std::get<boost::json::object>(body));
  fields.text("url", hook.url);
  fields.texts("events", hook.events);
  if (auto problem = fields.problem()) {
    return std::move(*problem);
  }
  if (auto problem = checkedSpec(context, hook)) {
    return std::move(*problem);
  }
  auto updated = context.store.updateWebhook(hook);
  if (auto* error = std::get_if<policy::StoreError>(&updated)) {
    return fromStore(*error);
  }
  auto out = toJson(std::get<policy::Webhook>(updated));
  std::string etag = entityTag(out);
  return Json{http::status::ok, std::move(out), {{http::field::etag, std::move(etag)}}};
}

Reply rotateWebhookSecret(const Context& context, const Request& request, const Params& params) {
  auto body = jsonBody(request, true, {"overlapSeconds"});
  if (auto* problem = std::get_if<Problem>(&body)) {
    return std::move(*problem);
  }
  int64_t overlap = kDefaultOverlapSeconds;
  if (const auto* v = std::get<boost::json::object>(body).if_contains("overlapSeconds")) {
    if (!v->is_int64() || v->as_int64() < 0 || v->as_int64() > kMaxOverlapSeconds) {
      return badRequest("members of the wrong type",
                        {{"overlapSeconds", "a whole number of seconds from 0 to " +
                                                std::to_string(kMaxOverlapSeconds)}});
    }
    overlap = v->as_int64();
  }
  auto found = visibleWebhook(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  auto rotated = context.store.rotateWebhookSecret(std::get<policy::Webhook>(found).id,
                                                   std::chrono::seconds(overlap));
  if (auto* error = std::get_if<policy::StoreError>(&rotated)) {
    return fromStore(*error);
  }
  const auto& hook = std::get<policy::Webhook>(rotated);
  boost::json::object out = toJson(hook);
  // Shown this once, as at creation.
  out["secret"] = hook.secret;
  return Json{http::status::ok, std::move(out)};
}

Reply deleteWebhook(const Context& context, const Request& /*request*/, const Params& params) {
  auto found = visibleWebhook(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  auto removed = context.store.deleteWebhook(std::get<policy::Webhook>(found).id);
  if (auto* error = std::get_if<policy::StoreError>(&removed)) {
    return fromStore(*error);
  }
  if (!std::get<bool>(removed)) {
    return notFound("no webhook " + printable(param(params, "id")));
  }
  return Json{http::status::no_content, nullptr};
}

}  // namespace confab::api::routes
