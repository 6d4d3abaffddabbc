#include "policy/Store.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace confab::policy {

namespace {

// Migrations, in order: kSchemaVersion is their count. A file at version N gets N+1.. applied,
// each in its own transaction with the version bump, so a crash leaves a consistent version.
constexpr std::array<const char*, Store::kSchemaVersion> kMigrations = {
    R"(CREATE TABLE tenants (
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
         UNIQUE (tenant_id, user));)",
};

// PBKDF2-HMAC-SHA256 (RFC 8018 §5.2): enough iterations that a stolen file does not give up
// 6-digit PINs in moments, few enough (a few milliseconds) for the SIP thread at PIN entry.
constexpr int kPinIterations = 20000;
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;

std::string hex(const uint8_t* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0x0F];
  }
  return out;
}

std::optional<std::vector<uint8_t>> unhex(std::string_view text) {
  if (text.size() % 2 != 0) {
    return std::nullopt;
  }
  std::vector<uint8_t> out;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') {
        return c - '0';
      }
      if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
      }
      return -1;
    };
    const int high = nibble(text[i]);
    const int low = nibble(text[i + 1]);
    if (high < 0 || low < 0) {
      return std::nullopt;
    }
    out.push_back(static_cast<uint8_t>(high * 16 + low));
  }
  return out;
}

bool pbkdf2(std::string_view pin,
            const std::vector<uint8_t>& salt,
            int iterations,
            std::array<uint8_t, kHashBytes>& out) {
  return PKCS5_PBKDF2_HMAC(pin.data(), static_cast<int>(pin.size()), salt.data(),
                           static_cast<int>(salt.size()), iterations, EVP_sha256(),
                           static_cast<int>(out.size()), out.data()) == 1;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// One prepared statement, finalized when it goes out of scope.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      stmt_ = nullptr;
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  [[nodiscard]] bool ok() const { return stmt_ != nullptr; }
  Statement& bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bindNull(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return stmt_ != nullptr ? sqlite3_step(stmt_) : SQLITE_ERROR; }
  [[nodiscard]] int64_t integer(int i) const { return sqlite3_column_int64(stmt_, i); }
  [[nodiscard]] std::string text(int i) const {
    const auto* p = sqlite3_column_text(stmt_, i);
    return p != nullptr ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }
  [[nodiscard]] bool isNull(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  [[nodiscard]] std::string error() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

StoreError failure(sqlite3* db, int code) {
  const int primary = code & 0xFF;
  StoreError e;
  e.kind = primary == SQLITE_CONSTRAINT ? StoreError::Kind::kConflict : StoreError::Kind::kIo;
  e.message = sqlite3_errmsg(db);
  return e;
}

constexpr const char* kRoomColumns =
    "id, tenant_id, user, name, participant_pin IS NOT NULL, moderator_pin IS NOT NULL, "
    "max_participants, mute_on_entry, wait_for_moderator, end_when_last_moderator_leaves, "
    "entry_exit_tones, announce_count, locked, language";

StoredRoom roomFrom(const Statement& s) {
  StoredRoom r;
  r.id = s.integer(0);
  r.tenantId = s.integer(1);
  r.user = s.text(2);
  r.name = s.text(3);
  r.hasParticipantPin = s.integer(4) != 0;
  r.hasModeratorPin = s.integer(5) != 0;
  r.maxParticipants = static_cast<unsigned>(s.integer(6));
  r.muteOnEntry = s.integer(7) != 0;
  r.waitForModerator = s.integer(8) != 0;
  r.endWhenLastModeratorLeaves = s.integer(9) != 0;
  r.entryExitTones = s.integer(10) != 0;
  r.announceCount = s.integer(11) != 0;
  r.locked = s.integer(12) != 0;
  r.language = s.text(13);
  return r;
}

}  // namespace

Store::Store(sqlite3* db) : db_(db) {}

Store::~Store() {
  sqlite3_close(db_);
}

StoreResult<std::unique_ptr<Store>> Store::open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    StoreError e{StoreError::Kind::kIo,
                 "cannot open " + path + ": " + (db != nullptr ? sqlite3_errmsg(db) : "")};
    sqlite3_close(db);
    return e;
  }
  std::unique_ptr<Store> store(new Store(db));
  // Another connection writing (an operator's tool) makes us wait a little, not fail.
  sqlite3_busy_timeout(db, 2000);
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL"}) {
    if (auto done = store->exec(pragma); std::holds_alternative<StoreError>(done)) {
      return std::get<StoreError>(done);
    }
  }
  if (auto migrated = store->migrate(); std::holds_alternative<StoreError>(migrated)) {
    return std::get<StoreError>(migrated);
  }
  return store;
}

