// The policy store (issue 11): tenants, the SIP domains they own, and their rooms with PINs and
// rules, persisted in one SQLite file (WAL journal: readers never wait for the writer), or in a
// PostgreSQL database that several confab nodes share (issue 14). The same schema on both, with a
// version and migrations applied in order, foreign keys enforced, and every change one
// transaction, writers one at a time. PINs are stored only as salted PBKDF2-HMAC-SHA256 hashes:
// they can be checked, never read back.
//
// Errors are values (StoreError), never exceptions; a constraint a caller broke (a duplicate
// room number, an unknown tenant, a malformed domain) says which. A lookup by domain or by room is
// one indexed query (the SIP thread can afford it; on PostgreSQL, one round trip to the server).
// One Store per thread: a Store is one connection, and connections are not shared.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "policy/CallQuality.hpp"
#include "policy/Room.hpp"

namespace confab::policy {

namespace sql {
class Database;
}

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
  // The SIP domains (Request-URI hosts) it owns: host names in lower case, IP literals in their
  // canonical form without brackets, or kAnyDomain.
  std::vector<std::string> domains;
  // Who its dial-outs are to the enterprise's PBX (setDialOutAccount), for display: the
  // username ("" when it has none) and the realm it is for ("": any). The password never leaves
  // the store except through dialOutAccount().
  std::string dialOutUser{};
  std::string dialOutRealm{};
};

// The digest account (RFC 3261 §22, RFC 8760) a tenant's dial-outs answer challenges with, so
// that each enterprise's PBX sees its own user. The password is kept as given: digest needs it
// (or a hash per realm and algorithm, which an account for any realm cannot have in advance),
// so the store file is as secret as a password file and is created readable by its owner only.
struct SipAccount {
  std::string username;  // 1 to 256 bytes, no control characters
  std::string password;  // 1 to 256 bytes, no control characters
  std::string realm;     // the challenges' realm it answers; empty: any realm
};

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
  // Anyone may watch the roster (RFC 4575 SUBSCRIBE), not only those in the conference.
  bool publicRoster = false;
  // Participants, not only moderators, may call people in and remove them (RFC 4579 REFER).
  bool participantsInvite = false;
  // Whether a PIN is set (the PINs themselves are write-only).
  bool hasParticipantPin = false;
  bool hasModeratorPin = false;
  bool hasListenerPin = false;
};

// A key to the REST API (issue 13): a bearer token shown once when issued and kept only as its
// SHA-256 (the token is 256 random bits, so a plain hash cannot be searched back). An operator key
// (tenantId 0) runs the bridge: tenants and their keys; a tenant key sees and steers only its
// tenant's rooms. A read-only key may only read.
struct ApiKey {
  int64_t id = 0;
  std::string name;      // a label for people, 0 to 128 bytes
  int64_t tenantId = 0;  // 0: an operator key
  bool readOnly = false;
  int64_t created = 0;  // Unix seconds
};

// A key as issued: the only time its token exists outside the client.
struct IssuedApiKey {
  ApiKey key;
  std::string token;  // "confab_" and 43 characters of base64url (RFC 4648 §5)
};

// One participant's time in a conference, written when they leave (issue 13 item 6). Times are
// Unix milliseconds; a record outlives its room, and goes with its tenant.
struct CallRecord {
  int64_t id = 0;
  int64_t tenantId = 0;           // 0: an ad-hoc conference, no tenant's
  std::string room;               // the conference's live name ("4000@acme")
  int64_t conferenceStarted = 0;  // which conference in that room
  std::string callId;
  std::string entity;  // who: their SIP URI
  std::string displayName;
  std::string role;     // participant, moderator, listener
  std::string joining;  // dialed-in, dialed-out
  int64_t joined = 0;
  int64_t left = 0;
  std::string codec;  // "PCMU/8000"; empty when they never got media
  bool srtp = false;
  std::string disconnection;  // departed, booted, failed, busy
  std::string reason;
  std::optional<CallQuality> quality;  // none when the call never had media
};

