// Webhooks and their outbox in the policy store (issue 13 item 3): an event is a row per webhook
// that wants it, written in one transaction before the focus goes on, and removed only once the
// receiver answered 2xx (or kept, marked failed, once the sender gives up). Bounded per webhook.
#include <chrono>
#include <string>
#include <variant>

#include "policy/Sql.hpp"
#include "policy/Store.hpp"
#include "policy/Token.hpp"

namespace confab::policy {

namespace {

using sql::checkText;
using sql::failure;
using sql::inTransaction;
using sql::Statement;

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr std::size_t kMaxUrl = 2000;
constexpr std::size_t kMaxEventTypes = 32;
constexpr std::size_t kMaxEventType = 64;
// What a failure's text may hold in the store (it comes from the receiver's status line).
constexpr std::size_t kMaxError = 300;

constexpr const char* kWebhookColumns =
    "id, tenant_id, url, secret, events, created, old_secret, old_secret_until";

std::vector<std::string> splitTypes(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos) {
      comma = text.size();
    }
    if (comma > start) {
      out.push_back(text.substr(start, comma - start));
    }
    start = comma + 1;
  }
  return out;
}

Webhook webhookFrom(const Statement& s) {
  Webhook w;
  w.id = s.integer(0);
  w.tenantId = s.isNull(1) ? 0 : s.integer(1);
  w.url = s.text(2);
  w.secret = s.text(3);
  w.events = splitTypes(s.text(4));
  w.created = s.integer(5);
  w.oldSecret = s.text(6);
  w.oldSecretUntil = s.integer(7);
  return w;
}

bool wants(const std::string& events, std::string_view type) {
  if (events.empty()) {
    return true;
  }
  for (const auto& t : splitTypes(events)) {
    if (t == type) {
      return true;
    }
  }
  return false;
}

std::string clipped(std::string_view error) {
  std::string out(error.substr(0, kMaxError));
  for (auto& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = ' ';
    }
  }
  return out;
}

int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The url and events of 'spec' checked, the events as the store keeps them (comma-separated).
std::variant<std::string, StoreError> storedEvents(const Webhook& spec) {
  if (auto bad = checkText("url", spec.url, 1, kMaxUrl)) {
    return *bad;
  }
  if (spec.events.size() > kMaxEventTypes) {
    return sql::invalid("events: at most " + std::to_string(kMaxEventTypes) + " types");
  }
  std::string events;
  for (const auto& type : spec.events) {
    if (auto bad = checkText("events", type, 1, kMaxEventType)) {
      return *bad;
    }
    if (type.find(',') != std::string::npos) {
      return sql::invalid("events: a type has no ','");
    }
    events += events.empty() ? "" : ",";
    events += type;
  }
  return events;
}

}  // namespace

StoreResult<Webhook> Store::createWebhook(const Webhook& spec) {
  auto checked = storedEvents(spec);
  if (auto* bad = std::get_if<StoreError>(&checked)) {
    return *bad;
  }
  const auto& events = std::get<std::string>(checked);
  auto secret = token::random(kSecretPrefix);
  if (!secret) {
    return StoreError{StoreError::Kind::kIo, "no random bytes for a webhook secret"};
  }
  const int64_t now = unixNow();
  return inTransaction<Webhook>(*db_, [&]() -> StoreResult<Webhook> {
    if (spec.tenantId != 0 && !tenant(spec.tenantId)) {
      return StoreError{StoreError::Kind::kNotFound,
                        "tenant: no tenant " + std::to_string(spec.tenantId)};
    }
    Statement insert(*db_,
                     "INSERT INTO webhooks (tenant_id, url, secret, events, created) "
                     "VALUES (?, ?, ?, ?, ?) RETURNING id");
    if (spec.tenantId != 0) {
      insert.bind(1, spec.tenantId);
    } else {
      insert.bindNull(1);
    }
    insert.bind(2, spec.url).bind(3, *secret).bind(4, events).bind(5, now);
    auto id = sql::insertedId(*db_, insert);
    if (auto* error = std::get_if<StoreError>(&id)) {
      return *error;
    }
    auto made = webhook(std::get<int64_t>(id));
    if (!made) {
      return StoreError{StoreError::Kind::kIo, "the webhook vanished after writing it"};
    }
    return *made;
  });
}

std::optional<Webhook> Store::webhook(int64_t id) const {
  Statement s(*db_,
              (std::string("SELECT ") + kWebhookColumns + " FROM webhooks WHERE id = ?").c_str());
  s.bind(1, id);
  if (s.step() != sql::kRow) {
    return std::nullopt;
  }
  return webhookFrom(s);
}

std::vector<Webhook> Store::webhooks(std::optional<int64_t> tenantId) const {
  return sql::rowsOfTenant<Webhook>(
      *db_, std::string("SELECT ") + kWebhookColumns + " FROM webhooks", tenantId, webhookFrom);
}

