#include "policy/Store.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <tuple>
#include <utility>

#include "policy/Directory.hpp"
#include "policy/Sql.hpp"

namespace confab::policy {

using sql::checkText;
using sql::failure;
using sql::inTransaction;
using sql::invalid;
using sql::Statement;

namespace {

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

constexpr std::size_t kMaxNameBytes = 128;
constexpr std::size_t kMaxAccountBytes = 256;  // a digest username, password or realm

// Names are shown to people and printed one per line by the operator's tool.
std::optional<StoreError> checkName(std::string_view field,
                                    std::string_view name,
                                    bool mayBeEmpty) {
  if (auto bad = checkText(field, name, mayBeEmpty ? 0 : 1, kMaxNameBytes)) {
    if (!name.empty() && name.size() <= kMaxNameBytes) {
      bad->message =
          std::string(field) + ": \"" + std::string(name) + "\" holds a control character";
    }
    return bad;
  }
  return std::nullopt;
}

// The shape of a BCP 47 tag ("en", "pt-BR", "zh-Hant-TW"), not its registry.
bool validLanguage(std::string_view tag) {
  return !tag.empty() && tag.size() <= 35 && tag.front() != '-' && tag.back() != '-' &&
         std::all_of(tag.begin(), tag.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-';
         });
}

// Each domain as stored, or the first one refused; a domain listed twice is refused too.
StoreResult<std::vector<std::string>> normalizeDomains(const std::vector<std::string>& domains) {
  std::vector<std::string> out;
  for (const auto& domain : domains) {
    auto normalized = Store::normalizeDomain(domain);
    if (auto* error = std::get_if<StoreError>(&normalized)) {
      return *error;
    }
    auto& text = std::get<std::string>(normalized);
    if (std::find(out.begin(), out.end(), text) != out.end()) {
      return invalid("domain \"" + text + "\": listed twice");
    }
    out.push_back(std::move(text));
  }
  return out;
}

// Inside a transaction: gives the tenant these (normalized) domains; a domain another tenant
// owns is a kConflict naming both.
std::optional<StoreError> putDomains(sql::Database& db,
                                     int64_t tenantId,
                                     const std::vector<std::string>& domains) {
  for (const auto& domain : domains) {
    // Asked before the insert: a refused statement ends a PostgreSQL transaction's use, so the
    // owner could not be asked after it. Under the write lock nobody takes it in between.
    Statement owner(db,
                    "SELECT t.name FROM tenant_domains d JOIN tenants t ON t.id = d.tenant_id "
                    "WHERE d.domain = ?");
    owner.bind(1, domain);
    if (owner.step() == sql::kRow) {
      return StoreError{StoreError::Kind::kConflict,
                        "domain " + domain + ": tenant \"" + owner.text(0) + "\" owns it already"};
    }
    Statement add(db, "INSERT INTO tenant_domains (domain, tenant_id) VALUES (?, ?)");
    add.bind(1, domain).bind(2, tenantId);
    if (add.step() != sql::kDone) {
      StoreError e = failure(db);
      e.message = "domain " + domain + ": " + e.message;
      return e;
    }
  }
  return std::nullopt;
}

// Inside a transaction: the new tenant's id.
StoreResult<int64_t> insertTenant(sql::Database& db,
                                  const Tenant& tenant,
                                  const std::vector<std::string>& domains) {
  Statement insert(db,
                   "INSERT INTO tenants (name, max_rooms, max_participants, recording_allowed) "
                   "VALUES (?, ?, ?, ?) RETURNING id");
  insert.bind(1, tenant.name)
      .bind(2, int64_t{tenant.maxRooms})
      .bind(3, int64_t{tenant.maxParticipants})
      .bind(4, int64_t{tenant.recordingAllowed ? 1 : 0});
  auto inserted = sql::insertedId(db, insert);
  if (auto* e = std::get_if<StoreError>(&inserted)) {
    if (db.lastWasUniqueViolation()) {
      e->message = "name: a tenant \"" + tenant.name + "\" exists already";
    }
    return *e;
  }
  const int64_t id = std::get<int64_t>(inserted);
  if (auto error = putDomains(db, id, domains)) {
    return *error;
  }
  return id;
}

// Sets (or with nullopt removes) a tenant's dial-out account, inside the caller's transaction.
std::optional<StoreError> putDialOut(sql::Database& db,
                                     int64_t tenantId,
                                     const std::optional<SipAccount>& account) {
  if (!account) {
    Statement clear(db, "DELETE FROM tenant_dial_out WHERE tenant_id = ?");
    clear.bind(1, tenantId);
    if (clear.step() != sql::kDone) {
      return failure(db);
    }
    return std::nullopt;
  }
  Statement put(db,
                "INSERT INTO tenant_dial_out (tenant_id, username, password, realm) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET "
                "username = excluded.username, password = excluded.password, "
                "realm = excluded.realm");
  put.bind(1, tenantId)
      .bind(2, account->username)
      .bind(3, account->password)
      .bind(4, account->realm);
  if (put.step() != sql::kDone) {
    return failure(db);
  }
  return std::nullopt;
}

Tenant tenantFrom(const Statement& s) {
  Tenant t;
  t.id = s.integer(0);
  t.name = s.text(1);
  t.maxRooms = static_cast<unsigned>(s.integer(2));
  t.maxParticipants = static_cast<unsigned>(s.integer(3));
  t.recordingAllowed = s.integer(4) != 0;
  return t;
}

constexpr const char* kTenantColumns = "id, name, max_rooms, max_participants, recording_allowed";

// A room change checked, with its PINs hashed (nullopt: leave as is; empty: remove): the slow
// part (PBKDF2) done before the write lock is taken.
struct RoomWrite {
  StoredRoom room;
  std::optional<std::string> participantHash;
  std::optional<std::string> moderatorHash;
  std::optional<std::string> listenerHash;
};

// A room's PINs in one order: RoomChange's members, the columns, the names in messages.
constexpr std::size_t kPinKinds = 3;
constexpr std::array<const char*, kPinKinds> kPinFields = {"participantPin", "moderatorPin",
                                                           "listenerPin"};
constexpr const char* kPinColumns = "participant_pin, moderator_pin, listener_pin";

std::array<const std::optional<std::string>*, kPinKinds> pinsOf(const RoomChange& change) {
  return {&change.participantPin, &change.moderatorPin, &change.listenerPin};
}

// A room's stored PIN hashes, in kPinFields order; nullopt where none is set.
using StoredPins = std::array<std::optional<std::string>, kPinKinds>;

// All none for a room not (yet) in the store.
StoredPins storedPins(sql::Database& db, int64_t roomId) {
  StoredPins out;
  Statement s(db, (std::string("SELECT ") + kPinColumns + " FROM rooms WHERE id = ?").c_str());
  s.bind(1, roomId);
  if (s.step() == sql::kRow) {
    for (std::size_t i = 0; i < kPinKinds; ++i) {
      if (!s.isNull(static_cast<int>(i))) {
        out[i] = s.text(static_cast<int>(i));
      }
    }
  }
  return out;
}

// No two PINs of a room are the same (a caller's role would depend on which one is checked
// first): a PIN the change sets may equal neither another the change sets nor one the room keeps
// (stored, and neither changed nor removed by the change), checked against its hash. The PINs
// themselves are not in the message.
std::optional<StoreError> samePins(const RoomChange& change, const StoredPins& stored) {
  const auto pins = pinsOf(change);
  for (std::size_t i = 0; i < kPinKinds; ++i) {
    if (!*pins[i] || (*pins[i])->empty()) {
      continue;
    }
    const std::string& pin = **pins[i];
    for (std::size_t j = 0; j < kPinKinds; ++j) {
      const bool same =
          j != i && (*pins[j] ? **pins[j] == pin : stored[j] && Store::pinMatches(*stored[j], pin));
      if (same) {
        return invalid(std::string(kPinFields[i]) + " and " + kPinFields[j] +
                       ": the same PIN (a room's PINs must differ)");
      }
    }
  }
  return std::nullopt;
}

StoreResult<RoomWrite> prepareRoom(const RoomChange& change) {
  const StoredRoom& r = change.room;
  if (!Directory::validId(r.user)) {
    return invalid("user: \"" + r.user + "\" is not a room number or name (1 to 64 of A-Z a-z " +
                   "0-9 . _ -)");
  }
  if (auto bad = checkName("name", r.name, true)) {
    return *bad;
  }
  if (!validLanguage(r.language)) {
    return invalid("language: \"" + r.language + "\" is not a language tag such as en or pt-BR");
  }
  RoomWrite out{r, std::nullopt, std::nullopt, std::nullopt};
  const std::tuple<const std::optional<std::string>&, std::optional<std::string>&, const char*>
      pins[] = {{change.participantPin, out.participantHash, kPinFields[0]},
                {change.moderatorPin, out.moderatorHash, kPinFields[1]},
                {change.listenerPin, out.listenerHash, kPinFields[2]}};
  for (const auto& [pin, hash, field] : pins) {
    if (!pin) {
      continue;
    }
    if (pin->empty()) {
      hash = std::string();
      continue;
    }
    if (!Store::validPin(*pin)) {
      return invalid(std::string(field) + ": 4 to 16 digits");
    }
    hash = Store::hashPin(*pin);
    if (hash->empty()) {
      return StoreError{StoreError::Kind::kIo, "cannot hash the PIN"};
    }
  }
  // Two PINs set by this change (the stored ones are checked by writeRoom).
  if (auto same = samePins(change, StoredPins{})) {
    return *same;
  }
  return out;
}

// Inside a transaction: creates or updates the room; its id.
StoreResult<int64_t> writeRoomIn(sql::Database& db, const RoomWrite& w, bool create) {
  const StoredRoom& r = w.room;
  int64_t id = r.id;
  if (create) {
    Statement owner(db, "SELECT max_rooms FROM tenants WHERE id = ?");
    owner.bind(1, r.tenantId);
    if (owner.step() != sql::kRow) {
      return StoreError{StoreError::Kind::kNotFound,
                        "tenantId: no tenant " + std::to_string(r.tenantId)};
    }
    const int64_t maxRooms = owner.integer(0);
    Statement insert(db,
                     "INSERT INTO rooms (tenant_id, \"user\", name) VALUES (?, ?, ?) RETURNING id");
    insert.bind(1, r.tenantId).bind(2, r.user).bind(3, r.name);
    auto inserted = sql::insertedId(db, insert);
    if (auto* e = std::get_if<StoreError>(&inserted)) {
      if (e->kind == StoreError::Kind::kConflict) {
        e->message = "user: the tenant has a room " + r.user + " already (" + e->message + ")";
      }
      return *e;
    }
    // The tenant's room limit holds inside the transaction that adds the room; counted after the
    // insert, so that a duplicate is reported as one even at the limit.
    Statement count(db, "SELECT count(*) FROM rooms WHERE tenant_id = ?");
    count.bind(1, r.tenantId);
    if (maxRooms != 0 && count.step() == sql::kRow && count.integer(0) > maxRooms) {
      return StoreError{StoreError::Kind::kConflict,
                        "max-rooms: the tenant has its " + std::to_string(maxRooms) +
                            (maxRooms == 1 ? " room" : " rooms") + " already"};
    }
    id = std::get<int64_t>(inserted);
  }
  Statement update(
      db,
      "UPDATE rooms SET \"user\" = ?, name = ?, max_participants = ?, mute_on_entry = ?, "
      "wait_for_moderator = ?, end_when_last_moderator_leaves = ?, "
      "entry_exit_tones = ?, announce_count = ?, locked = ?, language = ?, "
      "public_roster = ?, participants_invite = ? WHERE id = ?");
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
      .bind(11, int64_t{r.publicRoster})
      .bind(12, int64_t{r.participantsInvite})
      .bind(13, id);
  if (update.step() != sql::kDone) {
    StoreError e = failure(db);
    if (e.kind == StoreError::Kind::kConflict) {
      e.message = "user: the tenant has a room " + r.user + " already (" + e.message + ")";
    }
    return e;
  }
  if (update.changes() == 0) {
    return StoreError{StoreError::Kind::kNotFound, "id: no room " + std::to_string(id)};
  }
  const std::pair<const std::optional<std::string>*, const char*> pins[] = {
      {&w.participantHash, "UPDATE rooms SET participant_pin = ? WHERE id = ?"},
      {&w.moderatorHash, "UPDATE rooms SET moderator_pin = ? WHERE id = ?"},
      {&w.listenerHash, "UPDATE rooms SET listener_pin = ? WHERE id = ?"}};
  for (const auto& [hash, sql] : pins) {
    if (!*hash) {
      continue;
    }
    Statement set(db, sql);
    if ((*hash)->empty()) {
      set.bindNull(1);
    } else {
      set.bind(1, **hash);
    }
    set.bind(2, id);
    if (set.step() != sql::kDone) {
      return failure(db);
    }
  }
  return id;
}

constexpr const char* kRoomColumns =
    "id, tenant_id, \"user\", name, participant_pin IS NOT NULL, moderator_pin IS NOT NULL, "
    "max_participants, mute_on_entry, wait_for_moderator, end_when_last_moderator_leaves, "
    "entry_exit_tones, announce_count, locked, language, listener_pin IS NOT NULL, "
    "public_roster, participants_invite";

constexpr int kRoomColumnCount = 17;  // kRoomColumns' columns, read by roomFrom

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
  r.hasListenerPin = s.integer(14) != 0;
  r.publicRoster = s.integer(15) != 0;
  r.participantsInvite = s.integer(16) != 0;
  return r;
}

}  // namespace