StoreResult<bool> Store::exec(const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    StoreError e = failure(db_, rc);
    if (message != nullptr) {
      e.message = message;
      sqlite3_free(message);
    }
    return e;
  }
  return true;
}

int Store::schemaVersion() const {
  Statement s(db_, "PRAGMA user_version");
  return s.step() == SQLITE_ROW ? static_cast<int>(s.integer(0)) : -1;
}

StoreResult<bool> Store::migrate() {
  const int version = schemaVersion();
  if (version < 0) {
    return StoreError{StoreError::Kind::kIo, "cannot read the schema version"};
  }
  if (version > kSchemaVersion) {
    return StoreError{StoreError::Kind::kInvalid,
                      "the store is at schema version " + std::to_string(version) +
                          ", newer than this confab knows (" + std::to_string(kSchemaVersion) +
                          "): refusing to touch it"};
  }
  for (int v = version; v < kSchemaVersion; ++v) {
    const std::string step = std::string("BEGIN IMMEDIATE;") +
                             kMigrations[static_cast<std::size_t>(v)] +
                             ";PRAGMA user_version=" + std::to_string(v + 1) + ";COMMIT;";
    if (auto done = exec(step.c_str()); std::holds_alternative<StoreError>(done)) {
      (void)exec("ROLLBACK");
      return std::get<StoreError>(done);
    }
  }
  return true;
}

StoreResult<Tenant> Store::createTenant(const Tenant& tenant) {
  if (auto begun = exec("BEGIN IMMEDIATE"); std::holds_alternative<StoreError>(begun)) {
    return std::get<StoreError>(begun);
  }
  const auto rollback = [&](StoreError e) {
    (void)exec("ROLLBACK");
    return e;
  };
  Statement insert(db_,
                   "INSERT INTO tenants (name, max_rooms, max_participants, recording_allowed) "
                   "VALUES (?, ?, ?, ?)");
  insert.bind(1, tenant.name)
      .bind(2, int64_t{tenant.maxRooms})
      .bind(3, int64_t{tenant.maxParticipants})
      .bind(4, int64_t{tenant.recordingAllowed ? 1 : 0});
  if (const int rc = insert.step(); rc != SQLITE_DONE) {
    return rollback(failure(db_, rc));
  }
  Tenant out = tenant;
  out.id = sqlite3_last_insert_rowid(db_);
  out.domains.clear();
  for (const auto& domain : tenant.domains) {
    Statement add(db_, "INSERT INTO tenant_domains (domain, tenant_id) VALUES (?, ?)");
    add.bind(1, lower(domain)).bind(2, out.id);
    if (const int rc = add.step(); rc != SQLITE_DONE) {
      StoreError e = failure(db_, rc);
      e.message = "domain " + lower(domain) + ": " + e.message;
      return rollback(e);
    }
    out.domains.push_back(lower(domain));
  }
  if (auto done = exec("COMMIT"); std::holds_alternative<StoreError>(done)) {
    return rollback(std::get<StoreError>(done));
  }
  return out;
}

std::optional<Tenant> Store::tenant(int64_t id) const {
  Statement s(db_,
              "SELECT id, name, max_rooms, max_participants, recording_allowed FROM tenants "
              "WHERE id = ?");
  s.bind(1, id);
  if (s.step() != SQLITE_ROW) {
    return std::nullopt;
  }
  Tenant t;
  t.id = s.integer(0);
  t.name = s.text(1);
  t.maxRooms = static_cast<unsigned>(s.integer(2));
  t.maxParticipants = static_cast<unsigned>(s.integer(3));
  t.recordingAllowed = s.integer(4) != 0;
  Statement d(db_, "SELECT domain FROM tenant_domains WHERE tenant_id = ? ORDER BY domain");
  d.bind(1, id);
  while (d.step() == SQLITE_ROW) {
    t.domains.push_back(d.text(0));
  }
  return t;
}

std::optional<Tenant> Store::tenantForDomain(std::string_view domain) const {
  Statement s(db_, "SELECT tenant_id FROM tenant_domains WHERE domain = ?");
  s.bind(1, lower(domain));
  if (s.step() != SQLITE_ROW) {
    return std::nullopt;
  }
  return tenant(s.integer(0));
}