StoreResult<Webhook> Store::updateWebhook(const Webhook& spec) {
  auto checked = storedEvents(spec);
  if (auto* bad = std::get_if<StoreError>(&checked)) {
    return *bad;
  }
  return inTransaction<Webhook>(*db_, [&]() -> StoreResult<Webhook> {
    Statement update(*db_, "UPDATE webhooks SET url = ?, events = ? WHERE id = ?");
    update.bind(1, spec.url).bind(2, std::get<std::string>(checked)).bind(3, spec.id);
    if (update.step() != sql::kDone) {
      return failure(*db_);
    }
    if (update.changes() == 0) {
      return StoreError{StoreError::Kind::kNotFound, "no webhook " + std::to_string(spec.id)};
    }
    return *webhook(spec.id);
  });
}

StoreResult<Webhook> Store::rotateWebhookSecret(int64_t id, std::chrono::seconds overlap) {
  auto secret = token::random(kSecretPrefix);
  if (!secret) {
    return StoreError{StoreError::Kind::kIo, "no random bytes for a webhook secret"};
  }
  const int64_t until = overlap.count() > 0 ? unixNow() + overlap.count() : 0;
  return inTransaction<Webhook>(*db_, [&]() -> StoreResult<Webhook> {
    // The secret being replaced is the one receivers know now, whatever an earlier rotation left.
    Statement update(*db_,
                     "UPDATE webhooks SET old_secret = CASE WHEN ? > 0 THEN secret ELSE '' END, "
                     "old_secret_until = ?, secret = ? WHERE id = ?");
    update.bind(1, until).bind(2, until).bind(3, *secret).bind(4, id);
    if (update.step() != sql::kDone) {
      return failure(*db_);
    }
    if (update.changes() == 0) {
      return StoreError{StoreError::Kind::kNotFound, "no webhook " + std::to_string(id)};
    }
    return *webhook(id);
  });
}

StoreResult<bool> Store::deleteWebhook(int64_t id) {
  // ON DELETE CASCADE takes its outbox.
  return sql::deleteRow(*db_, "DELETE FROM webhooks WHERE id = ?", id);
}

std::optional<WebhookStatus> Store::webhookStatus(int64_t id) const {
  Statement s(*db_,
              "SELECT dropped, last_success, last_failure, last_error, "
              "(SELECT count(*) FROM webhook_outbox WHERE webhook_id = ?1 AND failed = 0), "
              "(SELECT count(*) FROM webhook_outbox WHERE webhook_id = ?1 AND failed = 1) "
              "FROM webhooks WHERE id = ?1");
  s.bind(1, id);
  if (s.step() != sql::kRow) {
    return std::nullopt;
  }
  WebhookStatus status;
  status.dropped = static_cast<uint64_t>(s.integer(0));
  status.lastSuccess = s.integer(1);
  status.lastFailure = s.integer(2);
  status.lastError = s.text(3);
  status.pending = static_cast<uint64_t>(s.integer(4));
  status.failed = static_cast<uint64_t>(s.integer(5));
  return status;
}

StoreResult<Enqueued> Store::enqueueEvent(int64_t tenantId,
                                          std::string_view type,
                                          std::string_view event,
                                          int64_t nowMs,
                                          std::size_t limit) {
  // Most events on most bridges have no webhook: one read, and no write transaction, for those.
  {
    Statement any(*db_, "SELECT 1 FROM webhooks WHERE tenant_id = ? OR tenant_id IS NULL LIMIT 1");
    any.bind(1, tenantId);
    const sql::Step rc = any.step();
    if (rc == sql::kDone) {
      return Enqueued{};
    }
    if (rc != sql::kRow) {
      return failure(*db_);
    }
  }
  return inTransaction<Enqueued>(*db_, [&]() -> StoreResult<Enqueued> {
    Enqueued out;
    // The tenant's webhooks and the operator's; an ad-hoc conference (tenant 0) has only the
    // operator's (tenant_id = 0 matches no row).
    Statement targets(*db_,
                      "SELECT id, events FROM webhooks WHERE tenant_id = ? OR tenant_id IS NULL "
                      "ORDER BY id");
    targets.bind(1, tenantId);
    std::vector<int64_t> ids;
    while (targets.step() == sql::kRow) {
      if (wants(targets.text(1), type)) {
        ids.push_back(targets.integer(0));
      }
    }
    for (int64_t id : ids) {
      // Room for one more: the oldest rows beyond limit - 1 go (failed ones are the oldest).
      Statement count(*db_, "SELECT count(*) FROM webhook_outbox WHERE webhook_id = ?");
      count.bind(1, id);
      const int64_t held = count.step() == sql::kRow ? count.integer(0) : 0;
      const int64_t excess = held - static_cast<int64_t>(limit) + 1;
      if (excess > 0) {
        Statement drop(*db_,
                       "DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM webhook_outbox "
                       "WHERE webhook_id = ? ORDER BY id LIMIT ?)");
        drop.bind(1, id).bind(2, excess);
        if (drop.step() != sql::kDone) {
          return failure(*db_);
        }
        Statement counted(*db_, "UPDATE webhooks SET dropped = dropped + ? WHERE id = ?");
        counted.bind(1, excess).bind(2, id);
        if (counted.step() != sql::kDone) {
          return failure(*db_);
        }
        out.dropped += static_cast<uint64_t>(excess);
      }
      Statement insert(*db_,
                       "INSERT INTO webhook_outbox (webhook_id, event, created, next_attempt) "
                       "VALUES (?, ?, ?, ?)");
      insert.bind(1, id).bind(2, event).bind(3, nowMs).bind(4, nowMs);
      if (insert.step() != sql::kDone) {
        return failure(*db_);
      }
      out.webhooks.push_back(id);
    }
    return out;
  });
}

