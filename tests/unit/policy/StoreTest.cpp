// The policy store on a real SQLite file in a scratch folder, or on a real PostgreSQL server
// (tests/postgres/run.sh runs this binary again with CONFAB_TEST_POSTGRES set): schema and
// migrations, tenants by SIP domain, rooms with write-only PINs, constraints as errors naming what
// broke, and that everything survives closing and opening again. The tests that look at SQLite's
// file itself are SQLite's only; StorePostgresTest has PostgreSQL's own.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "policy/Store.hpp"
#include "tests/unit/policy/ScratchStore.hpp"

namespace confab::policy {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  [[nodiscard]] bool onPostgres() const { return scratch_.postgres(); }

  std::unique_ptr<Store> open() { return test::openStore(path_); }
  template <class T>
  static T ok(StoreResult<T> r) {
    return test::ok(std::move(r));
  }

  template <class T>
  static StoreError error(const StoreResult<T>& r) {
    if (const auto* e = std::get_if<StoreError>(&r)) {
      return *e;
    }
    ADD_FAILURE() << "expected an error";
    return StoreError{};
  }
  static RoomChange roomChange(int64_t tenantId, std::string user) {
    RoomChange c;
    c.room.tenantId = tenantId;
    c.room.user = std::move(user);
    c.room.name = c.room.user;
    return c;
  }

  test::ScratchStore scratch_;
  std::string path_ = scratch_.location();
};

// For a test of SQLite's file itself.
#define SQLITE_FILE_ONLY()                                                 \
  if (onPostgres()) {                                                      \
    GTEST_SKIP() << "about SQLite's file (PostgreSQL: StorePostgresTest)"; \
  }

TEST_F(StoreTest, ANewFileGetsTheSchemaInWalModeWithForeignKeys) {
  SQLITE_FILE_ONLY();
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schemaVersion(), Store::kSchemaVersion);
  store.reset();
  // What another tool opening the file sees.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0))), "wal");
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST_F(StoreTest, ANewerSchemaIsRefusedUntouched) {
  SQLITE_FILE_ONLY();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto opened = Store::open(path_);
  ASSERT_TRUE(std::holds_alternative<StoreError>(opened));
  EXPECT_NE(std::get<StoreError>(opened).message.find("99"), std::string::npos);
}

// Logs and error messages name the store; a password in a PostgreSQL URI stays out of them.
TEST(StoreLocation, APasswordInAUriIsNeverShown) {
  EXPECT_EQ(Store::shown("/var/lib/confab/policy.db"), "/var/lib/confab/policy.db");
  EXPECT_EQ(Store::shown("postgresql://confab:s3cret@db.example.com:5432/confab"),
            "postgresql://confab:***@db.example.com:5432/confab");
  EXPECT_EQ(Store::shown("postgres://confab@db.example.com/confab?password=s3cret&sslmode=require"),
            "postgres://confab@db.example.com/confab?password=***&sslmode=require");
  EXPECT_EQ(Store::shown("postgresql:///confab?host=/run/postgresql"),
            "postgresql:///confab?host=/run/postgresql");
  // An '@' in the query is not a user's.
  EXPECT_EQ(Store::shown("postgresql://db/confab?application_name=a:b@c"),
            "postgresql://db/confab?application_name=a:b@c");
  EXPECT_TRUE(Store::isPostgres("postgresql://db/confab"));
  EXPECT_TRUE(Store::isPostgres("postgres://db/confab"));
  EXPECT_FALSE(Store::isPostgres("./postgresql.db"));
}

TEST_F(StoreTest, GarbageIsAClearErrorNotACrash) {
  SQLITE_FILE_ONLY();
  std::ofstream(path_) << std::string(4096, 'x');
  auto opened = Store::open(path_);
  ASSERT_TRUE(std::holds_alternative<StoreError>(opened));
  EXPECT_FALSE(std::get<StoreError>(opened).message.empty());
}

TEST_F(StoreTest, TenantsAreFoundByTheirDomainsAndRoomsSurviveAReopen) {
  int64_t tenantId = 0;
  int64_t roomId = 0;
  {
    auto store = open();
    ASSERT_TRUE(store);
    Tenant acme;
    acme.name = "Acme";
    acme.maxRooms = 2;
    acme.domains = {"Conf.Acme.example", "acme.example"};
    const Tenant created = ok(store->createTenant(acme));
    tenantId = created.id;
    ASSERT_GT(tenantId, 0);
    RoomChange room;
    room.room.tenantId = tenantId;
    room.room.user = "4000";
    room.room.name = "Board";
    room.room.muteOnEntry = true;
    room.participantPin = "1234";
    room.moderatorPin = "98765";
    const StoredRoom stored = ok(store->createRoom(room));
    roomId = stored.id;
    EXPECT_TRUE(stored.hasParticipantPin && stored.hasModeratorPin);
  }
  auto store = open();
  ASSERT_TRUE(store);
  const auto byDomain = store->tenantForDomain("CONF.acme.EXAMPLE");
  ASSERT_TRUE(byDomain);
  EXPECT_EQ(byDomain->id, tenantId);
  EXPECT_EQ(byDomain->domains, (std::vector<std::string>{"acme.example", "conf.acme.example"}));
  EXPECT_FALSE(store->tenantForDomain("other.example"));
  const auto room = store->findRoom(tenantId, "4000");
  ASSERT_TRUE(room);
  EXPECT_EQ(room->id, roomId);
  EXPECT_EQ(room->name, "Board");
  EXPECT_TRUE(room->muteOnEntry);
  EXPECT_EQ(store->checkPin(roomId, "98765"), Role::kModerator);
  EXPECT_EQ(store->checkPin(roomId, "1234"), Role::kParticipant);
  EXPECT_FALSE(store->checkPin(roomId, "0000"));
  EXPECT_FALSE(store->checkPin(roomId + 100, "1234")) << "an unknown room";
}

