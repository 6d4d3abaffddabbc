// Webhooks and their outbox in the policy store (issue 13 item 3), on a real SQLite file or
// PostgreSQL server (ScratchStore): secrets made once, each event queued for the tenant's webhooks
// and the operator's in one transaction, delivered in order, retried, given up on, bounded, kept
// across a reopen, and gone with their webhook or tenant.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "policy/Store.hpp"
#include "tests/unit/policy/ScratchStore.hpp"

namespace confab::policy {
namespace {

class StoreWebhooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open();
    Tenant t;
    t.name = "acme";
    acme_ = ok(store_->createTenant(t)).id;
    t.name = "globex";
    globex_ = ok(store_->createTenant(t)).id;
  }
  void TearDown() override { store_.reset(); }

  std::unique_ptr<Store> open() { return test::openStore(path_); }
  template <class T>
  static T ok(StoreResult<T> r) {
    return test::ok(std::move(r));
  }
  Webhook hook(int64_t tenant, std::vector<std::string> events = {}) {
    Webhook spec;
    spec.tenantId = tenant;
    spec.url = "http://hooks.example.com/t" + std::to_string(tenant);
    spec.events = std::move(events);
    return ok(store_->createWebhook(spec));
  }

  test::ScratchStore scratch_;
  std::string path_ = scratch_.location();
  std::unique_ptr<Store> store_;
  int64_t acme_ = 0;
  int64_t globex_ = 0;
};

TEST_F(StoreWebhooksTest, AWebhookGetsASecretOnceAndIsListedByTenant) {
  const auto a = hook(acme_, {"participant.joined", "participant.left"});
  EXPECT_GT(a.id, 0);
  EXPECT_EQ(a.tenantId, acme_);
  EXPECT_EQ(a.secret.size(), 6U + 43U);
  EXPECT_TRUE(a.secret.starts_with("whsec_"));
  EXPECT_EQ(a.secret.find_first_not_of(
                "whsec_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_EQ(a.events, (std::vector<std::string>{"participant.joined", "participant.left"}));
  const auto b = hook(globex_);
  const auto mine = hook(0);
  EXPECT_NE(a.secret, b.secret);

  EXPECT_EQ(store_->webhooks().size(), 3U);
  ASSERT_EQ(store_->webhooks(acme_).size(), 1U);
  EXPECT_EQ(store_->webhooks(acme_)[0].url, a.url);
  ASSERT_EQ(store_->webhooks(0).size(), 1U);
  EXPECT_EQ(store_->webhooks(0)[0].id, mine.id);
  EXPECT_EQ(store_->webhook(b.id)->secret, b.secret);

  EXPECT_TRUE(ok(store_->deleteWebhook(b.id)));
  EXPECT_FALSE(ok(store_->deleteWebhook(b.id)));
  EXPECT_FALSE(store_->webhook(b.id));

  Webhook bad;
  bad.tenantId = 999;
  bad.url = "http://x.example/";
  auto refused = store_->createWebhook(bad);
  ASSERT_TRUE(std::holds_alternative<StoreError>(refused));
  EXPECT_EQ(std::get<StoreError>(refused).kind, StoreError::Kind::kNotFound);
  bad.tenantId = acme_;
  bad.url = std::string(2001, 'x');
  refused = store_->createWebhook(bad);
  ASSERT_TRUE(std::holds_alternative<StoreError>(refused));
  EXPECT_EQ(std::get<StoreError>(refused).kind, StoreError::Kind::kInvalid);
  EXPECT_TRUE(std::get<StoreError>(refused).message.starts_with("url"));
}

TEST_F(StoreWebhooksTest, AnEventIsQueuedForItsTenantsWebhooksAndTheOperatorsFilteredByType) {
  const auto a = hook(acme_);
  const auto aJoinsOnly = hook(acme_, {"participant.joined"});
  const auto g = hook(globex_);
  const auto op = hook(0);

  auto queued = ok(store_->enqueueEvent(acme_, "conference.started", R"({"n":1})", 1000));
  EXPECT_EQ(queued.webhooks, (std::vector<int64_t>{a.id, op.id}));
  queued = ok(store_->enqueueEvent(acme_, "participant.joined", R"({"n":2})", 1001));
  EXPECT_EQ(queued.webhooks, (std::vector<int64_t>{a.id, aJoinsOnly.id, op.id}));
  // An ad-hoc conference belongs to no tenant: the operator's webhook only.
  queued = ok(store_->enqueueEvent(0, "participant.joined", R"({"n":3})", 1002));
  EXPECT_EQ(queued.webhooks, (std::vector<int64_t>{op.id}));
  EXPECT_EQ(queued.dropped, 0U);

  EXPECT_EQ(store_->webhooksWithPending(), (std::vector<int64_t>{a.id, aJoinsOnly.id, op.id}));
  EXPECT_FALSE(store_->nextDelivery(g.id));
  // In order: the oldest first, until it is delivered.
  auto next = store_->nextDelivery(a.id);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->event, R"({"n":1})");
  EXPECT_EQ(next->created, 1000);
  EXPECT_EQ(next->nextAttempt, 1000);
  EXPECT_EQ(next->attempts, 0U);
  EXPECT_TRUE(ok(store_->markDelivered(next->id, 5000)));
  EXPECT_FALSE(ok(store_->markDelivered(next->id, 5000))) << "gone already";
  next = store_->nextDelivery(a.id);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->event, R"({"n":2})");
  auto status = store_->webhookStatus(a.id);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->pending, 1U);
  EXPECT_EQ(status->lastSuccess, 5000);

  // A failure keeps it first in line, with its next attempt and error.
  EXPECT_TRUE(ok(store_->markFailed(next->id, "HTTP 500", 6000, 7000)));
  auto again = store_->nextDelivery(a.id);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, next->id);
  EXPECT_EQ(again->attempts, 1U);
  EXPECT_EQ(again->nextAttempt, 7000);
  status = store_->webhookStatus(a.id);
  EXPECT_EQ(status->lastError, "HTTP 500");
  EXPECT_EQ(status->lastFailure, 6000);

  // Given up on: kept for inspection, no longer pending.
  EXPECT_TRUE(ok(store_->markFailed(next->id, "HTTP 503\r\nX: y", 8000, std::nullopt)));
  EXPECT_FALSE(store_->nextDelivery(a.id));
  status = store_->webhookStatus(a.id);
  EXPECT_EQ(status->pending, 0U);
  EXPECT_EQ(status->failed, 1U);
  EXPECT_EQ(status->lastError, "HTTP 503  X: y") << "no line breaks from a receiver";
  EXPECT_EQ(store_->webhooksWithPending(), (std::vector<int64_t>{aJoinsOnly.id, op.id}));
}