Store::Store(std::unique_ptr<sql::Database> db) : db_(std::move(db)) {}

Store::~Store() = default;

bool Store::isPostgres(std::string_view location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

std::string Store::shown(std::string_view location) {
  if (!isPostgres(location)) {
    return std::string(location);
  }
  std::string out(location);
  // postgresql://user:secret@host/db: the userinfo ends at the first '@' before the path.
  const std::size_t authority = out.find("://") + 3;
  const std::size_t at = out.find('@', authority);
  const std::size_t slash = out.find('/', authority);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    const std::size_t colon = out.find(':', authority);
    if (colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // ...?password=secret&...
  for (std::size_t key = out.find("password="); key != std::string::npos;
       key = out.find("password=", key + 1)) {
    if (key > 0 && out[key - 1] != '?' && out[key - 1] != '&') {
      continue;
    }
    const std::size_t value = key + 9;
    const std::size_t end = std::min(out.find('&', value), out.size());
    out.replace(value, end - value, "***");
  }
  return out;
}

StoreResult<std::unique_ptr<Store>> Store::open(const std::string& location) {
  auto db = isPostgres(location) ? sql::openPostgres(location) : sql::openSqlite(location);
  if (auto* error = std::get_if<StoreError>(&db)) {
    return *error;
  }
  return std::unique_ptr<Store>(new Store(std::move(std::get<0>(db))));
}

StoreResult<bool> Store::flushEachChange(bool full) {
  if (auto error = db_->flushEachChange(full)) {
    return *error;
  }
  return true;
}

bool Store::flushesEachChange() const {
  return db_->flushesEachChange();
}

int Store::schemaVersion() const {
  return db_->schemaVersion();
}

StoreResult<Tenant> Store::createTenant(const Tenant& tenant,
                                        const std::optional<SipAccount>& dialOut) {
  if (auto bad = checkName("name", tenant.name, false)) {
    return *bad;
  }
  auto domains = normalizeDomains(tenant.domains);
  if (auto* error = std::get_if<StoreError>(&domains)) {
    return *error;
  }
  if (dialOut) {
    if (auto bad = checkAccount(*dialOut)) {
      return *bad;
    }
  }
  return inTransaction<Tenant>(*db_, [&]() -> StoreResult<Tenant> {
    auto id = insertTenant(*db_, tenant, std::get<std::vector<std::string>>(domains));
    if (auto* error = std::get_if<StoreError>(&id)) {
      return *error;
    }
    if (dialOut) {
      if (auto error = putDialOut(*db_, std::get<int64_t>(id), dialOut)) {
        return *error;
      }
    }
    if (auto created = this->tenant(std::get<int64_t>(id))) {
      return *created;
    }
    return StoreError{StoreError::Kind::kIo, "the tenant vanished after writing it"};
  });
}

StoreResult<Tenant> Store::updateTenant(const Tenant& changed,
                                        const std::optional<std::optional<SipAccount>>& dialOut) {
  if (auto bad = checkName("name", changed.name, false)) {
    return *bad;
  }
  auto domains = normalizeDomains(changed.domains);
  if (auto* error = std::get_if<StoreError>(&domains)) {
    return *error;
  }
  if (dialOut && *dialOut) {
    if (auto bad = checkAccount(**dialOut)) {
      return *bad;
    }
  }
  return inTransaction<Tenant>(*db_, [&]() -> StoreResult<Tenant> {
    Statement update(*db_,
                     "UPDATE tenants SET name = ?, max_rooms = ?, max_participants = ?, "
                     "recording_allowed = ? WHERE id = ?");
    update.bind(1, changed.name)
        .bind(2, int64_t{changed.maxRooms})
        .bind(3, int64_t{changed.maxParticipants})
        .bind(4, int64_t{changed.recordingAllowed ? 1 : 0})
        .bind(5, changed.id);
    if (update.step() != sql::kDone) {
      StoreError e = failure(*db_);
      if (db_->lastWasUniqueViolation()) {
        e.message = "name: a tenant \"" + changed.name + "\" exists already";
      }
      return e;
    }
    if (update.changes() == 0) {
      return StoreError{StoreError::Kind::kNotFound, "id: no tenant " + std::to_string(changed.id)};
    }
    Statement clear(*db_, "DELETE FROM tenant_domains WHERE tenant_id = ?");
    clear.bind(1, changed.id);
    if (clear.step() != sql::kDone) {
      return failure(*db_);
    }
    if (auto error = putDomains(*db_, changed.id, std::get<std::vector<std::string>>(domains))) {
      return *error;
    }
    if (dialOut) {
      if (auto error = putDialOut(*db_, changed.id, *dialOut)) {
        return *error;
      }
    }
    if (auto updated = tenant(changed.id)) {
      return *updated;
    }
    return StoreError{StoreError::Kind::kIo, "the tenant vanished after writing it"};
  });
}

std::optional<Tenant> Store::tenant(int64_t id) const {
  Statement s(*db_,
              (std::string("SELECT ") + kTenantColumns + " FROM tenants WHERE id = ?").c_str());
  s.bind(1, id);
  if (s.step() != sql::kRow) {
    return std::nullopt;
  }
  Tenant t = tenantFrom(s);
  Statement d(*db_, "SELECT domain FROM tenant_domains WHERE tenant_id = ? ORDER BY domain");
  d.bind(1, id);
  while (d.step() == sql::kRow) {
    t.domains.push_back(d.text(0));
  }
  Statement a(*db_, "SELECT username, realm FROM tenant_dial_out WHERE tenant_id = ?");
  a.bind(1, id);
  if (a.step() == sql::kRow) {
    t.dialOutUser = a.text(0);
    t.dialOutRealm = a.text(1);
  }
  return t;
}

std::optional<Tenant> Store::tenantByName(std::string_view name) const {
  Statement s(*db_, "SELECT id FROM tenants WHERE name = ?");
  s.bind(1, name);
  if (s.step() != sql::kRow) {
    return std::nullopt;
  }
  return tenant(s.integer(0));
}

std::vector<Tenant> Store::tenants() const {
  Statement s(*db_,
              (std::string("SELECT ") + kTenantColumns + " FROM tenants ORDER BY name").c_str());
  std::vector<Tenant> out;
  std::map<int64_t, std::size_t> index;
  while (s.step() == sql::kRow) {
    index[s.integer(0)] = out.size();
    out.push_back(tenantFrom(s));
  }
  // Every domain in one query rather than one query per tenant.
  Statement d(*db_, "SELECT tenant_id, domain FROM tenant_domains ORDER BY domain");
  while (d.step() == sql::kRow) {
    if (auto at = index.find(d.integer(0)); at != index.end()) {
      out[at->second].domains.push_back(d.text(1));
    }
  }
  Statement a(*db_, "SELECT tenant_id, username, realm FROM tenant_dial_out");
  while (a.step() == sql::kRow) {
    if (auto at = index.find(a.integer(0)); at != index.end()) {
      out[at->second].dialOutUser = a.text(1);
      out[at->second].dialOutRealm = a.text(2);
    }
  }
  return out;
}

namespace {

// A Request-URI's host in the spelling the domains were stored in; what does not parse can match
// only '*'.
std::string domainKey(std::string_view domain) {
  auto normalized = Store::normalizeDomain(domain);
  return std::holds_alternative<std::string>(normalized) ? std::get<std::string>(normalized)
                                                         : lower(domain);
}

// The tenant owning the domain ?1 exactly, else the one owning '*' (?2): the exact owner sorts
// first. One indexed query, also used as a subquery.
constexpr const char* kDomainOwner =
    "SELECT tenant_id FROM tenant_domains WHERE domain IN (?1, ?2) ORDER BY domain = ?2 LIMIT 1";

}  // namespace

std::optional<Tenant> Store::tenantForDomain(std::string_view domain) const {
  Statement s(*db_, kDomainOwner);
  s.bind(1, domainKey(domain)).bind(2, kAnyDomain);
  if (s.step() != sql::kRow) {
    return std::nullopt;
  }
  return tenant(s.integer(0));
}

StoreResult<Tenant> Store::seedDefault(const std::vector<std::pair<std::string, std::string>>& seed,
                                       unsigned maxParticipants) {
  // Checked and hashed before the write lock, as any room change is.
  std::vector<RoomWrite> writes;
  for (const auto& [user, name] : seed) {
    RoomChange change;
    change.room.user = user;
    change.room.name = name;
    change.room.maxParticipants = maxParticipants;
    // The command line's rooms behave as they always did: no tones (an operator turns them on).
    change.room.entryExitTones = false;
    auto prepared = prepareRoom(change);
    if (auto* error = std::get_if<StoreError>(&prepared)) {
      error->message = "room " + user + ": " + error->message;
      return *error;
    }
    writes.push_back(std::get<RoomWrite>(std::move(prepared)));
  }
  return inTransaction<Tenant>(*db_, [&]() -> StoreResult<Tenant> {
    // Inside the transaction, so two servers starting at once seed once.
    Statement any(*db_, "SELECT EXISTS (SELECT 1 FROM tenants)");
    if (any.step() != sql::kRow) {
      return failure(*db_);
    }
    if (any.integer(0) != 0) {
      if (auto existing = tenantByName(kDefaultTenant)) {
        return *existing;
      }
      return StoreError{StoreError::Kind::kNotFound,
                        "no tenant \"" + std::string(kDefaultTenant) +
                            "\" (other tenants exist, so none is created)"};
    }
    Tenant t;
    t.name = kDefaultTenant;
    const std::vector<std::string> domains{std::string(kAnyDomain)};
    auto id = insertTenant(*db_, t, domains);
    if (auto* error = std::get_if<StoreError>(&id)) {
      return *error;
    }
    for (auto& w : writes) {
      w.room.tenantId = std::get<int64_t>(id);
      if (auto written = writeRoomIn(*db_, w, true); std::holds_alternative<StoreError>(written)) {
        StoreError e = std::get<StoreError>(written);
        e.message = "room " + w.room.user + ": " + e.message;
        return e;
      }
    }
    if (auto created = tenant(std::get<int64_t>(id))) {
      return *created;
    }
    return StoreError{StoreError::Kind::kIo, "the tenant vanished after writing it"};
  });
}

StoreResult<bool> Store::deleteTenant(int64_t id) {
  return sql::deleteRow(*db_, "DELETE FROM tenants WHERE id = ?", id);
}

StoreResult<bool> Store::setDialOutAccount(int64_t tenantId,
                                           const std::optional<SipAccount>& account) {
  if (account) {
    if (auto bad = checkAccount(*account)) {
      return *bad;
    }
  }
  return inTransaction<bool>(*db_, [&]() -> StoreResult<bool> {
    if (!tenant(tenantId)) {
      return StoreError{StoreError::Kind::kNotFound, "id: no tenant " + std::to_string(tenantId)};
    }
    if (auto error = putDialOut(*db_, tenantId, account)) {
      return *error;
    }
    return true;
  });
}

std::optional<StoreError> Store::checkAccount(const SipAccount& account) {
  // The fields go into quoted-strings of an Authorization header (RFC 7616 §3.4): a control
  // character there would end or split the header.
  for (auto [field, value, min] :
       {std::tuple{"dialOutUser", std::string_view(account.username), std::size_t{1}},
        std::tuple{"dialOutPassword", std::string_view(account.password), std::size_t{1}},
        std::tuple{"dialOutRealm", std::string_view(account.realm), std::size_t{0}}}) {
    if (auto bad = checkText(field, value, min, kMaxAccountBytes)) {
      return bad;
    }
  }
  return std::nullopt;
}

std::optional<SipAccount> Store::dialOutAccount(int64_t tenantId) const {
  Statement s(*db_, "SELECT username, password, realm FROM tenant_dial_out WHERE tenant_id = ?");
  s.bind(1, tenantId);
  if (s.step() != sql::kRow) {
    return std::nullopt;
  }
  return SipAccount{s.text(0), s.text(1), s.text(2)};
}

StoreResult<std::string> Store::normalizeDomain(std::string_view domain) {
  const auto refuse = [&](std::string_view why) {
    return invalid("domain \"" + std::string(domain) + "\": " + std::string(why));
  };
  if (domain == kAnyDomain) {
    return std::string(kAnyDomain);
  }
  std::string_view host = domain;
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) {
    host.remove_prefix(1);
    host.remove_suffix(1);
  }
  if (bracketed || host.find(':') != std::string_view::npos) {
    // RFC 5952 §4: one text form per address, so any spelling finds the owner.
    in6_addr address{};
    std::array<char, INET6_ADDRSTRLEN> text{};
    if (host.size() >= text.size() ||
        inet_pton(AF_INET6, std::string(host).c_str(), &address) != 1 ||
        inet_ntop(AF_INET6, &address, text.data(), static_cast<socklen_t>(text.size())) ==
            nullptr) {
      return refuse("not an IPv6 address");
    }
    return std::string(text.data());
  }
  if (host.empty() || host.size() > 253) {
    return refuse("a host name is 1 to 253 characters");
  }
  std::string out = lower(host);
  if (std::all_of(out.begin(), out.end(),
                  [](char c) { return (c >= '0' && c <= '9') || c == '.'; })) {
    in_addr address{};
    if (inet_pton(AF_INET, out.c_str(), &address) != 1) {
      return refuse("not an IPv4 address");
    }
    return out;
  }
  // RFC 1123 §2.1 host names: labels of letters, digits and '-', not at either end.
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = std::min(out.find('.', start), out.size());
    const std::string_view label = std::string_view(out).substr(start, dot - start);
    if (label.empty()) {
      return refuse("an empty label");
    }
    if (label.size() > 63) {
      return refuse("a label is at most 63 characters");
    }
    for (char c : label) {
      if (c == '*') {
        return refuse("the wildcard is \"*\" alone, not part of a name");
      }
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
        return refuse("a host name is letters, digits, '-' and '.'");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return refuse("a label starts or ends with '-'");
    }
    if (dot == out.size()) {
      break;
    }
    start = dot + 1;
  }
  return out;
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
  auto prepared = prepareRoom(change);
  if (auto* error = std::get_if<StoreError>(&prepared)) {
    return *error;
  }
  // A PIN equal to one the room keeps: checked (PBKDF2, milliseconds each) before the write lock,
  // and again under it only if another writer changed the room's PINs meanwhile.
  StoredPins before;
  if (!create) {
    before = storedPins(*db_, change.room.id);
    if (auto same = samePins(change, before)) {
      return *same;
    }
  }
  return inTransaction<StoredRoom>(*db_, [&]() -> StoreResult<StoredRoom> {
    if (!create) {
      if (const StoredPins now = storedPins(*db_, change.room.id); now != before) {
        if (auto same = samePins(change, now)) {
          return *same;
        }
      }
    }
    auto id = writeRoomIn(*db_, std::get<RoomWrite>(prepared), create);
    if (auto* error = std::get_if<StoreError>(&id)) {
      return *error;
    }
    if (auto written = room(std::get<int64_t>(id))) {
      return *written;
    }
    return StoreError{StoreError::Kind::kIo, "the room vanished after writing it"};
  });
}