// Store::together: a room and an Idempotency-Key answer are written both or neither, across a
// reopen; a change that fails inside it rolls back only itself (a savepoint), and the others stand.
TEST_F(StoreTest, ChangesMadeTogetherAreWrittenBothOrNeither) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    Tenant acme;
    acme.name = "acme";
    const int64_t tenant = ok(store->createTenant(acme)).id;
    ApiKey spec;
    spec.name = "organizer";
    spec.tenantId = tenant;
    const auto key = ok(store->createApiKey(spec)).key;

    const auto refused = store->together([&] {
      EXPECT_TRUE(std::holds_alternative<StoredRoom>(store->createRoom(roomChange(tenant, "100"))));
      return false;  // as when the answer could not be kept
    });
    EXPECT_EQ(error(refused).kind, StoreError::Kind::kInvalid);
    EXPECT_FALSE(store->findRoom(tenant, "100")) << "rolled back with the answer";

    const auto written = store->together([&] {
      EXPECT_TRUE(std::holds_alternative<StoredRoom>(store->createRoom(roomChange(tenant, "200"))));
      // A change that fails inside (a duplicate) undoes itself only.
      EXPECT_EQ(error(store->createRoom(roomChange(tenant, "200"))).kind,
                StoreError::Kind::kConflict);
      return std::holds_alternative<bool>(
          store->keepAnswer(key.id, "k1", Store::StoredAnswer{"hash", 201, "/v1/rooms/200", "{}"}));
    });
    EXPECT_TRUE(ok(written));
  }
  auto store = open();
  ASSERT_TRUE(store);
  const auto tenants = store->tenants();
  ASSERT_EQ(tenants.size(), 1U);
  EXPECT_TRUE(store->findRoom(tenants[0].id, "200"));
  EXPECT_FALSE(store->findRoom(tenants[0].id, "100"));
  EXPECT_EQ(store->rooms(tenants[0].id).size(), 1U);
  const auto keys = store->apiKeys();
  ASSERT_EQ(keys.size(), 1U);
  const auto kept = store->storedAnswer(keys[0].id, "k1");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->status, 201);
  EXPECT_EQ(kept->location, "/v1/rooms/200");
}

// store-sync full: each commit waits for the disk (power-loss safe); normal is the default.
TEST_F(StoreTest, FlushingEachChangeToTheDiskIsTheOperatorsChoice) {
  SQLITE_FILE_ONLY();
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->flushesEachChange());
  EXPECT_TRUE(ok(store->flushEachChange(true)));
  EXPECT_TRUE(store->flushesEachChange());
  Tenant t;
  t.name = "flushed";
  EXPECT_GT(ok(store->createTenant(t)).id, 0);
  EXPECT_TRUE(ok(store->flushEachChange(false)));
  EXPECT_FALSE(store->flushesEachChange());
}

TEST_F(StoreTest, PinsAreStoredOnlyAsSaltedHashes) {
  SQLITE_FILE_ONLY();
  auto store = open();
  ASSERT_TRUE(store);
  const Tenant t = ok(store->createTenant(Tenant{0, "T", 0, 0, true, {"t.example"}}));
  RoomChange a;
  a.room.tenantId = t.id;
  a.room.user = "1";
  a.room.name = "A";
  a.participantPin = "246810";
  RoomChange b = a;
  b.room.user = "2";
  ok(store->createRoom(a));
  ok(store->createRoom(b));
  store.reset();
  // Nothing in the file holds the PIN; the same PIN in two rooms hashes differently.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(db, "SELECT participant_pin FROM rooms ORDER BY user", -1, &s, nullptr),
      SQLITE_OK);
  std::vector<std::string> stored;
  while (sqlite3_step(s) == SQLITE_ROW) {
    stored.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  ASSERT_EQ(stored.size(), 2u);
  for (const auto& hash : stored) {
    EXPECT_EQ(hash.find("246810"), std::string::npos) << hash;
    EXPECT_EQ(hash.rfind("pbkdf2-sha256$", 0), 0u) << hash;
    EXPECT_TRUE(Store::pinMatches(hash, "246810"));
    EXPECT_FALSE(Store::pinMatches(hash, "246811"));
  }
  EXPECT_NE(stored[0], stored[1]) << "salted";
  EXPECT_FALSE(Store::pinMatches("pbkdf2-sha256$x$00$00", "1234")) << "a damaged hash";
  EXPECT_FALSE(Store::pinMatches("plain", "plain"));
}

TEST_F(StoreTest, ConstraintsComeBackAsErrorsNamingWhatBroke) {
  auto store = open();
  ASSERT_TRUE(store);
  const Tenant t = ok(store->createTenant(Tenant{0, "T", 1, 0, true, {"t.example"}}));
  // Another tenant cannot take a domain that is owned; nothing of it is kept.
  auto clash = store->createTenant(Tenant{0, "U", 0, 0, true, {"u.example", "T.example"}});
  ASSERT_TRUE(std::holds_alternative<StoreError>(clash));
  EXPECT_EQ(std::get<StoreError>(clash).kind, StoreError::Kind::kConflict);
  EXPECT_NE(std::get<StoreError>(clash).message.find("t.example"), std::string::npos);
  EXPECT_FALSE(store->tenantForDomain("u.example")) << "the failed tenant left nothing behind";
  RoomChange room;
  room.room.tenantId = t.id;
  room.room.user = "100";
  room.room.name = "R";
  ok(store->createRoom(room));
  // The tenant's room limit (1).
  room.room.user = "101";
  auto over = store->createRoom(room);
  ASSERT_TRUE(std::holds_alternative<StoreError>(over));
  EXPECT_EQ(std::get<StoreError>(over).kind, StoreError::Kind::kConflict);
  EXPECT_NE(std::get<StoreError>(over).message.find("max-rooms"), std::string::npos);
  // At the limit, a duplicate is still reported as the duplicate it is.
  room.room.user = "100";
  const StoreError duplicate = error(store->createRoom(room));
  EXPECT_NE(duplicate.message.find("room 100 already"), std::string::npos) << duplicate.message;
  room.room.user = "101";
  // A bad PIN, an unknown tenant.
  room.participantPin = "12a4";
  auto badPin = store->createRoom(room);
  ASSERT_TRUE(std::holds_alternative<StoreError>(badPin));
  EXPECT_NE(std::get<StoreError>(badPin).message.find("participantPin"), std::string::npos);
  room.participantPin.reset();
  room.room.tenantId = t.id + 50;
  auto noTenant = store->createRoom(room);
  ASSERT_TRUE(std::holds_alternative<StoreError>(noTenant));
  EXPECT_EQ(std::get<StoreError>(noTenant).kind, StoreError::Kind::kNotFound);
  EXPECT_EQ(store->rooms(t.id).size(), 1u);
}