// One conference, written when it ends.
struct ConferenceRecord {
  int64_t id = 0;
  int64_t tenantId = 0;
  std::string room;
  int64_t started = 0;
  int64_t ended = 0;
  unsigned participants = 0;  // how many took part, over its life
};

// Which records: one tenant's (nullopt: all), one room's (empty: any), after an id, at most
// 'limit', oldest first.
struct RecordQuery {
  std::optional<int64_t> tenantId;
  std::string room;
  int64_t afterId = 0;
  std::size_t limit = 100;
};

// A webhook (issue 13 item 3): where a tenant's events are POSTed, signed with its secret. The
// secret is kept as given (HMAC needs it, unlike a key's token, which only needs comparing), and
// shown to people once, when the webhook is made.
struct Webhook {
  int64_t id = 0;
  int64_t tenantId = 0;             // 0: the operator's, which receives every tenant's events
  std::string url;                  // http://... (checked by the API, which knows the rules)
  std::string secret;               // "whsec_" and 43 characters of base64url
  std::vector<std::string> events;  // event types it wants ("participant.joined"); empty: all
  int64_t created = 0;              // Unix seconds
  // The secret a rotation replaced, still signing beside the new one until oldSecretUntil (Unix
  // seconds), so that receivers can take the new secret without losing deliveries meanwhile.
  std::string oldSecret;
  int64_t oldSecretUntil = 0;
};

// How a webhook's deliveries go, for people: what is queued, what failed, what was dropped.
struct WebhookStatus {
  uint64_t pending = 0;
  uint64_t failed = 0;      // given up on, kept for inspection
  uint64_t dropped = 0;     // pushed out of a full outbox, since the webhook was made
  int64_t lastSuccess = 0;  // Unix milliseconds; 0: never
  int64_t lastFailure = 0;  // Unix milliseconds; 0: never
  std::string lastError;
};

// One event waiting in a webhook's outbox (times in Unix milliseconds: they outlive a restart).
struct OutboxEntry {
  int64_t id = 0;
  int64_t webhookId = 0;
  std::string event;  // the JSON body, as the WebSocket stream sends it
  int64_t created = 0;
  unsigned attempts = 0;
  int64_t nextAttempt = 0;
};

// What enqueueing one event did: the rows written, and how many old ones a full outbox dropped.
struct Enqueued {
  std::vector<int64_t> webhooks;  // the webhooks it was queued for
  uint64_t dropped = 0;
};

// What createRoom/updateRoom take: the room, and PINs to set (nullopt: leave as is; empty
// string: remove). A PIN is 4 to 16 digits, and no two of a room's PINs are the same: a PIN set
// equal to another set in the same change, or to one the room keeps, is a kInvalid naming both.
struct RoomChange {
  StoredRoom room;
  std::optional<std::string> participantPin;
  std::optional<std::string> moderatorPin;
  std::optional<std::string> listenerPin;  // enters muted, unable to unmute (Role::kListener)
};

class Store {
 public:
  // The schema version this code writes; open() migrates older files up to it and refuses newer.
  static constexpr int kSchemaVersion = 11;
  // The wildcard domain: its tenant owns every domain no other tenant owns.
  static constexpr std::string_view kAnyDomain = "*";
  // The tenant seedDefault() creates.
  static constexpr std::string_view kDefaultTenant = "default";

