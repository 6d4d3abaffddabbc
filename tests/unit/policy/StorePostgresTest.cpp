// The policy store on a real PostgreSQL server (tests/postgres/run.sh starts one and sets
// CONFAB_TEST_POSTGRES; without it these tests are skipped): what several confab nodes sharing one
// database rely on. Each node is a Store of its own, on its own connection and thread, as in
// confab: they see each other's writes, take turns writing so that limits hold across them, start
// together on an empty database without tripping over each other, and outlive a dropped
// connection. StoreTest and StoreWebhooksTest run on this server too, for everything else.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "policy/Store.hpp"
#include "tests/unit/policy/ScratchStore.hpp"

namespace confab::policy {
namespace {

class StorePostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!scratch_.postgres()) {
      GTEST_SKIP() << "needs a PostgreSQL server: tests/postgres/run.sh sets CONFAB_TEST_POSTGRES";
    }
  }

  std::unique_ptr<Store> open() { return test::openStore(scratch_.location()); }
  template <class T>
  static T ok(StoreResult<T> r) {
    return test::ok(std::move(r));
  }

  test::ScratchStore scratch_;
};

TEST_F(StorePostgresTest, TwoNodesSeeEachOthersTenantsRoomsAndKeys) {
  auto a = open();
  auto b = open();
  ASSERT_TRUE(a && b);
  const Tenant acme = ok(a->createTenant(Tenant{0, "acme", 0, 0, true, {"acme.example"}}));
  // Node B routes a call to a domain node A just gave a tenant.
  auto found = b->tenantForDomain("ACME.example");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, acme.id);
  RoomChange change;
  change.room.tenantId = acme.id;
  change.room.user = "4000";
  change.room.name = "Board";
  change.moderatorPin = "8642";
  ok(b->createRoom(change));
  auto room = a->findRoom(acme.id, "4000");
  ASSERT_TRUE(room);
  EXPECT_EQ(room->name, "Board");
  EXPECT_EQ(a->checkPin(room->id, "8642"), Role::kModerator);
  // A key issued through one node's API opens the other's; revoked on one, it is refused on both.
  const IssuedApiKey key = ok(a->createApiKey(ApiKey{0, "ops", 0, false, 0}));
  ASSERT_TRUE(b->apiKeyForToken(key.token));
  EXPECT_TRUE(ok(b->deleteApiKey(key.key.id)));
  EXPECT_FALSE(a->apiKeyForToken(key.token));
}

// A tenant's room limit is checked inside the transaction that adds the room. Two nodes adding
// rooms at the same moment must not both pass the check: writers take turns (an advisory lock),
// as SQLite's one writer does on one node.
TEST_F(StorePostgresTest, ARoomLimitHoldsWhenTwoNodesAddRoomsAtOnce) {
  auto setup = open();
  ASSERT_TRUE(setup);
  constexpr unsigned kLimit = 5;
  const Tenant t = ok(setup->createTenant(Tenant{0, "limited", kLimit, 0, true, {}}));
  std::atomic<int> created{0};
  std::atomic<int> refused{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> nodes;
  for (int node = 0; node < 2; ++node) {
    nodes.emplace_back([&, node] {
      auto store = open();
      if (!store) {
        return;
      }
      while (!go) {
        std::this_thread::yield();
      }
      for (int i = 0; i < 8; ++i) {
        RoomChange change;
        change.room.tenantId = t.id;
        change.room.user = std::to_string(node * 100 + i);
        auto result = store->createRoom(change);
        if (std::holds_alternative<StoredRoom>(result)) {
          ++created;
        } else if (std::get<StoreError>(result).message.find("max-rooms") != std::string::npos) {
          ++refused;
        } else {
          ADD_FAILURE() << std::get<StoreError>(result).message;
        }
      }
    });
  }
  go = true;
  for (auto& n : nodes) {
    n.join();
  }
  EXPECT_EQ(created.load(), static_cast<int>(kLimit));
  EXPECT_EQ(refused.load(), 16 - static_cast<int>(kLimit));
  EXPECT_EQ(setup->rooms(t.id).size(), kLimit);
}

// Two nodes started at once on an empty database: one creates the tables and the default tenant,
// the other waits and finds them; both run with the same tenant.
TEST_F(StorePostgresTest, TwoNodesStartingTogetherOnAnEmptyDatabaseSeedItOnce) {
  std::vector<int64_t> seeded(3, 0);
  std::vector<std::thread> nodes;
  std::atomic<bool> go{false};
  for (std::size_t node = 0; node < seeded.size(); ++node) {
    nodes.emplace_back([&, node] {
      while (!go) {
        std::this_thread::yield();
      }
      auto store = open();
      if (!store) {
        return;
      }
      auto tenant = store->seedDefault({{"1000", "Main"}, {"2000", "Sales"}}, 50);
      if (auto* t = std::get_if<Tenant>(&tenant)) {
        seeded[node] = t->id;
      } else {
        ADD_FAILURE() << std::get<StoreError>(tenant).message;
      }
    });
  }
  go = true;
  for (auto& n : nodes) {
    n.join();
  }
  EXPECT_GT(seeded[0], 0);
  EXPECT_EQ(seeded[1], seeded[0]);
  EXPECT_EQ(seeded[2], seeded[0]);
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schemaVersion(), Store::kSchemaVersion);
  EXPECT_EQ(store->tenants().size(), 1u);
  EXPECT_EQ(store->rooms(seeded[0]).size(), 2u);
}