TEST_F(StoreTest, UpdatesChangeRulesAndPinsAndDeletingATenantTakesItsRooms) {
  auto store = open();
  ASSERT_TRUE(store);
  const Tenant t = ok(store->createTenant(Tenant{0, "T", 0, 0, true, {"t.example"}}));
  RoomChange room;
  room.room.tenantId = t.id;
  room.room.user = "7";
  room.room.name = "Seven";
  StoredRoom stored = ok(store->createRoom(room));
  EXPECT_EQ(store->checkPin(stored.id, "anything"), Role::kParticipant) << "no PINs: everyone";
  RoomChange change;
  change.room = stored;
  change.room.locked = true;
  change.moderatorPin = "5555";
  stored = ok(store->updateRoom(change));
  EXPECT_TRUE(stored.locked);
  EXPECT_TRUE(stored.hasModeratorPin);
  EXPECT_EQ(store->checkPin(stored.id, "5555"), Role::kModerator);
  EXPECT_EQ(store->checkPin(stored.id, "1111"), Role::kParticipant)
      << "no participant PIN: anyone else is a participant";
  change.room = stored;
  change.moderatorPin = "";  // removed
  stored = ok(store->updateRoom(change));
  EXPECT_FALSE(stored.hasModeratorPin);
  EXPECT_TRUE(ok(store->deleteTenant(t.id)));
  EXPECT_FALSE(store->findRoom(t.id, "7")) << "ON DELETE CASCADE";
  EXPECT_FALSE(ok(store->deleteRoom(stored.id)));
}

TEST_F(StoreTest, TenantsAreListedByNameAndFoundByName) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->tenants().empty());
  const Tenant zeta = ok(store->createTenant(Tenant{0, "zeta", 3, 40, false, {"z.example"}}));
  const Tenant acme =
      ok(store->createTenant(Tenant{0, "acme", 0, 0, true, {"b.acme.example", "a.acme.example"}}));
  ok(store->createTenant(Tenant{0, "bare", 0, 0, true, {}}));
  const auto all = store->tenants();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "acme");
  EXPECT_EQ(all[0].id, acme.id);
  EXPECT_EQ(all[0].domains, (std::vector<std::string>{"a.acme.example", "b.acme.example"}));
  EXPECT_EQ(all[1].name, "bare");
  EXPECT_TRUE(all[1].domains.empty());
  EXPECT_EQ(all[2].name, "zeta");
  EXPECT_EQ(all[2].maxRooms, 3u);
  EXPECT_EQ(all[2].maxParticipants, 40u);
  EXPECT_FALSE(all[2].recordingAllowed);
  const auto byName = store->tenantByName("zeta");
  ASSERT_TRUE(byName);
  EXPECT_EQ(byName->id, zeta.id);
  EXPECT_EQ(byName->domains, (std::vector<std::string>{"z.example"}));
  EXPECT_FALSE(store->tenantByName("Zeta")) << "names are exact";
  EXPECT_FALSE(store->tenantByName("nobody"));
  // A second tenant of the same name, or a name no one could type, is refused.
  EXPECT_EQ(error(store->createTenant(Tenant{0, "acme", 0, 0, true, {}})).kind,
            StoreError::Kind::kConflict);
  EXPECT_EQ(error(store->createTenant(Tenant{0, "", 0, 0, true, {}})).kind,
            StoreError::Kind::kInvalid);
  EXPECT_EQ(error(store->createTenant(Tenant{0, "a\nb", 0, 0, true, {}})).kind,
            StoreError::Kind::kInvalid);
}

TEST_F(StoreTest, UpdateTenantReplacesNameLimitsAndDomainsAsAWhole) {
  auto store = open();
  ASSERT_TRUE(store);
  Tenant acme = ok(store->createTenant(Tenant{0, "acme", 0, 0, true, {"a.example", "b.example"}}));
  ok(store->createTenant(Tenant{0, "other", 0, 0, true, {"o.example"}}));
  ok(store->createRoom(roomChange(acme.id, "100")));
  Tenant changed = acme;
  changed.name = "acme-corp";
  changed.maxRooms = 5;
  changed.maxParticipants = 50;
  changed.recordingAllowed = false;
  changed.domains = {"C.example", "a.example"};
  const Tenant updated = ok(store->updateTenant(changed));
  EXPECT_EQ(updated.id, acme.id);
  EXPECT_EQ(updated.name, "acme-corp");
  EXPECT_EQ(updated.maxRooms, 5u);
  EXPECT_EQ(updated.maxParticipants, 50u);
  EXPECT_FALSE(updated.recordingAllowed);
  EXPECT_EQ(updated.domains, (std::vector<std::string>{"a.example", "c.example"}));
  EXPECT_FALSE(store->tenantForDomain("b.example")) << "the old list is gone";
  EXPECT_EQ(store->tenantForDomain("c.example")->id, acme.id);
  EXPECT_TRUE(store->findRoom(acme.id, "100")) << "the rooms stay";

  // A domain another tenant owns: an error naming both, and nothing of the change is kept.
  Tenant clash = updated;
  clash.name = "renamed";
  clash.domains = {"d.example", "o.example"};
  const StoreError e = error(store->updateTenant(clash));
  EXPECT_EQ(e.kind, StoreError::Kind::kConflict);
  EXPECT_NE(e.message.find("o.example"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("other"), std::string::npos) << e.message;
  const auto after = store->tenant(acme.id);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->name, "acme-corp");
  EXPECT_EQ(after->domains, (std::vector<std::string>{"a.example", "c.example"}));
  EXPECT_FALSE(store->tenantForDomain("d.example"));

  // Another tenant's name; an unknown id; an empty list of domains is allowed.
  Tenant sameName = updated;
  sameName.name = "other";
  EXPECT_EQ(error(store->updateTenant(sameName)).kind, StoreError::Kind::kConflict);
  Tenant unknown = updated;
  unknown.id = acme.id + 100;
  unknown.domains.clear();
  EXPECT_EQ(error(store->updateTenant(unknown)).kind, StoreError::Kind::kNotFound);
  Tenant noDomains = updated;
  noDomains.domains.clear();
  EXPECT_TRUE(ok(store->updateTenant(noDomains)).domains.empty());
  EXPECT_FALSE(store->tenantForDomain("a.example"));
}