  // Opens the store at 'location', creating its tables (and on SQLite the file) if need be and
  // migrating older ones: a SQLite file's path, or a PostgreSQL connection URI
  // ("postgresql://user@host/db", "postgresql:///db?host=/run/postgresql"; isPostgres).
  static StoreResult<std::unique_ptr<Store>> open(const std::string& location);
  static bool isPostgres(std::string_view location);
  // The location as logs and messages may show it: a URI's password (user:PASSWORD@, or
  // password=) replaced by "***".
  static std::string shown(std::string_view location);
  // On SQLite in WAL mode with synchronous=NORMAL (the default) a committed change survives a
  // crash of the process, and the last ones may not survive a power loss; with 'full' each commit
  // waits for the disk's flush as well (SQLite synchronous=FULL), at the disk's pace. On
  // PostgreSQL each commit waits for the server's WAL flush either way (synchronous_commit=on).
  StoreResult<bool> flushEachChange(bool full);
  [[nodiscard]] bool flushesEachChange() const;
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  [[nodiscard]] int schemaVersion() const;

  // A name of 1 to 128 bytes no other tenant has (no control characters); each domain valid
  // (normalizeDomain), listed once, and owned by no other tenant. kInvalid or kConflict otherwise.
  // With 'dialOut', its dial-out account is set in the same transaction.
  StoreResult<Tenant> createTenant(const Tenant& tenant,
                                   const std::optional<SipAccount>& dialOut = std::nullopt);
  // Replaces the name, the limits and the whole list of domains of the tenant with tenant.id, in
  // one transaction: on any error nothing of it changed.
  // With 'dialOut', its dial-out account is set (inner value) or removed (inner nullopt) in the
  // same transaction.
  StoreResult<Tenant> updateTenant(
      const Tenant& tenant, const std::optional<std::optional<SipAccount>>& dialOut = std::nullopt);
  // The tenant that owns a SIP domain (case-insensitive; an IP literal in any spelling) exactly,
  // else the one that owns kAnyDomain, if any.
  [[nodiscard]] std::optional<Tenant> tenantForDomain(std::string_view domain) const;
  [[nodiscard]] std::optional<Tenant> tenant(int64_t id) const;
  [[nodiscard]] std::optional<Tenant> tenantByName(std::string_view name) const;
  [[nodiscard]] std::vector<Tenant> tenants() const;  // by name
  StoreResult<bool> deleteTenant(int64_t id);         // its domains and rooms go with it

  // Sets (or with nullopt removes) the account the tenant's dial-outs authenticate with.
  // kInvalid names the field; kNotFound for an unknown tenant.
  StoreResult<bool> setDialOutAccount(int64_t tenantId, const std::optional<SipAccount>& account);
  // The whole account, password included: for the focus placing a call, never for display.
  [[nodiscard]] std::optional<SipAccount> dialOutAccount(int64_t tenantId) const;
  // What setDialOutAccount refuses in an account (kInvalid naming the field), so that a caller
  // changing a tenant and its account can check both before writing either.
  static std::optional<StoreError> checkAccount(const SipAccount& account);

  // First start: when the store holds no tenant at all, creates kDefaultTenant owning kAnyDomain
  // with these rooms (user part, name), each limited to maxParticipants, in one transaction.
  // Once any tenant exists it changes nothing: it returns kDefaultTenant, or kNotFound when the
  // operator has removed it.
  StoreResult<Tenant> seedDefault(const std::vector<std::pair<std::string, std::string>>& rooms,
                                  unsigned maxParticipants);

  // The user part is what Directory::validId accepts, the name at most 128 bytes, the language a
  // tag such as "pt-BR"; creating one within the tenant's maxRooms. kInvalid names the field.
  StoreResult<StoredRoom> createRoom(const RoomChange& change);
  StoreResult<StoredRoom> updateRoom(const RoomChange& change);
  [[nodiscard]] std::optional<StoredRoom> room(int64_t id) const;
  [[nodiscard]] std::optional<StoredRoom> findRoom(int64_t tenantId, std::string_view user) const;
  // What a call needs at once, in one query (one round trip on PostgreSQL): the room 'user' of
  // the tenant tenantForDomain(domain) names, with that tenant's id, name and limit (not its
  // domains or dial-out account). An exact owner without that room is no room: the wildcard
  // tenant's room of the same number is not reached through another tenant's domain.
  struct CallRoom {
    StoredRoom room;
    Tenant tenant;  // id, name, maxParticipants and recordingAllowed only
  };
  [[nodiscard]] std::optional<CallRoom> findRoomForCall(std::string_view domain,
                                                        std::string_view user) const;
  [[nodiscard]] std::vector<StoredRoom> rooms(int64_t tenantId) const;
  // A page of rooms by id: those after 'afterId', at most 'limit', of one tenant or (nullopt)
  // all, and with 'search' (unless empty) in their user part or name, case-insensitively.
  struct RoomQuery {
    std::optional<int64_t> tenantId;
    int64_t afterId = 0;
    std::size_t limit = 100;
    std::string search;
  };
  [[nodiscard]] std::vector<StoredRoom> roomPage(const RoomQuery& query) const;
  StoreResult<bool> deleteRoom(int64_t id);

