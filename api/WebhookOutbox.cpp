#include "api/WebhookOutbox.hpp"

#include "api/Events.hpp"

namespace confab::api {

WebhookOutbox::WebhookOutbox(
    policy::Store& store, WebhookCounters& counters, Listener* listener, Log log, Clock clock)
    : store_(store),
      counters_(counters),
      listener_(listener),
      log_(std::move(log)),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::system_clock::now(); })) {}

void WebhookOutbox::onChange(const conference::Change& change) {
  ++seq_;
  const auto& c = change.conference;
  if (change.kind == conference::Change::Kind::kStarted) {
    tenants_[c.id] = c.rules.tenantId;
  } else if (change.kind == conference::Change::Kind::kEnded) {
    tenants_.erase(c.id);
  }
  enqueue(c.rules.tenantId, EventHub::eventType(change.kind), EventHub::eventJson(change, seq_));
}

void WebhookOutbox::onTalking(const room::Call& /*call*/, bool /*talking*/) {
  ++seq_;
}

void WebhookOutbox::onKeyPressed(const room::Call& call, char key) {
  ++seq_;
  auto tenant = tenants_.find(call.roomId());
  if (tenant == tenants_.end()) {
    return;  // not in a conference (a PIN or a meeting number being keyed in)
  }
  enqueue(tenant->second, "participant.key", EventHub::keyJson(call, key, seq_));
}

void WebhookOutbox::enqueue(int64_t tenant, std::string_view type, const std::string& event) {
  const int64_t now =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_().time_since_epoch()).count();
  auto queued = store_.enqueueEvent(tenant, type, event, now);
  if (auto* error = std::get_if<policy::StoreError>(&queued)) {
    // The call goes on; the event is lost, and said so.
    ++writeFailures_;
    if (log_) {
      log_("webhook outbox: cannot queue a " + std::string(type) + " event: " + error->message);
    }
    return;
  }
  const auto& done = std::get<policy::Enqueued>(queued);
  counters_.dropped += done.dropped;
  if (done.dropped != 0 && log_) {
    log_("webhook outbox full: dropped the " + std::to_string(done.dropped) +
         " oldest undelivered events");
  }
  if (listener_ != nullptr) {
    for (int64_t id : done.webhooks) {
      listener_->onQueued(id);
    }
  }
}

}  // namespace confab::api