TEST_F(StoreTest, TheWildcardTenantOwnsEveryDomainNoOtherTenantOwns) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->tenantForDomain("anything.example")) << "no wildcard: no tenant";
  const Tenant fallback = ok(store->createTenant(Tenant{0, "fallback", 0, 0, true, {"*"}}));
  const Tenant acme = ok(store->createTenant(Tenant{0, "acme", 0, 0, true, {"acme.example"}}));
  EXPECT_EQ(store->tenantForDomain("ACME.example")->id, acme.id) << "the exact owner first";
  EXPECT_EQ(store->tenantForDomain("other.example")->id, fallback.id);
  EXPECT_EQ(store->tenantForDomain("192.0.2.7")->id, fallback.id);
  EXPECT_EQ(store->tenantForDomain("not a domain")->id, fallback.id);
  EXPECT_EQ(store->tenantForDomain("")->id, fallback.id);
  // One wildcard owner at a time.
  const StoreError e = error(store->createTenant(Tenant{0, "second", 0, 0, true, {"*"}}));
  EXPECT_EQ(e.kind, StoreError::Kind::kConflict);
  EXPECT_NE(e.message.find("fallback"), std::string::npos) << e.message;
  // Taking the wildcard away leaves only exact owners.
  Tenant without = fallback;
  without.domains = {"fallback.example"};
  ok(store->updateTenant(without));
  EXPECT_FALSE(store->tenantForDomain("other.example"));
  EXPECT_EQ(store->tenantForDomain("acme.example")->id, acme.id);
}

// A call's lookup in one query finds what the two steps (the domain's tenant, then its room)
// find: the exact owner's room, else nothing, never the wildcard tenant's room of that number.
TEST_F(StoreTest, ACallFindsItsRoomInOneQueryAsTheTwoStepsWould) {
  auto store = open();
  ASSERT_TRUE(store);
  const Tenant fallback = ok(store->createTenant(Tenant{0, "fallback", 0, 0, true, {"*"}}));
  const Tenant acme = ok(store->createTenant(Tenant{0, "acme", 0, 7, false, {"acme.example"}}));
  ok(store->createRoom(roomChange(fallback.id, "100")));
  RoomChange board = roomChange(acme.id, "200");
  board.room.name = "Board";
  board.room.locked = true;
  board.participantPin = "1234";
  ok(store->createRoom(board));

  const auto found = store->findRoomForCall("ACME.example", "200");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->room.name, "Board");
  EXPECT_TRUE(found->room.locked);
  EXPECT_TRUE(found->room.hasParticipantPin);
  EXPECT_FALSE(found->room.hasModeratorPin);
  EXPECT_EQ(found->tenant.id, acme.id);
  EXPECT_EQ(found->tenant.name, "acme");
  EXPECT_EQ(found->tenant.maxParticipants, 7U);
  EXPECT_FALSE(found->tenant.recordingAllowed);
  const auto viaFallback = store->findRoomForCall("other.example", "100");
  ASSERT_TRUE(viaFallback);
  EXPECT_EQ(viaFallback->tenant.id, fallback.id);
  EXPECT_EQ(viaFallback->tenant.name, "fallback");
  EXPECT_TRUE(viaFallback->tenant.recordingAllowed);
  EXPECT_FALSE(store->findRoomForCall("acme.example", "100")) << "the exact owner has no 100";
  EXPECT_FALSE(store->findRoomForCall("other.example", "200")) << "200 is acme's";
  EXPECT_FALSE(store->findRoomForCall("other.example", "999"));
  // The same answers as the two steps, room for room.
  for (const auto& [domain, user] : {std::pair{"acme.example", "200"}, {"acme.example", "100"},
                                     {"other.example", "100"}, {"192.0.2.7", "100"}}) {
    const auto tenant = store->tenantForDomain(domain);
    const auto stepwise = tenant ? store->findRoom(tenant->id, user) : std::nullopt;
    const auto once = store->findRoomForCall(domain, user);
    ASSERT_EQ(once.has_value(), stepwise.has_value()) << domain << " " << user;
    if (once) {
      EXPECT_EQ(once->room.id, stepwise->id);
      EXPECT_EQ(once->tenant.id, tenant->id);
    }
  }
}

TEST_F(StoreTest, DomainsAreValidatedAndStoredInOneSpelling) {
  auto store = open();
  ASSERT_TRUE(store);
  const Tenant t = ok(store->createTenant(Tenant{
      0, "T", 0, 0, true, {"Conf.Example.COM", "[2001:DB8:0:0::1]", "192.0.2.1", "localhost"}}));
  EXPECT_EQ(t.domains, (std::vector<std::string>{"192.0.2.1", "2001:db8::1", "conf.example.com",
                                                 "localhost"}));
  // Any spelling of an IPv6 address finds its owner.
  for (const char* spelling : {"2001:db8::1", "[2001:db8::1]", "2001:0DB8::0:1"}) {
    const auto found = store->tenantForDomain(spelling);
    ASSERT_TRUE(found) << spelling;
    EXPECT_EQ(found->id, t.id) << spelling;
  }
  for (const char* bad :
       {"bad_domain.example", "*.example.com", "a..example", "-a.example", "a-.example", "example.",
        ".example", "300.1.2.3", "1.2.3", "", "[::g]", "[192.0.2.1]", "foo:bar", "a b.example"}) {
    const StoreError e =
        error(store->createTenant(Tenant{0, "U", 0, 0, true, {"ok.example", bad}}));
    EXPECT_EQ(e.kind, StoreError::Kind::kInvalid) << bad;
    EXPECT_NE(e.message.find("\"" + std::string(bad) + "\""), std::string::npos) << e.message;
    EXPECT_FALSE(store->tenantForDomain("ok.example")) << "nothing kept after " << bad;
  }
  const std::string longLabel(64, 'a');
  EXPECT_EQ(error(store->createTenant(Tenant{0, "U", 0, 0, true, {longLabel + ".example"}})).kind,
            StoreError::Kind::kInvalid);
  const StoreError twice =
      error(store->createTenant(Tenant{0, "U", 0, 0, true, {"x.example", "X.EXAMPLE"}}));
  EXPECT_EQ(twice.kind, StoreError::Kind::kInvalid);
  EXPECT_NE(twice.message.find("twice"), std::string::npos) << twice.message;
  Tenant bad = t;
  bad.domains = {"good.example", "bad_one"};
  EXPECT_NE(error(store->updateTenant(bad)).message.find("bad_one"), std::string::npos);
  EXPECT_EQ(store->tenant(t.id)->domains.size(), 4u) << "an invalid update changes nothing";
}

