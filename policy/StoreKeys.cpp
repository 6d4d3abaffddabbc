// The REST API's keys in the policy store (issue 13): issued with 256 random bits, kept as the
// SHA-256 of the token, found by that hash, revoked by deleting the row; and the answers each key
// got to its Idempotency-Key requests.
#include <openssl/evp.h>

#include <array>
#include <chrono>
#include <string>

#include "policy/Sql.hpp"
#include "policy/Store.hpp"
#include "policy/Token.hpp"

namespace confab::policy {

namespace {

using sql::checkText;
using sql::failure;
using sql::inTransaction;
using sql::Statement;

constexpr std::string_view kTokenPrefix = "confab_";
constexpr std::size_t kMaxKeyName = 128;
// Longer than any token we issue: hashing a megabyte a stranger sent is work for nothing.
constexpr std::size_t kMaxTokenBytes = 128;

std::string sha256Hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kDigits[digest[i] >> 4];
    out += kDigits[digest[i] & 0x0f];
  }
  return out;
}

constexpr int64_t kAnswerSeconds = int64_t{24} * 3600;

int64_t unixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr const char* kKeyColumns = "id, name, tenant_id, read_only, created";

ApiKey keyFrom(const Statement& s) {
  ApiKey k;
  k.id = s.integer(0);
  k.name = s.text(1);
  k.tenantId = s.isNull(2) ? 0 : s.integer(2);
  k.readOnly = s.integer(3) != 0;
  k.created = s.integer(4);
  return k;
}

}  // namespace

StoreResult<IssuedApiKey> Store::createApiKey(const ApiKey& spec) {
  if (auto bad = checkText("name", spec.name, 0, kMaxKeyName)) {
    return *bad;
  }
  auto made = token::random(kTokenPrefix);
  if (!made) {
    return StoreError{StoreError::Kind::kIo, "no random bytes for a key"};
  }
  IssuedApiKey issued;
  issued.token = std::move(*made);
  const int64_t now = unixSeconds();
  return inTransaction<IssuedApiKey>(*db_, [&]() -> StoreResult<IssuedApiKey> {
    if (spec.tenantId != 0 && !tenant(spec.tenantId)) {
      return StoreError{StoreError::Kind::kNotFound,
                        "tenant: no tenant " + std::to_string(spec.tenantId)};
    }
    Statement insert(*db_,
                     "INSERT INTO api_keys (hash, name, tenant_id, read_only, created) "
                     "VALUES (?, ?, ?, ?, ?) RETURNING id");
    insert.bind(1, sha256Hex(issued.token)).bind(2, spec.name);
    if (spec.tenantId != 0) {
      insert.bind(3, spec.tenantId);
    } else {
      insert.bindNull(3);
    }
    insert.bind(4, int64_t{spec.readOnly ? 1 : 0}).bind(5, now);
    auto id = sql::insertedId(*db_, insert);
    if (auto* error = std::get_if<StoreError>(&id)) {
      return *error;
    }
    auto key = apiKey(std::get<int64_t>(id));
    if (!key) {
      return StoreError{StoreError::Kind::kIo, "the key vanished after writing it"};
    }
    issued.key = *key;
    return issued;
  });
}

std::optional<ApiKey> Store::apiKeyForToken(std::string_view token) const {
  if (!token.starts_with(kTokenPrefix) || token.size() > kMaxTokenBytes) {
    return std::nullopt;
  }
  Statement s(*db_,
              (std::string("SELECT ") + kKeyColumns + " FROM api_keys WHERE hash = ?").c_str());
  s.bind(1, sha256Hex(token));
  if (s.step() != sql::kRow) {
    return std::nullopt;
  }
  return keyFrom(s);
}

std::optional<ApiKey> Store::apiKey(int64_t id) const {
  Statement s(*db_, (std::string("SELECT ") + kKeyColumns + " FROM api_keys WHERE id = ?").c_str());
  s.bind(1, id);
  if (s.step() != sql::kRow) {
    return std::nullopt;
  }
  return keyFrom(s);
}

std::vector<ApiKey> Store::apiKeys(std::optional<int64_t> tenantId) const {
  return sql::rowsOfTenant<ApiKey>(*db_, std::string("SELECT ") + kKeyColumns + " FROM api_keys",
                                   tenantId, keyFrom);
}

StoreResult<bool> Store::deleteApiKey(int64_t id) {
  return sql::deleteRow(*db_, "DELETE FROM api_keys WHERE id = ?", id);
}

std::optional<Store::StoredAnswer> Store::storedAnswer(int64_t apiKeyId,
                                                       std::string_view idempotencyKey) const {
  Statement s(*db_,
              "SELECT request_hash, status, location, body FROM idempotent_answers "
              "WHERE api_key_id = ? AND idempotency_key = ? AND created > ?");
  s.bind(1, apiKeyId).bind(2, idempotencyKey).bind(3, unixSeconds() - kAnswerSeconds);
  if (s.step() != sql::kRow) {
    return std::nullopt;
  }
  return StoredAnswer{s.text(0), static_cast<int>(s.integer(1)), s.text(2), s.text(3)};
}

StoreResult<bool> Store::keepAnswer(int64_t apiKeyId,
                                    std::string_view idempotencyKey,
                                    const StoredAnswer& answer) {
  return inTransaction<bool>(*db_, [&]() -> StoreResult<bool> {
    // Old answers go as new ones come: the table holds about a day's worth.
    Statement sweep(*db_, "DELETE FROM idempotent_answers WHERE created <= ?");
    sweep.bind(1, unixSeconds() - kAnswerSeconds);
    if (sweep.step() != sql::kDone) {
      return failure(*db_);
    }
    Statement put(*db_,
                  "INSERT INTO idempotent_answers (api_key_id, idempotency_key, request_hash, "
                  "status, location, body, created) VALUES (?, ?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT (api_key_id, idempotency_key) DO UPDATE SET "
                  "request_hash = excluded.request_hash, status = excluded.status, "
                  "location = excluded.location, body = excluded.body, created = excluded.created");
    put.bind(1, apiKeyId)
        .bind(2, idempotencyKey)
        .bind(3, answer.requestHash)
        .bind(4, int64_t{answer.status})
        .bind(5, answer.location)
        .bind(6, answer.body)
        .bind(7, unixSeconds());
    if (put.step() != sql::kDone) {
      return failure(*db_);
    }
    return true;
  });
}

StoreResult<bool> Store::together(const std::function<bool()>& body) {
  return inTransaction<bool>(*db_, [&]() -> StoreResult<bool> {
    if (!body()) {
      return StoreError{StoreError::Kind::kInvalid, "not written: the request failed"};
    }
    return true;
  });
}

}  // namespace confab::policy
