// The policy store on a real SQLite file in a scratch folder: schema and migrations, tenants by
// SIP domain, rooms with write-only PINs, constraints as errors naming what broke, and that
// everything survives closing and opening again.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "policy/Store.hpp"

namespace confab::policy {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("confab-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "policy.sqlite").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> open() {
    auto opened = Store::open(path_);
    if (auto* error = std::get_if<StoreError>(&opened)) {
      ADD_FAILURE() << error->message;
      return nullptr;
    }
    return std::move(std::get<std::unique_ptr<Store>>(opened));
  }
  template <class T>
  static T ok(StoreResult<T> r) {
    if (auto* error = std::get_if<StoreError>(&r)) {
      ADD_FAILURE() << error->message;
      return T{};
    }
    return std::get<T>(std::move(r));
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(StoreTest, ANewFileGetsTheSchemaInWalModeWithForeignKeys) {
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

TEST_F(StoreTest, GarbageIsAClearErrorNotACrash) {
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

TEST_F(StoreTest, PinsAreStoredOnlyAsSaltedHashes) {
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

}  // namespace
}  // namespace confab::policy