TEST_F(StoreTest, SeedDefaultCreatesTheDefaultTenantOnFirstStartOnly) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    const Tenant seeded = ok(store->seedDefault({{"1000", "1000"}, {"lobby", "Lobby"}}, 8));
    EXPECT_EQ(seeded.name, "default");
    EXPECT_EQ(seeded.domains, (std::vector<std::string>{"*"}));
    const auto rooms = store->rooms(seeded.id);
    ASSERT_EQ(rooms.size(), 2u);
    EXPECT_EQ(rooms[0].user, "1000");
    EXPECT_EQ(rooms[1].user, "lobby");
    EXPECT_EQ(rooms[1].name, "Lobby");
    EXPECT_EQ(rooms[1].maxParticipants, 8u);
    EXPECT_FALSE(rooms[1].hasParticipantPin);
    EXPECT_EQ(store->tenantForDomain("any.example")->id, seeded.id);
    // The operator changes things; a restart must not undo them.
    ok(store->deleteRoom(rooms[0].id));
    RoomChange extra = roomChange(seeded.id, "2000");
    ok(store->createRoom(extra));
  }
  auto store = open();
  ASSERT_TRUE(store);
  const Tenant again =
      ok(store->seedDefault({{"1000", "1000"}, {"lobby", "Lobby"}, {"9", "9"}}, 3));
  EXPECT_EQ(again.name, "default");
  std::vector<std::string> users;
  for (const auto& r : store->rooms(again.id)) {
    users.push_back(r.user);
    if (r.user == "lobby") {
      EXPECT_EQ(r.maxParticipants, 8u) << "untouched";
    }
  }
  EXPECT_EQ(users, (std::vector<std::string>{"2000", "lobby"}));
  EXPECT_EQ(store->tenants().size(), 1u);
}

TEST_F(StoreTest, SeedDefaultLeavesAStoreWithOtherTenantsAlone) {
  auto store = open();
  ASSERT_TRUE(store);
  ok(store->createTenant(Tenant{0, "acme", 0, 0, true, {"acme.example"}}));
  const StoreError e = error(store->seedDefault({{"1000", "1000"}}, 0));
  EXPECT_EQ(e.kind, StoreError::Kind::kNotFound);
  EXPECT_NE(e.message.find("default"), std::string::npos) << e.message;
  EXPECT_EQ(store->tenants().size(), 1u);
  EXPECT_FALSE(store->tenantForDomain("other.example")) << "no wildcard was added";
}

TEST_F(StoreTest, SeedDefaultIsOneTransaction) {
  auto store = open();
  ASSERT_TRUE(store);
  // A room no caller could dial: nothing at all is created.
  const StoreError e = error(store->seedDefault({{"1000", "1000"}, {"bad room", "x"}}, 0));
  EXPECT_EQ(e.kind, StoreError::Kind::kInvalid);
  EXPECT_NE(e.message.find("bad room"), std::string::npos) << e.message;
  EXPECT_TRUE(store->tenants().empty());
  // Two rooms with one user part: the second fails inside the transaction, which rolls back.
  const StoreError twice = error(store->seedDefault({{"1000", "a"}, {"1000", "b"}}, 0));
  EXPECT_EQ(twice.kind, StoreError::Kind::kConflict);
  EXPECT_TRUE(store->tenants().empty());
  EXPECT_EQ(ok(store->seedDefault({}, 0)).name, "default") << "no rooms is fine";
}

TEST_F(StoreTest, ARoomIsFoundByIdAndItsFieldsAreChecked) {
  auto store = open();
  ASSERT_TRUE(store);
  const Tenant t = ok(store->createTenant(Tenant{0, "T", 0, 0, true, {}}));
  RoomChange change = roomChange(t.id, "board");
  change.room.language = "pt-BR";
  change.room.announceCount = true;
  const StoredRoom created = ok(store->createRoom(change));
  const auto byId = store->room(created.id);
  ASSERT_TRUE(byId);
  EXPECT_EQ(byId->user, "board");
  EXPECT_EQ(byId->language, "pt-BR");
  EXPECT_TRUE(byId->announceCount);
  EXPECT_FALSE(store->room(created.id + 1));
  RoomChange bad = roomChange(t.id, "a b");
  EXPECT_NE(error(store->createRoom(bad)).message.find("user"), std::string::npos);
  bad = roomChange(t.id, "ok");
  bad.room.language = "en us";
  EXPECT_NE(error(store->createRoom(bad)).message.find("language"), std::string::npos);
  bad.room.language = "en";
  bad.room.name = "tab\there";
  EXPECT_EQ(error(store->createRoom(bad)).kind, StoreError::Kind::kInvalid);
  EXPECT_EQ(store->rooms(t.id).size(), 1u);
}

TEST_F(StoreTest, AWriterWaitsForAnotherConnectionsWriteInsteadOfFailing) {
  SQLITE_FILE_ONLY();
  auto store = open();
  ASSERT_TRUE(store);
  // Another process (the server, or the operator's tool) holds the write lock for a moment.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE; INSERT INTO tenants (name) VALUES ('first');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  std::thread release([other] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
  });
  const auto started = std::chrono::steady_clock::now();
  const Tenant second = ok(store->createTenant(Tenant{0, "second", 0, 0, true, {}}));
  const auto waited = std::chrono::steady_clock::now() - started;
  release.join();
  sqlite3_close(other);
  EXPECT_GT(second.id, 0);
  EXPECT_GE(waited, std::chrono::milliseconds(200));
  EXPECT_EQ(store->tenants().size(), 2u);
}