StoreResult<StoredRoom> Store::createRoom(const RoomChange& change) {
  return writeRoom(change, true);
}

StoreResult<StoredRoom> Store::updateRoom(const RoomChange& change) {
  return writeRoom(change, false);
}

std::optional<StoredRoom> Store::room(int64_t id) const {
  Statement s(*db_, (std::string("SELECT ") + kRoomColumns + " FROM rooms WHERE id = ?").c_str());
  s.bind(1, id);
  if (s.step() != sql::kRow) {
    return std::nullopt;
  }
  return roomFrom(s);
}

std::optional<StoredRoom> Store::findRoom(int64_t tenantId, std::string_view user) const {
  Statement s(*db_, (std::string("SELECT ") + kRoomColumns +
                     " FROM rooms WHERE tenant_id = ? AND \"user\" = ?")
                        .c_str());
  s.bind(1, tenantId).bind(2, user);
  if (s.step() != sql::kRow) {
    return std::nullopt;
  }
  return roomFrom(s);
}

std::optional<Store::CallRoom> Store::findRoomForCall(std::string_view domain,
                                                      std::string_view user) const {
  // The tenant's columns through scalar subqueries, so that the room's columns need no table
  // prefix (kRoomColumns); the room's index (tenant_id, user) does the rest.
  Statement s(*db_, (std::string("SELECT ") + kRoomColumns +
                     ", (SELECT name FROM tenants WHERE id = rooms.tenant_id)"
                     ", (SELECT max_participants FROM tenants WHERE id = rooms.tenant_id)"
                     ", (SELECT recording_allowed FROM tenants WHERE id = rooms.tenant_id)"
                     " FROM rooms WHERE tenant_id = (" +
                     kDomainOwner + ") AND \"user\" = ?3")
                        .c_str());
  s.bind(1, domainKey(domain)).bind(2, kAnyDomain).bind(3, user);
  if (s.step() != sql::kRow) {
    return std::nullopt;
  }
  CallRoom found{roomFrom(s), Tenant{}};
  found.tenant.id = found.room.tenantId;
  found.tenant.name = s.text(kRoomColumnCount);
  found.tenant.maxParticipants = static_cast<unsigned>(s.integer(kRoomColumnCount + 1));
  found.tenant.recordingAllowed = s.integer(kRoomColumnCount + 2) != 0;
  return found;
}