  // Issues a key for spec's tenant (0: operator) with spec's name and access; id and created
  // are the store's. kNotFound for an unknown tenant, kInvalid for a bad name.
  StoreResult<IssuedApiKey> createApiKey(const ApiKey& spec);
  // The key a bearer token is, if it is one (revoked keys are gone): one indexed query.
  [[nodiscard]] std::optional<ApiKey> apiKeyForToken(std::string_view token) const;
  [[nodiscard]] std::optional<ApiKey> apiKey(int64_t id) const;
  // Every key (tenantId nullopt), or one tenant's (0: the operator keys), by id.
  [[nodiscard]] std::vector<ApiKey> apiKeys(std::optional<int64_t> tenantId = std::nullopt) const;
  // Revokes a key: the next request with it is refused. False when there was none.
  StoreResult<bool> deleteApiKey(int64_t id);

  // Call detail records (issue 13 item 6), kept until their tenant goes or they are swept.
  StoreResult<int64_t> addCallRecord(const CallRecord& record);
  StoreResult<int64_t> addConferenceRecord(const ConferenceRecord& record);
  // Removes the call records that ended before 'unixMillis' and the conference records likewise;
  // how many went.
  StoreResult<int64_t> deleteRecordsBefore(int64_t unixMillis);
  [[nodiscard]] std::vector<CallRecord> callRecords(const RecordQuery& query) const;
  [[nodiscard]] std::vector<ConferenceRecord> conferenceRecords(const RecordQuery& query) const;

  // Responses kept for Idempotency-Key (issue 13 item 2): a POST repeated with the same key by
  // the same API key gets the first answer again instead of creating twice. Kept a day.
  struct StoredAnswer {
    std::string requestHash;  // what was asked: the same key with another request is refused
    int status = 0;
    std::string location;
    std::string body;
  };
  [[nodiscard]] std::optional<StoredAnswer> storedAnswer(int64_t apiKeyId,
                                                         std::string_view idempotencyKey) const;
  StoreResult<bool> keepAnswer(int64_t apiKeyId,
                               std::string_view idempotencyKey,
                               const StoredAnswer& answer);

  // Runs 'body' as one transaction: the changes made in it (each its own transaction otherwise)
  // are written together when it returns true and none of them when it returns false or the
  // commit fails (the error then). For writes that must not outlive each other after a crash: a
  // created resource and the Idempotency-Key answer that says it was created.
  StoreResult<bool> together(const std::function<bool()>& body);

  // Webhooks (issue 13 item 3; policy/StoreWebhooks.cpp). createWebhook makes the secret; the
  // tenant must exist (kNotFound), the URL be 1 to 2000 bytes without control characters
  // (kInvalid). Deleting a webhook, or its tenant, deletes its outbox with it.
  StoreResult<Webhook> createWebhook(const Webhook& spec);
  [[nodiscard]] std::optional<Webhook> webhook(int64_t id) const;
  // Every webhook (nullopt), or one tenant's (0: the operator's), by id.
  [[nodiscard]] std::vector<Webhook> webhooks(std::optional<int64_t> tenantId = std::nullopt) const;
  StoreResult<bool> deleteWebhook(int64_t id);
  // A webhook's url and events as 'spec' has them (same rules as createWebhook); its secret and
  // tenant stay. kNotFound when it is gone.
  StoreResult<Webhook> updateWebhook(const Webhook& spec);
  // A new secret for the webhook; the one it replaces keeps signing too for 'overlap' (zero: it
  // stops at once), so a receiver can switch without a gap.
  StoreResult<Webhook> rotateWebhookSecret(int64_t id, std::chrono::seconds overlap);
  [[nodiscard]] std::optional<WebhookStatus> webhookStatus(int64_t id) const;