// The schema of version 1, as that confab wrote it: rooms had no listener PIN.
constexpr const char* kSchemaV1 = R"(CREATE TABLE tenants (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 128),
    max_rooms INTEGER NOT NULL DEFAULT 0 CHECK (max_rooms >= 0),
    max_participants INTEGER NOT NULL DEFAULT 0 CHECK (max_participants >= 0),
    recording_allowed INTEGER NOT NULL DEFAULT 1);
  CREATE TABLE tenant_domains (
    domain TEXT PRIMARY KEY CHECK (domain = lower(domain) AND length(domain) >= 1),
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE);
  CREATE INDEX tenant_domains_by_tenant ON tenant_domains(tenant_id);
  CREATE TABLE rooms (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user TEXT NOT NULL CHECK (length(user) BETWEEN 1 AND 64),
    name TEXT NOT NULL,
    participant_pin TEXT,
    moderator_pin TEXT,
    max_participants INTEGER NOT NULL DEFAULT 0 CHECK (max_participants >= 0),
    mute_on_entry INTEGER NOT NULL DEFAULT 0,
    wait_for_moderator INTEGER NOT NULL DEFAULT 0,
    end_when_last_moderator_leaves INTEGER NOT NULL DEFAULT 0,
    entry_exit_tones INTEGER NOT NULL DEFAULT 1,
    announce_count INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0,
    language TEXT NOT NULL DEFAULT 'en',
    UNIQUE (tenant_id, user));
  PRAGMA user_version=1;)";

int userVersion(const std::string& path) {
  sqlite3* db = nullptr;
  int version = -1;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      version = sqlite3_column_int(s, 0);
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return version;
}

TEST_F(StoreTest, AVersionOneFileIsMigratedKeepingItsRoomsAndPins) {
  SQLITE_FILE_ONLY();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, kSchemaV1, nullptr, nullptr, nullptr), SQLITE_OK);
    const std::string rows =
        "INSERT INTO tenants (id, name) VALUES (1, 'acme');"
        "INSERT INTO tenant_domains (domain, tenant_id) VALUES ('acme.example', 1);"
        "INSERT INTO rooms (id, tenant_id, user, name, participant_pin, moderator_pin, "
        "mute_on_entry) VALUES (10, 1, '4000', 'Board', '" +
        Store::hashPin("1234") + "', '" + Store::hashPin("98765") +
        "', 1);"
        "INSERT INTO rooms (id, tenant_id, user, name) VALUES (11, 1, 'lobby', 'Lobby');";
    ASSERT_EQ(sqlite3_exec(db, rows.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  ASSERT_EQ(userVersion(path_), 1);
  {
    auto store = open();
    ASSERT_TRUE(store);
    EXPECT_EQ(store->schemaVersion(), Store::kSchemaVersion);
    const auto board = store->findRoom(1, "4000");
    ASSERT_TRUE(board);
    EXPECT_EQ(board->id, 10);
    EXPECT_EQ(board->name, "Board");
    EXPECT_TRUE(board->muteOnEntry);
    EXPECT_TRUE(board->hasParticipantPin && board->hasModeratorPin);
    EXPECT_FALSE(board->hasListenerPin) << "no room had one";
    // Version 3's rules come with their defaults: roster for participants, moderators invite.
    EXPECT_FALSE(board->publicRoster);
    EXPECT_FALSE(board->participantsInvite);
    EXPECT_EQ(store->checkPin(10, "98765"), Role::kModerator);
    EXPECT_EQ(store->checkPin(10, "1234"), Role::kParticipant);
    EXPECT_FALSE(store->checkPin(10, "5555"));
    EXPECT_EQ(store->checkPin(11, "5555"), Role::kParticipant) << "no PINs: everyone";
    EXPECT_EQ(store->tenantForDomain("acme.example")->id, 1);
    // The new column takes a PIN.
    RoomChange change;
    change.room = *board;
    change.listenerPin = "5555";
    EXPECT_TRUE(ok(store->updateRoom(change)).hasListenerPin);
    EXPECT_EQ(store->checkPin(10, "5555"), Role::kListener);
    // And the version 3 columns take the rules.
    change.room.publicRoster = true;
    change.room.participantsInvite = true;
    change.listenerPin.reset();
    const auto updated = ok(store->updateRoom(change));
    EXPECT_TRUE(updated.publicRoster && updated.participantsInvite);
  }
  EXPECT_EQ(userVersion(path_), Store::kSchemaVersion);
  auto again = open();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->checkPin(10, "5555"), Role::kListener) << "opening a migrated file again";
  EXPECT_TRUE(again->findRoom(1, "4000")->participantsInvite);
  EXPECT_EQ(again->rooms(1).size(), 2u);
  // Version 4: the tenant has no dial-out account until one is set, then keeps it.
  EXPECT_FALSE(again->dialOutAccount(1));
  EXPECT_TRUE(ok(again->setDialOutAccount(1, SipAccount{"acme-bridge", "pw", ""})));
  EXPECT_EQ(again->tenant(1)->dialOutUser, "acme-bridge");
}