std::vector<int64_t> Store::webhooksWithPending() const {
  Statement s(
      *db_, "SELECT DISTINCT webhook_id FROM webhook_outbox WHERE failed = 0 ORDER BY webhook_id");
  std::vector<int64_t> out;
  while (s.step() == sql::kRow) {
    out.push_back(s.integer(0));
  }
  return out;
}

StoreResult<bool> Store::claimDelivery(int64_t webhookId,
                                       std::string_view owner,
                                       int64_t nowMs,
                                       int64_t untilMs) {
  // One statement: the row's lock makes the check and the claim one step on either database.
  Statement claim(*db_,
                  "UPDATE webhooks SET lease_owner = ?1, lease_until = ?2 "
                  "WHERE id = ?3 AND (lease_owner = ?1 OR lease_until <= ?4)");
  claim.bind(1, owner).bind(2, untilMs).bind(3, webhookId).bind(4, nowMs);
  if (claim.step() != sql::kDone) {
    return failure(*db_);
  }
  return claim.changes() > 0;
}

StoreResult<bool> Store::releaseDelivery(int64_t webhookId, std::string_view owner) {
  Statement release(*db_, "UPDATE webhooks SET lease_until = 0 WHERE id = ? AND lease_owner = ?");
  release.bind(1, webhookId).bind(2, owner);
  if (release.step() != sql::kDone) {
    return failure(*db_);
  }
  return release.changes() > 0;
}

std::optional<OutboxEntry> Store::nextDelivery(int64_t webhookId) const {
  Statement s(*db_,
              "SELECT id, webhook_id, event, created, attempts, next_attempt FROM webhook_outbox "
              "WHERE webhook_id = ? AND failed = 0 ORDER BY id LIMIT 1");
  s.bind(1, webhookId);
  if (s.step() != sql::kRow) {
    return std::nullopt;
  }
  OutboxEntry e;
  e.id = s.integer(0);
  e.webhookId = s.integer(1);
  e.event = s.text(2);
  e.created = s.integer(3);
  e.attempts = static_cast<unsigned>(s.integer(4));
  e.nextAttempt = s.integer(5);
  return e;
}

StoreResult<bool> Store::markDelivered(int64_t entryId, int64_t nowMs) {
  return inTransaction<bool>(*db_, [&]() -> StoreResult<bool> {
    Statement success(*db_,
                      "UPDATE webhooks SET last_success = ? WHERE id = "
                      "(SELECT webhook_id FROM webhook_outbox WHERE id = ?)");
    success.bind(1, nowMs).bind(2, entryId);
    if (success.step() != sql::kDone) {
      return failure(*db_);
    }
    Statement gone(*db_, "DELETE FROM webhook_outbox WHERE id = ?");
    gone.bind(1, entryId);
    if (gone.step() != sql::kDone) {
      return failure(*db_);
    }
    return gone.changes() > 0;
  });
}

StoreResult<bool> Store::markFailed(int64_t entryId,
                                    std::string_view error,
                                    int64_t nowMs,
                                    std::optional<int64_t> nextAttemptMs) {
  const std::string text = clipped(error);
  return inTransaction<bool>(*db_, [&]() -> StoreResult<bool> {
    Statement status(*db_,
                     "UPDATE webhooks SET last_failure = ?, last_error = ? WHERE id = "
                     "(SELECT webhook_id FROM webhook_outbox WHERE id = ?)");
    status.bind(1, nowMs).bind(2, text).bind(3, entryId);
    if (status.step() != sql::kDone) {
      return failure(*db_);
    }
    Statement row(*db_,
                  "UPDATE webhook_outbox SET attempts = attempts + 1, last_error = ?, "
                  "next_attempt = ?, failed = ? WHERE id = ?");
    row.bind(1, text)
        .bind(2, nextAttemptMs.value_or(nowMs))
        .bind(3, int64_t{nextAttemptMs ? 0 : 1})
        .bind(4, entryId);
    if (row.step() != sql::kDone) {
      return failure(*db_);
    }
    return row.changes() > 0;
  });
}

}  // namespace confab::policy