TEST_F(StoreWebhooksTest, QueuedEventsSurviveClosingTheStore) {
  const auto a = hook(acme_);
  ok(store_->enqueueEvent(acme_, "participant.left", R"({"bye":true})", 42));
  store_.reset();
  store_ = open();
  auto next = store_->nextDelivery(a.id);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->event, R"({"bye":true})");
  EXPECT_EQ(store_->webhook(a.id)->secret, a.secret);
}

TEST_F(StoreWebhooksTest, DeletingAWebhookOrItsTenantTakesItsOutbox) {
  const auto a = hook(acme_);
  const auto g = hook(globex_);
  ok(store_->enqueueEvent(acme_, "participant.left", "{}", 1));
  ok(store_->enqueueEvent(globex_, "participant.left", "{}", 1));
  const auto entry = store_->nextDelivery(a.id);
  ASSERT_TRUE(entry);
  EXPECT_TRUE(ok(store_->deleteWebhook(a.id)));
  EXPECT_FALSE(store_->nextDelivery(a.id));
  EXPECT_FALSE(ok(store_->markDelivered(entry->id, 2))) << "a delivery in flight finds it gone";
  EXPECT_TRUE(ok(store_->deleteTenant(globex_)));
  EXPECT_FALSE(store_->webhook(g.id));
  EXPECT_FALSE(store_->nextDelivery(g.id));
  EXPECT_TRUE(store_->webhooksWithPending().empty());
}

TEST_F(StoreWebhooksTest, AFullOutboxDropsItsOldestAndCountsThem) {
  const auto a = hook(acme_);
  const auto op = hook(0);
  uint64_t dropped = 0;
  for (int i = 1; i <= 5; ++i) {
    // The operator's webhook holds 3 as well: both are bounded.
    dropped +=
        ok(store_->enqueueEvent(acme_, "participant.joined", std::to_string(i), i, 3)).dropped;
  }
  EXPECT_EQ(dropped, 4U) << "two from each webhook";
  EXPECT_EQ(store_->webhookStatus(a.id)->pending, 3U);
  EXPECT_EQ(store_->webhookStatus(a.id)->dropped, 2U);
  EXPECT_EQ(store_->webhookStatus(op.id)->dropped, 2U);
  EXPECT_EQ(store_->nextDelivery(a.id)->event, "3") << "the oldest went";
}

// Several nodes on one store deliver from one outbox: one node at a time per webhook, so that
// each event goes once and in order; a crashed node's lease lapses and another takes over.
TEST_F(StoreWebhooksTest, OneNodeAtATimeDeliversAWebhooksEvents) {
  const Webhook w = hook(acme_);
  auto other = open();  // a second node's connection
  ASSERT_TRUE(other);
  EXPECT_TRUE(ok(store_->claimDelivery(w.id, "node-a", 1000, 31000)));
  EXPECT_FALSE(ok(other->claimDelivery(w.id, "node-b", 2000, 32000))) << "node a holds it";
  EXPECT_TRUE(ok(store_->claimDelivery(w.id, "node-a", 3000, 33000))) << "renewed by its owner";
  EXPECT_FALSE(ok(other->claimDelivery(w.id, "node-b", 32999, 62999)));
  // Node a stops renewing (it crashed): its lease lapses and node b takes over.
  EXPECT_TRUE(ok(other->claimDelivery(w.id, "node-b", 33000, 63000)));
  EXPECT_FALSE(ok(store_->claimDelivery(w.id, "node-a", 34000, 64000)));
  // Node b has nothing left to send: it lets go, and node a may deliver at once.
  EXPECT_FALSE(ok(store_->releaseDelivery(w.id, "node-a"))) << "not node a's to release";
  EXPECT_TRUE(ok(other->releaseDelivery(w.id, "node-b")));
  EXPECT_TRUE(ok(store_->claimDelivery(w.id, "node-a", 35000, 65000)));
  EXPECT_FALSE(ok(store_->claimDelivery(w.id + 1000, "node-a", 35000, 65000))) << "no such webhook";
}

}  // namespace
}  // namespace confab::policy