TEST_F(StoreTest, EachTenantHasItsOwnDialOutAccountShownWithoutItsPassword) {
  auto store = open();
  ASSERT_TRUE(store);
  Tenant a;
  a.name = "acme";
  a.domains = {"acme.example"};
  Tenant b;
  b.name = "globex";
  b.domains = {"globex.example"};
  const Tenant acme = ok(store->createTenant(a));
  const Tenant globex = ok(store->createTenant(b));
  EXPECT_TRUE(ok(store->setDialOutAccount(acme.id, SipAccount{"acme-conf", "s3cret:x", ""})));
  EXPECT_TRUE(
      ok(store->setDialOutAccount(globex.id, SipAccount{"gx", "other", "pbx.globex.example"})));
  store.reset();

  auto again = open();
  ASSERT_TRUE(again);
  const auto acmeAccount = again->dialOutAccount(acme.id);
  ASSERT_TRUE(acmeAccount);
  EXPECT_EQ(acmeAccount->username, "acme-conf");
  EXPECT_EQ(acmeAccount->password, "s3cret:x");
  EXPECT_EQ(acmeAccount->realm, "");
  EXPECT_EQ(again->dialOutAccount(globex.id)->realm, "pbx.globex.example");
  // Listings show whose account it is, never the password.
  EXPECT_EQ(again->tenant(acme.id)->dialOutUser, "acme-conf");
  const auto all = again->tenants();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].dialOutUser, "gx");
  EXPECT_EQ(all[1].dialOutRealm, "pbx.globex.example");
  // Changing the tenant's limits leaves its account alone; replacing and removing it work.
  Tenant changed = *again->tenant(acme.id);
  changed.maxRooms = 5;
  ok(again->updateTenant(changed));
  EXPECT_EQ(again->dialOutAccount(acme.id)->username, "acme-conf");
  EXPECT_TRUE(ok(again->setDialOutAccount(acme.id, SipAccount{"acme2", "pw2", ""})));
  EXPECT_EQ(again->dialOutAccount(acme.id)->password, "pw2");
  EXPECT_TRUE(ok(again->setDialOutAccount(acme.id, std::nullopt)));
  EXPECT_FALSE(again->dialOutAccount(acme.id));
  EXPECT_EQ(again->tenant(acme.id)->dialOutUser, "");
  // Bad accounts are refused naming the field, without echoing the password.
  StoreError e = error(again->setDialOutAccount(acme.id, SipAccount{"", "pw", ""}));
  EXPECT_EQ(e.kind, StoreError::Kind::kInvalid);
  EXPECT_NE(e.message.find("dialOutUser"), std::string::npos) << e.message;
  e = error(again->setDialOutAccount(acme.id, SipAccount{"u", "pw\r\nX-Evil: 1", ""}));
  EXPECT_NE(e.message.find("dialOutPassword"), std::string::npos) << e.message;
  EXPECT_EQ(e.message.find("X-Evil"), std::string::npos) << "the password is not echoed";
  e = error(again->setDialOutAccount(acme.id, SipAccount{"u", std::string(257, 'p'), ""}));
  EXPECT_NE(e.message.find("dialOutPassword"), std::string::npos) << e.message;
  e = error(again->setDialOutAccount(9999, SipAccount{"u", "p", ""}));
  EXPECT_EQ(e.kind, StoreError::Kind::kNotFound);
  // A tenant's account goes with the tenant.
  ok(again->deleteTenant(globex.id));
  EXPECT_FALSE(again->dialOutAccount(globex.id));
}

TEST_F(StoreTest, ApiKeysAreIssuedOnceKeptAsHashesFoundByTokenAndRevoked) {
  auto store = open();
  ASSERT_TRUE(store);
  Tenant t;
  t.name = "acme";
  const Tenant acme = ok(store->createTenant(t));
  const IssuedApiKey op = ok(store->createApiKey(ApiKey{0, "ops", 0, false, 0}));
  ApiKey spec;
  spec.name = "acme reader";
  spec.tenantId = acme.id;
  spec.readOnly = true;
  const IssuedApiKey reader = ok(store->createApiKey(spec));
  // 256 random bits in base64url after the prefix; two keys never share a token.
  EXPECT_EQ(op.token.size(), std::string("confab_").size() + 43);
  EXPECT_TRUE(op.token.starts_with("confab_"));
  EXPECT_NE(op.token, reader.token);
  EXPECT_EQ(op.token.find_first_not_of(
                "confab_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-"),
            std::string::npos);
  EXPECT_GT(op.key.created, 1700000000);
  store.reset();

  // What the file holds: hashes, never a token.
  if (!onPostgres()) {
    std::ifstream in(path_, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ifstream wal(path_ + "-wal", std::ios::binary);
    const std::string walBytes((std::istreambuf_iterator<char>(wal)),
                               std::istreambuf_iterator<char>());
    for (const auto& token : {op.token, reader.token}) {
      EXPECT_EQ(bytes.find(token.substr(7)), std::string::npos);
      EXPECT_EQ(walBytes.find(token.substr(7)), std::string::npos);
    }
  }
  auto again = open();
  ASSERT_TRUE(again);
  const auto found = again->apiKeyForToken(reader.token);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, reader.key.id);
  EXPECT_EQ(found->tenantId, acme.id);
  EXPECT_TRUE(found->readOnly);
  EXPECT_EQ(found->name, "acme reader");
  EXPECT_EQ(again->apiKeyForToken(op.token)->tenantId, 0);
  // Anything else is no key: a changed character, a truncation, garbage, a huge header.
  std::string flipped = reader.token;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(again->apiKeyForToken(flipped));
  EXPECT_FALSE(again->apiKeyForToken(reader.token.substr(0, 20)));
  EXPECT_FALSE(again->apiKeyForToken(""));
  EXPECT_FALSE(again->apiKeyForToken(std::string(1 << 20, 'c')));
  EXPECT_EQ(again->apiKeys().size(), 2u);
  EXPECT_EQ(again->apiKeys(0).size(), 1u) << "the operator's";
  EXPECT_EQ(again->apiKeys(acme.id).size(), 1u);
  // Revoked: gone at once.
  EXPECT_TRUE(ok(again->deleteApiKey(reader.key.id)));
  EXPECT_FALSE(again->apiKeyForToken(reader.token));
  EXPECT_FALSE(ok(again->deleteApiKey(reader.key.id))) << "already gone";
  // Refusals.
  EXPECT_EQ(error(again->createApiKey(ApiKey{0, "x", 9999, false, 0})).kind,
            StoreError::Kind::kNotFound);
  EXPECT_EQ(error(again->createApiKey(ApiKey{0, "a\nb", 0, false, 0})).kind,
            StoreError::Kind::kInvalid);
  // A tenant's keys go with it.
  const IssuedApiKey writer = ok(again->createApiKey(ApiKey{0, "w", acme.id, false, 0}));
  ok(again->deleteTenant(acme.id));
  EXPECT_FALSE(again->apiKeyForToken(writer.token));
  EXPECT_TRUE(again->apiKeyForToken(op.token));
}

TEST_F(StoreTest, ANewStoreFileIsReadableByItsOwnerOnly) {
  SQLITE_FILE_ONLY();
  auto store = open();
  ASSERT_TRUE(store);
  const auto perms = std::filesystem::status(path_).permissions();
  using std::filesystem::perms;
  EXPECT_EQ(perms & (perms::group_all | perms::others_all), perms::none)
      << "it holds dial-out passwords";
}