  // The outbox: an event accepted here is on disk before the caller goes on, so it is delivered
  // even if the process dies next. One row per webhook that wants it: the tenant's own (tenantId
  // 0, an ad-hoc conference's, has none) and the operator's, filtered by type; all in one
  // transaction. A webhook holds at most 'limit' rows: beyond, its oldest are dropped (and
  // counted), so that a receiver that is down for good cannot fill the disk.
  static constexpr std::size_t kOutboxLimit = 10000;
  StoreResult<Enqueued> enqueueEvent(int64_t tenantId,
                                     std::string_view type,
                                     std::string_view event,
                                     int64_t nowMs,
                                     std::size_t limit = kOutboxLimit);
  // The webhooks with events pending, and the oldest pending event of one (its next delivery:
  // they go in order).
  [[nodiscard]] std::vector<int64_t> webhooksWithPending() const;
  // Several nodes on one store deliver from one outbox: a node sends a webhook's events only
  // while it holds the webhook's lease, so each event goes out once and in order. Claims (or
  // renews) it for 'owner' until 'untilMs' when it is free, lapsed by 'nowMs', or owner's already;
  // false when another node holds it. releaseDelivery frees it when the owner has nothing to send.
  StoreResult<bool> claimDelivery(int64_t webhookId,
                                  std::string_view owner,
                                  int64_t nowMs,
                                  int64_t untilMs);
  StoreResult<bool> releaseDelivery(int64_t webhookId, std::string_view owner);
  [[nodiscard]] std::optional<OutboxEntry> nextDelivery(int64_t webhookId) const;
  // A delivery's outcome: delivered (the row goes), to be retried at 'nextAttemptMs', or given
  // up on (nullopt: the row stays, failed, for inspection). False when the row is gone already
  // (its webhook was deleted meanwhile).
  StoreResult<bool> markDelivered(int64_t entryId, int64_t nowMs);
  StoreResult<bool> markFailed(int64_t entryId,
                               std::string_view error,
                               int64_t nowMs,
                               std::optional<int64_t> nextAttemptMs);

  // The role a PIN gives in a room: the moderator PIN gives kModerator, the listener PIN
  // kListener, the participant PIN kParticipant; without a participant PIN anyone else is a
  // kParticipant. Nothing for a wrong PIN (or an unknown room).
  [[nodiscard]] std::optional<Role> checkPin(int64_t roomId, std::string_view pin) const;

  // A PIN's stored form: "pbkdf2-sha256$ITERATIONS$SALT-HEX$HASH-HEX", with a random salt.
  static std::string hashPin(std::string_view pin);
  static bool pinMatches(std::string_view stored, std::string_view pin);
  static bool validPin(std::string_view pin);
  // A domain as stored: kAnyDomain; a host name (letters, digits, '-' and '.', RFC 1123 labels)
  // in lower case; an IPv4 literal; an IPv6 literal, bracketed or not, in its canonical form
  // (RFC 5952). A kInvalid error naming the domain otherwise.
  static StoreResult<std::string> normalizeDomain(std::string_view domain);

 private:
  explicit Store(std::unique_ptr<sql::Database> db);
  StoreResult<StoredRoom> writeRoom(const RoomChange& change, bool create);

  std::unique_ptr<sql::Database> db_;
};

}  // namespace confab::policy