StoreResult<bool> Store::deleteTenant(int64_t id) {
  Statement s(db_, "DELETE FROM tenants WHERE id = ?");
  s.bind(1, id);
  if (const int rc = s.step(); rc != SQLITE_DONE) {
    return failure(db_, rc);
  }
  return sqlite3_changes(db_) > 0;
}

bool Store::validPin(std::string_view pin) {
  return pin.size() >= 4 && pin.size() <= 16 &&
         std::all_of(pin.begin(), pin.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Store::hashPin(std::string_view pin) {
  std::vector<uint8_t> salt(kSaltBytes);
  std::array<uint8_t, kHashBytes> hash{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1 ||
      !pbkdf2(pin, salt, kPinIterations, hash)) {
    return {};  // never stored: callers check
  }
  return "pbkdf2-sha256$" + std::to_string(kPinIterations) + "$" + hex(salt.data(), salt.size()) +
         "$" + hex(hash.data(), hash.size());
}

bool Store::pinMatches(std::string_view stored, std::string_view pin) {
  // pbkdf2-sha256$ITERATIONS$SALT$HASH
  constexpr std::string_view kScheme = "pbkdf2-sha256$";
  if (!stored.starts_with(kScheme)) {
    return false;
  }
  stored.remove_prefix(kScheme.size());
  const auto first = stored.find('$');
  const auto second = stored.find('$', first == std::string_view::npos ? first : first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos) {
    return false;
  }
  int iterations = 0;
  for (char c : stored.substr(0, first)) {
    if (c < '0' || c > '9' || iterations > 10'000'000) {
      return false;
    }
    iterations = iterations * 10 + (c - '0');
  }
  const auto salt = unhex(stored.substr(first + 1, second - first - 1));
  const auto expected = unhex(stored.substr(second + 1));
  std::array<uint8_t, kHashBytes> hash{};
  if (iterations < 1 || !salt || !expected || expected->size() != hash.size() ||
      !pbkdf2(pin, *salt, iterations, hash)) {
    return false;
  }
  return CRYPTO_memcmp(hash.data(), expected->data(), hash.size()) == 0;  // constant time
}

StoreResult<StoredRoom> Store::writeRoom(const RoomChange& change, bool create) {
  const StoredRoom& r = change.room;
  for (const auto* pin : {&change.participantPin, &change.moderatorPin}) {
    if (*pin && !pin->value().empty() && !validPin(**pin)) {
      return StoreError{
          StoreError::Kind::kInvalid,
          std::string(pin == &change.participantPin ? "participantPin" : "moderatorPin") +
              ": 4 to 16 digits"};
    }
  }
  if (auto begun = exec("BEGIN IMMEDIATE"); std::holds_alternative<StoreError>(begun)) {
    return std::get<StoreError>(begun);
  }
  const auto rollback = [&](StoreError e) {
    (void)exec("ROLLBACK");
    return e;
  };
  int64_t id = r.id;
  if (create) {
    // The tenant's room limit holds inside the transaction that adds the room.
    if (auto owner = tenant(r.tenantId); !owner) {
      return rollback(StoreError{StoreError::Kind::kNotFound,
                                 "tenantId: no tenant " + std::to_string(r.tenantId)});
    } else if (owner->maxRooms != 0 && rooms(r.tenantId).size() >= owner->maxRooms) {
      return rollback(
          StoreError{StoreError::Kind::kConflict,
                     "the tenant has its " + std::to_string(owner->maxRooms) + " rooms already"});
    }
    Statement insert(db_, "INSERT INTO rooms (tenant_id, user, name) VALUES (?, ?, ?)");
    insert.bind(1, r.tenantId).bind(2, r.user).bind(3, r.name);
    if (const int rc = insert.step(); rc != SQLITE_DONE) {
      StoreError e = failure(db_, rc);
      if (e.kind == StoreError::Kind::kConflict) {
        e.message = "user: the tenant has a room " + r.user + " already (" + e.message + ")";
      }
      return rollback(e);
    }
    id = sqlite3_last_insert_rowid(db_);
  }
  Statement update(db_,
                   "UPDATE rooms SET user = ?, name = ?, max_participants = ?, mute_on_entry = ?, "
                   "wait_for_moderator = ?, end_when_last_moderator_leaves = ?, "
                   "entry_exit_tones = ?, announce_count = ?, locked = ?, language = ? "
                   "WHERE id = ?");
  update.bind(1, r.user)
      .bind(2, r.name)
      .bind(3, int64_t{r.maxParticipants})
      .bind(4, int64_t{r.muteOnEntry})
      .bind(5, int64_t{r.waitForModerator})
      .bind(6, int64_t{r.endWhenLastModeratorLeaves})
      .bind(7, int64_t{r.entryExitTones})
      .bind(8, int64_t{r.announceCount})
      .bind(9, int64_t{r.locked})
      .bind(10, r.language)
      .bind(11, id);
  if (const int rc = update.step(); rc != SQLITE_DONE) {
    return rollback(failure(db_, rc));
  }
  if (sqlite3_changes(db_) == 0) {
    return rollback(StoreError{StoreError::Kind::kNotFound, "id: no room " + std::to_string(id)});
  }
  const std::pair<const std::optional<std::string>*, const char*> pins[] = {
      {&change.participantPin, "UPDATE rooms SET participant_pin = ? WHERE id = ?"},
      {&change.moderatorPin, "UPDATE rooms SET moderator_pin = ? WHERE id = ?"}};
  for (const auto& [pin, sql] : pins) {
    if (!*pin) {
      continue;
    }
    Statement set(db_, sql);
    if ((*pin)->empty()) {
      set.bindNull(1);
    } else {
      const std::string hashed = hashPin(**pin);
      if (hashed.empty()) {
        return rollback(StoreError{StoreError::Kind::kIo, "cannot hash the PIN"});
      }
      set.bind(1, hashed);
    }
    set.bind(2, id);
    if (const int rc = set.step(); rc != SQLITE_DONE) {
      return rollback(failure(db_, rc));
    }
  }
  if (auto done = exec("COMMIT"); std::holds_alternative<StoreError>(done)) {
    return rollback(std::get<StoreError>(done));
  }
  Statement read(db_, (std::string("SELECT ") + kRoomColumns + " FROM rooms WHERE id = ?").c_str());
  read.bind(1, id);
  if (read.step() != SQLITE_ROW) {
    return StoreError{StoreError::Kind::kIo, "the room vanished after writing it"};
  }
  return roomFrom(read);
}

StoreResult<StoredRoom> Store::createRoom(const RoomChange& change) {
  return writeRoom(change, true);
}

StoreResult<StoredRoom> Store::updateRoom(const RoomChange& change) {
  return writeRoom(change, false);
}

std::optional<StoredRoom> Store::findRoom(int64_t tenantId, std::string_view user) const {
  Statement s(
      db_, (std::string("SELECT ") + kRoomColumns + " FROM rooms WHERE tenant_id = ? AND user = ?")
               .c_str());
  s.bind(1, tenantId).bind(2, user);
  if (s.step() != SQLITE_ROW) {
    return std::nullopt;
  }
  return roomFrom(s);
}

std::vector<StoredRoom> Store::rooms(int64_t tenantId) const {
  Statement s(
      db_, (std::string("SELECT ") + kRoomColumns + " FROM rooms WHERE tenant_id = ? ORDER BY user")
               .c_str());
  s.bind(1, tenantId);
  std::vector<StoredRoom> out;
  while (s.step() == SQLITE_ROW) {
    out.push_back(roomFrom(s));
  }
  return out;
}

StoreResult<bool> Store::deleteRoom(int64_t id) {
  Statement s(db_, "DELETE FROM rooms WHERE id = ?");
  s.bind(1, id);
  if (const int rc = s.step(); rc != SQLITE_DONE) {
    return failure(db_, rc);
  }
  return sqlite3_changes(db_) > 0;
}

std::optional<Role> Store::checkPin(int64_t roomId, std::string_view pin) const {
  Statement s(db_, "SELECT participant_pin, moderator_pin FROM rooms WHERE id = ?");
  s.bind(1, roomId);
  if (s.step() != SQLITE_ROW) {
    return std::nullopt;
  }
  const bool hasParticipant = !s.isNull(0);
  const bool hasModerator = !s.isNull(1);
  if (hasModerator && pinMatches(s.text(1), pin)) {
    return Role::kModerator;
  }
  if (!hasParticipant || pinMatches(s.text(0), pin)) {
    return Role::kParticipant;  // no participant PIN: anyone is a participant
  }
  return std::nullopt;
}

}  // namespace confab::policy