TEST_F(StoreTest, AMigrationThatFailsLeavesTheFileAtItsVersion) {
  SQLITE_FILE_ONLY();
  {
    // Version 1 by its number, but without the rooms table the next migration alters.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE other (x); PRAGMA user_version=1;", nullptr, nullptr,
                           nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  const StoreError e = error(Store::open(path_));
  EXPECT_NE(e.message.find("rooms"), std::string::npos) << e.message;
  EXPECT_EQ(userVersion(path_), 1) << "the version bump went with the failed migration";
}

TEST_F(StoreTest, EachPinGivesItsRole) {
  auto store = open();
  ASSERT_TRUE(store);
  const Tenant t = ok(store->createTenant(Tenant{0, "T", 0, 0, true, {}}));
  RoomChange change = roomChange(t.id, "100");
  change.participantPin = "1111";
  change.moderatorPin = "2222";
  change.listenerPin = "3333";
  StoredRoom room = ok(store->createRoom(change));
  EXPECT_TRUE(room.hasParticipantPin && room.hasModeratorPin && room.hasListenerPin);
  EXPECT_EQ(store->checkPin(room.id, "1111"), Role::kParticipant);
  EXPECT_EQ(store->checkPin(room.id, "2222"), Role::kModerator);
  EXPECT_EQ(store->checkPin(room.id, "3333"), Role::kListener);
  EXPECT_FALSE(store->checkPin(room.id, "4444"));
  EXPECT_FALSE(store->checkPin(room.id, ""));
  // Without a participant PIN anyone else is a participant; the listener PIN still gives its role.
  change = RoomChange{};
  change.room = room;
  change.participantPin = "";
  room = ok(store->updateRoom(change));
  EXPECT_FALSE(room.hasParticipantPin);
  EXPECT_TRUE(room.hasListenerPin) << "untouched";
  EXPECT_EQ(store->checkPin(room.id, "4444"), Role::kParticipant);
  EXPECT_EQ(store->checkPin(room.id, "3333"), Role::kListener);
  EXPECT_EQ(store->checkPin(room.id, "2222"), Role::kModerator);
  // Removed, the listener PIN is just another caller's digits.
  change = RoomChange{};
  change.room = room;
  change.listenerPin = "";
  room = ok(store->updateRoom(change));
  EXPECT_FALSE(room.hasListenerPin);
  EXPECT_EQ(store->checkPin(room.id, "3333"), Role::kParticipant);
  // A listener PIN alone.
  RoomChange only = roomChange(t.id, "200");
  only.listenerPin = "12345678";
  const StoredRoom listenOnly = ok(store->createRoom(only));
  EXPECT_EQ(store->checkPin(listenOnly.id, "12345678"), Role::kListener);
  EXPECT_EQ(store->checkPin(listenOnly.id, "1"), Role::kParticipant);
  // Checked like the others.
  only = roomChange(t.id, "300");
  only.listenerPin = "12x4";
  EXPECT_NE(error(store->createRoom(only)).message.find("listenerPin"), std::string::npos);
}

TEST_F(StoreTest, TwoPinsOfARoomAreNeverTheSame) {
  auto store = open();
  ASSERT_TRUE(store);
  const Tenant t = ok(store->createTenant(Tenant{0, "T", 0, 0, true, {}}));
  const auto refusedNaming = [&](const StoreResult<StoredRoom>& r, const char* a, const char* b) {
    const StoreError e = error(r);
    EXPECT_EQ(e.kind, StoreError::Kind::kInvalid);
    EXPECT_NE(e.message.find(a), std::string::npos) << e.message;
    EXPECT_NE(e.message.find(b), std::string::npos) << e.message;
    for (const char* pin : {"1111", "2222", "3333"}) {
      EXPECT_EQ(e.message.find(pin), std::string::npos) << "no PIN in " << e.message;
    }
  };
  // Within one change.
  RoomChange change = roomChange(t.id, "100");
  change.moderatorPin = "2222";
  change.listenerPin = "2222";
  refusedNaming(store->createRoom(change), "moderatorPin", "listenerPin");
  EXPECT_FALSE(store->findRoom(t.id, "100")) << "nothing created";
  change.listenerPin.reset();
  change.participantPin = "2222";
  refusedNaming(store->createRoom(change), "participantPin", "moderatorPin");
  change.participantPin = "1111";
  StoredRoom room = ok(store->createRoom(change));

  // Against a PIN the room keeps.
  change = RoomChange{};
  change.room = room;
  change.listenerPin = "1111";
  refusedNaming(store->updateRoom(change), "listenerPin", "participantPin");
  change.listenerPin = "2222";
  refusedNaming(store->updateRoom(change), "listenerPin", "moderatorPin");
  EXPECT_FALSE(store->room(room.id)->hasListenerPin) << "nothing changed";
  change.listenerPin = "3333";
  room = ok(store->updateRoom(change));
  change = RoomChange{};
  change.room = room;
  change.moderatorPin = "3333";
  refusedNaming(store->updateRoom(change), "moderatorPin", "listenerPin");
  EXPECT_EQ(store->checkPin(room.id, "2222"), Role::kModerator) << "the old PIN stays";

  // A PIN the same change replaces or removes is free; a PIN may be set to its own value again.
  change.listenerPin = "";
  room = ok(store->updateRoom(change));
  EXPECT_EQ(store->checkPin(room.id, "3333"), Role::kModerator);
  EXPECT_FALSE(room.hasListenerPin);
  change = RoomChange{};
  change.room = room;
  change.moderatorPin = "1111";
  change.participantPin = "3333";
  room = ok(store->updateRoom(change));
  EXPECT_EQ(store->checkPin(room.id, "1111"), Role::kModerator);
  EXPECT_EQ(store->checkPin(room.id, "3333"), Role::kParticipant);
  change = RoomChange{};
  change.room = room;
  change.moderatorPin = "1111";
  ok(store->updateRoom(change));
  EXPECT_EQ(store->checkPin(room.id, "1111"), Role::kModerator);
}

}  // namespace
}  // namespace confab::policy