std::vector<StoredRoom> Store::rooms(int64_t tenantId) const {
  Statement s(*db_, (std::string("SELECT ") + kRoomColumns +
                     " FROM rooms WHERE tenant_id = ? ORDER BY \"user\"")
                        .c_str());
  s.bind(1, tenantId);
  std::vector<StoredRoom> out;
  while (s.step() == sql::kRow) {
    out.push_back(roomFrom(s));
  }
  return out;
}

std::vector<StoredRoom> Store::roomPage(const RoomQuery& query) const {
  // Keyset paging on the primary key: a page costs the same however deep it is, and rooms added
  // or removed meanwhile never shift the next page.
  std::string sql = std::string("SELECT ") + kRoomColumns + " FROM rooms WHERE id > ?1";
  if (query.tenantId) {
    sql += " AND tenant_id = ?2";
  }
  if (!query.search.empty()) {
    // A substring, in ASCII letters of either case: the search's own '%', '_' and '\\' are
    // escaped, so it matches them as text and cannot widen itself.
    sql += " AND (lower(\"user\") LIKE ?3 ESCAPE '\\' OR lower(name) LIKE ?3 ESCAPE '\\')";
  }
  sql += " ORDER BY id LIMIT ?4";
  Statement s(*db_, sql.c_str());
  s.bind(1, query.afterId);
  if (query.tenantId) {
    s.bind(2, *query.tenantId);
  }
  if (!query.search.empty()) {
    std::string pattern = "%";
    for (char c : lower(query.search)) {
      if (c == '%' || c == '_' || c == '\\') {
        pattern += '\\';
      }
      pattern += c;
    }
    s.bind(3, pattern + "%");
  }
  s.bind(4, static_cast<int64_t>(query.limit));
  std::vector<StoredRoom> out;
  while (s.step() == sql::kRow) {
    out.push_back(roomFrom(s));
  }
  return out;
}

StoreResult<bool> Store::deleteRoom(int64_t id) {
  return sql::deleteRow(*db_, "DELETE FROM rooms WHERE id = ?", id);
}

std::optional<Role> Store::checkPin(int64_t roomId, std::string_view pin) const {
  Statement s(*db_, (std::string("SELECT ") + kPinColumns + " FROM rooms WHERE id = ?").c_str());
  s.bind(1, roomId);
  if (s.step() != sql::kRow) {
    return std::nullopt;
  }
  // No two PINs of a room are the same, so the order of the checks gives no PIN another's role.
  if (!s.isNull(1) && pinMatches(s.text(1), pin)) {
    return Role::kModerator;
  }
  if (!s.isNull(2) && pinMatches(s.text(2), pin)) {
    return Role::kListener;
  }
  if (s.isNull(0) || pinMatches(s.text(0), pin)) {
    return Role::kParticipant;  // no participant PIN: anyone is a participant
  }
  return std::nullopt;
}

}  // namespace confab::policy