TEST_F(StorePostgresTest, ANewerSchemaIsRefusedUntouched) {
  ASSERT_TRUE(open());
  ASSERT_TRUE(scratch_.sql("UPDATE schema_version SET version = 99"));
  auto opened = Store::open(scratch_.location());
  ASSERT_TRUE(std::holds_alternative<StoreError>(opened));
  EXPECT_NE(std::get<StoreError>(opened).message.find("99"), std::string::npos);
}

// The server restarted, or a proxy or firewall dropped an idle connection: the next call opens a
// new one and goes through, rather than every later call failing.
TEST_F(StorePostgresTest, AConnectionTheServerDroppedIsOpenedAgain) {
  auto store = open();
  ASSERT_TRUE(store);
  ok(store->createTenant(Tenant{0, "before", 0, 0, true, {"before.example"}}));
  ASSERT_TRUE(scratch_.sql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
      "AND backend_type = 'client backend' AND datname = current_database()"));
  auto found = store->tenantForDomain("before.example");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "before");
  ASSERT_TRUE(scratch_.sql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
      "AND backend_type = 'client backend' AND datname = current_database()"));
  EXPECT_GT(ok(store->createTenant(Tenant{0, "after", 0, 0, true, {}})).id, 0);
  EXPECT_EQ(store->tenants().size(), 2u);
}

// PostgreSQL's text is UTF-8; a SIP phone may send a display name in Latin-1. The call's record
// is kept, its invalid bytes shown as U+FFFD, rather than lost.
TEST_F(StorePostgresTest, ARecordWithTextThatIsNotUtf8IsKept) {
  auto store = open();
  ASSERT_TRUE(store);
  CallRecord r;
  r.room = "4000";
  r.callId = "abc";
  r.entity = "sip:jose@example.com";
  r.displayName = std::string("Jos\xE9 \xC3\xA9") + '\0' + "x";
  r.role = "participant";
  r.joining = "dialed-in";
  r.joined = 1;
  r.left = 2;
  r.disconnection = "departed";
  r.quality = CallQuality{10, 1, 2, 0.25, 12.5, 40.125, 3};
  ASSERT_GT(ok(store->addCallRecord(r)), 0);
  const auto records = store->callRecords(RecordQuery{});
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].displayName, "Jos\xEF\xBF\xBD \xC3\xA9\xEF\xBF\xBDx");
  ASSERT_TRUE(records[0].quality);
  EXPECT_DOUBLE_EQ(records[0].quality->roundTripMs, 40.125);
  EXPECT_DOUBLE_EQ(records[0].quality->fractionLost, 0.25);
}

TEST_F(StorePostgresTest, EachCommitWaitsForTheServersFlush) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->flushesEachChange());
  EXPECT_TRUE(ok(store->flushEachChange(false)));
  EXPECT_TRUE(store->flushesEachChange()) << "never weaker than the server's durability";
}

// Needs no server: runs in every build.
TEST(StorePostgres, AServerThatIsNotThereIsAClearError) {
  auto opened = Store::open("postgresql:///confab?host=/nonexistent-confab-socket-dir");
  ASSERT_TRUE(std::holds_alternative<StoreError>(opened));
  const StoreError& e = std::get<StoreError>(opened);
  EXPECT_EQ(e.kind, StoreError::Kind::kIo);
  EXPECT_NE(e.message.find("cannot connect to PostgreSQL"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("nonexistent-confab-socket-dir"), std::string::npos) << e.message;
}

// A server that takes the connection and never answers (a hung host, a wrong port behind a
// firewall that accepts): opening fails after libpq's connect timeout, not TCP's minutes, so a
// node that starts, or reconnects, does not hang with it.
TEST(StorePostgres, AServerThatNeverAnswersIsGivenUpOnInSeconds) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const auto started = std::chrono::steady_clock::now();
  auto opened =
      Store::open("postgresql://confab@127.0.0.1:" + std::to_string(ntohs(address.sin_port)) +
                  "/confab?sslmode=disable");
  const auto took = std::chrono::steady_clock::now() - started;
  ::close(listener);
  ASSERT_TRUE(std::holds_alternative<StoreError>(opened));
  EXPECT_LT(took, std::chrono::seconds(10)) << "the connect timeout bounds the wait";
  EXPECT_NE(std::get<StoreError>(opened).message.find("cannot connect"), std::string::npos);
}

}  // namespace
}  // namespace confab::policy
