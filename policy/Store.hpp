// The policy store (issue 11): tenants, the SIP domains they own, and their rooms with PINs and
// rules, persisted in one SQLite file. WAL journal (readers never wait for the writer), foreign
// keys on, a schema version (PRAGMA user_version) with migrations applied in order, and every
// change one transaction. PINs are stored only as salted PBKDF2-HMAC-SHA256 hashes: they can be
// checked, never read back.
//
// Errors are values (StoreError), never exceptions; a constraint a caller broke (a duplicate
// room number, an unknown tenant) says which. A lookup by domain or by room is one indexed query
// (the SIP thread can afford it). One Store per thread: SQLite connections are not shared.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

struct sqlite3;

namespace confab::policy {

struct StoreError {
  enum class Kind : uint8_t { kIo, kConflict, kNotFound, kInvalid };
  Kind kind = Kind::kIo;
  std::string message;  // for people and logs; names the field or constraint where there is one
};

template <class T>
using StoreResult = std::variant<T, StoreError>;

struct Tenant {
  int64_t id = 0;
  std::string name;
  unsigned maxRooms = 0;         // 0: no limit
  unsigned maxParticipants = 0;  // concurrent, across the tenant's rooms; 0: no limit
  bool recordingAllowed = true;
  std::vector<std::string> domains;  // the SIP domains (Request-URI hosts) it owns, lower case
};

enum class Role : uint8_t { kParticipant, kModerator };

struct StoredRoom {
  int64_t id = 0;
  int64_t tenantId = 0;
  std::string user;  // what callers dial: the Request-URI user part (a number or a name)
  std::string name;
  unsigned maxParticipants = 0;
  bool muteOnEntry = false;
  bool waitForModerator = false;
  bool endWhenLastModeratorLeaves = false;
  bool entryExitTones = true;
  bool announceCount = false;
  bool locked = false;
  std::string language = "en";
  // Whether a PIN is set (the PINs themselves are write-only).
  bool hasParticipantPin = false;
  bool hasModeratorPin = false;
};

// What createRoom/updateRoom take: the room, and PINs to set (nullopt: leave as is; empty
// string: remove). A PIN is 4 to 16 digits.
struct RoomChange {
  StoredRoom room;
  std::optional<std::string> participantPin;
  std::optional<std::string> moderatorPin;
};

class Store {
 public:
  // The schema version this code writes; open() migrates older files up to it and refuses newer.
  static constexpr int kSchemaVersion = 1;

  // Opens (creating if need be) the store at 'path'.
  static StoreResult<std::unique_ptr<Store>> open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  [[nodiscard]] int schemaVersion() const;

  StoreResult<Tenant> createTenant(const Tenant& tenant);
  // The tenant that owns a SIP domain (case-insensitive), if any.
  [[nodiscard]] std::optional<Tenant> tenantForDomain(std::string_view domain) const;
  [[nodiscard]] std::optional<Tenant> tenant(int64_t id) const;
  StoreResult<bool> deleteTenant(int64_t id);  // its domains and rooms go with it

  StoreResult<StoredRoom> createRoom(const RoomChange& change);
  StoreResult<StoredRoom> updateRoom(const RoomChange& change);
  [[nodiscard]] std::optional<StoredRoom> findRoom(int64_t tenantId, std::string_view user) const;
  [[nodiscard]] std::vector<StoredRoom> rooms(int64_t tenantId) const;
  StoreResult<bool> deleteRoom(int64_t id);

  // The role a PIN gives in a room: the moderator PIN gives kModerator, the participant PIN
  // kParticipant; without a participant PIN anyone is a kParticipant. Nothing for a wrong PIN
  // (or an unknown room).
  [[nodiscard]] std::optional<Role> checkPin(int64_t roomId, std::string_view pin) const;

  // A PIN's stored form: "pbkdf2-sha256$ITERATIONS$SALT-HEX$HASH-HEX", with a random salt.
  static std::string hashPin(std::string_view pin);
  static bool pinMatches(std::string_view stored, std::string_view pin);
  static bool validPin(std::string_view pin);

 private:
  explicit Store(sqlite3* db);
  StoreResult<bool> migrate();
  StoreResult<bool> exec(const char* sql);
  StoreResult<StoredRoom> writeRoom(const RoomChange& change, bool create);

  sqlite3* db_;
};

}  // namespace confab::policy
