// The store on PostgreSQL (libpq), so that several confab nodes share tenants, rooms, keys and
// records. Each Store is one connection, used by one thread, in autocommit except inside the
// store's transactions. Writers take one advisory lock per schema for their transaction: the same
// one-writer-at-a-time rule SQLite's BEGIN IMMEDIATE gives, across every node, so that a check
// and the write it guards (a room limit, the first start's seeding) hold under READ COMMITTED.
#include <libpq-fe.h>

#include <array>
#include <charconv>
#include <cstring>
#include <limits>
#include <system_error>

#include "policy/Schema.hpp"
#include "policy/Sql.hpp"

namespace confab::policy::sql {

namespace {

// Parameter types as the server knows them (pg_type.oid).
constexpr Oid kInt8 = 20;
constexpr Oid kText = 25;
constexpr Oid kFloat8 = 701;

// What a connection sets for itself. A lookup on the SIP thread must not hang on a stuck server
// (statement_timeout), nor a writer wait on another for ever (lock_timeout, the 5 s SQLite's busy
// timeout gives); commits wait for the server's WAL flush whatever the server's default.
constexpr const char* kSession =
    "SET client_encoding = 'UTF8'; SET client_min_messages = 'warning'; "
    "SET statement_timeout = '10s'; SET lock_timeout = '5s'; SET synchronous_commit = 'on'";

// The write lock: a transaction-scoped advisory lock, one per schema (two deployments sharing a
// database in their own schemas do not wait for each other).
constexpr const char* kBeginWrite =
    "BEGIN; SELECT pg_advisory_xact_lock(1667198566, hashtext(current_schema()))";

// The store's SQL uses SQLite's parameters: '?N' is $N, a bare '?' the next number after the
// highest so far. Quoted text and identifiers are copied as they are.
std::string dollarParameters(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 8);
  int highest = 0;
  char quote = 0;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote != 0) {
      out += c;
      if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out += c;
      continue;
    }
    if (c != '?') {
      out += c;
      continue;
    }
    std::size_t end = i + 1;
    while (end < sql.size() && sql[end] >= '0' && sql[end] <= '9') {
      ++end;
    }
    int number = highest + 1;
    if (end > i + 1) {
      std::from_chars(sql.data() + i + 1, sql.data() + end, number);
    }
    highest = std::max(highest, number);
    out += '$';
    out += std::to_string(number);
    i = end - 1;
  }
  return out;
}

// PostgreSQL's text holds valid UTF-8 without NUL; SQLite's holds any bytes. A name a SIP phone
// sent in Latin-1 must still be recorded: each byte that is not part of a valid sequence becomes
// U+FFFD rather than failing the write.
std::string validUtf8(std::string_view in) {
  const auto continuation = [&](std::size_t at) {
    return at < in.size() && (static_cast<unsigned char>(in[at]) & 0xC0) == 0x80;
  };
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size();) {
    const auto c = static_cast<unsigned char>(in[i]);
    std::size_t length = 0;
    if (c >= 0x01 && c < 0x80) {
      length = 1;
    } else if (c >= 0xC2 && c <= 0xDF && continuation(i + 1)) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF && continuation(i + 1) && continuation(i + 2)) {
      const auto c1 = static_cast<unsigned char>(in[i + 1]);
      // No overlong forms (E0 80..9F) and no surrogates (ED A0..BF).
      if (!(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0)) {
        length = 3;
      }
    } else if (c >= 0xF0 && c <= 0xF4 && continuation(i + 1) && continuation(i + 2) &&
               continuation(i + 3)) {
      const auto c1 = static_cast<unsigned char>(in[i + 1]);
      if (!(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90)) {
        length = 4;
      }
    }
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(in.substr(i, length));
      i += length;
    }
  }
  return out;
}

// libpq's messages end in a line break; ours go into one line of a log or an HTTP problem.
std::string trimmed(const char* message) {
  std::string out = message != nullptr ? message : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

class PostgresDatabase;

class PostgresCursor final : public Cursor {
 public:
  PostgresCursor(PostgresDatabase& db, std::string sql) : db_(db), sql_(std::move(sql)) {}
  ~PostgresCursor() override { PQclear(result_); }
  PostgresCursor(const PostgresCursor&) = delete;
  PostgresCursor& operator=(const PostgresCursor&) = delete;

  void bind(int i, int64_t v) override { set(i, std::to_string(v), kInt8); }
  void bind(int i, std::string_view v) override { set(i, validUtf8(v), kText); }
  void bind(int i, double v) override {
    std::array<char, 32> text{};
    const auto written = std::to_chars(text.data(), text.data() + text.size(), v);
    set(i, std::string(text.data(), written.ptr), kFloat8);
  }
  void bindNull(int i) override {
    grow(i);
    values_[static_cast<std::size_t>(i - 1)].reset();
    types_[static_cast<std::size_t>(i - 1)] = 0;  // the server infers it from where it goes
  }
  Step step() override;
  [[nodiscard]] int64_t integer(int i) const override {
    const char* v = value(i);
    if (v == nullptr) {
      return 0;
    }
    if (v[0] == 't' || v[0] == 'f') {  // a boolean: EXISTS, IS NOT NULL
      return v[0] == 't' ? 1 : 0;
    }
    int64_t out = 0;
    std::from_chars(v, v + std::strlen(v), out);
    return out;
  }
  [[nodiscard]] double real(int i) const override {
    const char* v = value(i);
    if (v == nullptr) {
      return 0;
    }
    double out = 0;
    if (std::strcmp(v, "NaN") == 0) {
      return std::numeric_limits<double>::quiet_NaN();
    }
    if (std::strcmp(v, "Infinity") == 0 || std::strcmp(v, "-Infinity") == 0) {
      return v[0] == '-' ? -std::numeric_limits<double>::infinity()
                         : std::numeric_limits<double>::infinity();
    }
    std::from_chars(v, v + std::strlen(v), out);
    return out;
  }
  [[nodiscard]] std::string text(int i) const override {
    const char* v = value(i);
    return v != nullptr ? std::string(v, static_cast<std::size_t>(PQgetlength(result_, row_, i)))
                        : std::string();
  }
  [[nodiscard]] bool isNull(int i) const override {
    return result_ == nullptr || row_ >= rows_ || PQgetisnull(result_, row_, i) != 0;
  }
  [[nodiscard]] int64_t changes() const override { return changes_; }

 private:
  void grow(int i) {
    const auto n = static_cast<std::size_t>(std::max(i, 1));
    if (values_.size() < n) {
      values_.resize(n);
      // A number the statement skips ('?4' bound, '?2' not) still needs a type.
      types_.resize(n, kText);
    }
  }
  void set(int i, std::string v, Oid type) {
    grow(i);
    values_[static_cast<std::size_t>(i - 1)] = std::move(v);
    types_[static_cast<std::size_t>(i - 1)] = type;
  }
  [[nodiscard]] const char* value(int i) const {
    if (result_ == nullptr || row_ >= rows_ || i >= PQnfields(result_) ||
        PQgetisnull(result_, row_, i) != 0) {
      return nullptr;
    }
    return PQgetvalue(result_, row_, i);
  }

  PostgresDatabase& db_;
  std::string sql_;
  std::vector<std::optional<std::string>> values_;
  std::vector<Oid> types_;
  PGresult* result_ = nullptr;
  bool ran_ = false;
  int rows_ = 0;
  int row_ = -1;
  int64_t changes_ = 0;
};

class PostgresDatabase final : public Database {
 public:
  explicit PostgresDatabase(PGconn* conn) : conn_(conn) {
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
  }
  ~PostgresDatabase() override { PQfinish(conn_); }
  PostgresDatabase(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(const PostgresDatabase&) = delete;

  std::optional<StoreError> setUp() {
    if (PQstatus(conn_) != CONNECTION_OK) {
      return StoreError{StoreError::Kind::kIo, trimmed(PQerrorMessage(conn_))};
    }
    return exec(kSession);
  }

  std::unique_ptr<Cursor> prepare(std::string_view sql) override {
    return std::make_unique<PostgresCursor>(*this, dollarParameters(sql));
  }

  // Runs one statement: its result, or nullptr with the error kept. A connection found broken
  // outside a transaction (the server restarted, a proxy dropped it) is opened again and the
  // statement sent once more; inside one, the transaction is lost and fails as it should.
  PGresult* run(const std::string& sql,
                const std::vector<std::optional<std::string>>& values,
                const std::vector<Oid>& types) {
    const bool idle = !inTransaction();
    if (idle && PQstatus(conn_) != CONNECTION_OK) {
      reconnect();
    }
    for (int attempt = 0;; ++attempt) {
      std::vector<const char*> pointers;
      pointers.reserve(values.size());
      for (const auto& v : values) {
        pointers.push_back(v ? v->c_str() : nullptr);
      }
      PGresult* result = values.empty() && types.empty()
                             ? PQexec(conn_, sql.c_str())
                             : PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()),
                                            types.data(), pointers.data(), nullptr, nullptr, 0);
      const ExecStatusType status = PQresultStatus(result);
      if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        return result;
      }
      keepError(result);
      PQclear(result);
      if (attempt == 0 && idle && PQstatus(conn_) != CONNECTION_OK && reconnect()) {
        continue;
      }
      return nullptr;
    }
  }

  std::optional<StoreError> exec(const std::string& sql) override {
    PGresult* result = run(sql, {}, {});
    if (result == nullptr) {
      return lastError();
    }
    PQclear(result);
    return std::nullopt;
  }
  std::optional<StoreError> beginWrite() override {
    if (auto error = exec(kBeginWrite)) {
      // A lock timeout leaves the transaction begun and failed: end it, or every later
      // statement on this connection fails.
      const StoreError kept = *error;
      (void)exec("ROLLBACK");
      return kept;
    }
    return std::nullopt;
  }
  [[nodiscard]] bool inTransaction() const override {
    const PGTransactionStatusType status = PQtransactionStatus(conn_);
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
  }
  [[nodiscard]] StoreError lastError() const override {
    StoreError e;
    // SQLSTATE class 23: integrity constraint violation (unique, foreign key, check, not null).
    e.kind = state_.starts_with("23") ? StoreError::Kind::kConflict : StoreError::Kind::kIo;
    e.message = message_;
    return e;
  }
  [[nodiscard]] bool lastWasUniqueViolation() const override { return state_ == "23505"; }

  [[nodiscard]] int schemaVersion() override {
    Statement exists(*this, "SELECT to_regclass('schema_version') IS NOT NULL");
    if (exists.step() != kRow) {
      return -1;
    }
    if (exists.integer(0) == 0) {
      return 0;
    }
    Statement s(*this, "SELECT version FROM schema_version");
    return s.step() == kRow ? static_cast<int>(s.integer(0)) : -1;
  }
  std::optional<StoreError> migrate() override {
    // Under the write lock: two nodes starting on an empty database create it once.
    if (auto error = beginWrite()) {
      return error;
    }
    auto result = migrateLocked();
    if (result) {
      (void)exec("ROLLBACK");
      return result;
    }
    if (auto error = exec("COMMIT")) {
      (void)exec("ROLLBACK");
      return error;
    }
    return std::nullopt;
  }
  // Each commit waits for the server's WAL flush already (synchronous_commit = on, set for the
  // session): the store asks no less of PostgreSQL than SQLite's FULL, whichever is asked.
  std::optional<StoreError> flushEachChange(bool /*full*/) override {
    return exec("SET synchronous_commit = 'on'");
  }
  [[nodiscard]] bool flushesEachChange() override {
    Statement s(*this, "SHOW synchronous_commit");
    return s.step() == kRow && s.text(0) != "off";
  }

 private:
  std::optional<StoreError> migrateLocked() {
    int version = schemaVersion();
    if (version < 0) {
      return StoreError{StoreError::Kind::kIo, "cannot read the schema version: " + message_};
    }
    if (version > Store::kSchemaVersion) {
      return StoreError{StoreError::Kind::kInvalid,
                        "the store is at schema version " + std::to_string(version) +
                            ", newer than this confab knows (" +
                            std::to_string(Store::kSchemaVersion) + "): refusing to touch it"};
    }
    const int from = version;
    for (const auto& step : schema::kPostgresSteps) {
      if (step.from != version) {
        continue;
      }
      if (auto error = exec(step.sql)) {
        error->message = "schema version " + std::to_string(step.to) + ": " + error->message;
        return error;
      }
      version = step.to;
    }
    if (version != Store::kSchemaVersion) {
      return StoreError{StoreError::Kind::kInvalid, "no way from schema version " +
                                                        std::to_string(from) + " to " +
                                                        std::to_string(Store::kSchemaVersion)};
    }
    if (version == from) {
      return std::nullopt;
    }
    const std::string bump = from == 0
                                 ? "CREATE TABLE schema_version (version BIGINT NOT NULL); "
                                   "INSERT INTO schema_version VALUES (" +
                                       std::to_string(version) + ")"
                                 : "UPDATE schema_version SET version = " + std::to_string(version);
    return exec(bump);
  }

  bool reconnect() {
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK) {
      state_.clear();
      message_ = trimmed(PQerrorMessage(conn_));
      return false;
    }
    PGresult* result = PQexec(conn_, kSession);
    const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    PQclear(result);
    return ok;
  }

  void keepError(const PGresult* result) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    state_ = state != nullptr ? state : "";
    const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    message_ = trimmed(primary != nullptr ? primary : PQerrorMessage(conn_));
  }

  PGconn* conn_;
  std::string state_;
  std::string message_;
};

Step PostgresCursor::step() {
  if (!ran_) {
    ran_ = true;
    result_ = db_.run(sql_, values_, types_);
    if (result_ == nullptr) {
      return Step::kError;
    }
    rows_ = PQntuples(result_);
    std::from_chars(PQcmdTuples(result_), PQcmdTuples(result_) + std::strlen(PQcmdTuples(result_)),
                    changes_);
  } else if (result_ == nullptr) {
    return Step::kError;
  }
  if (row_ + 1 < rows_) {
    ++row_;
    return Step::kRow;
  }
  row_ = rows_;
  return Step::kDone;
}

}  // namespace

StoreResult<std::unique_ptr<Database>> openPostgres(const std::string& uri) {
  // A server that cannot be reached (a host that drops packets) must not hold the SIP thread for
  // TCP's own minutes: 3 s unless the URI says otherwise (its keywords come after, and win).
  const char* const keywords[] = {"connect_timeout", "dbname", nullptr};
  const char* const values[] = {"3", uri.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 1);
  if (conn == nullptr) {
    return StoreError{StoreError::Kind::kIo, "cannot connect: out of memory"};
  }
  auto db = std::make_unique<PostgresDatabase>(conn);
  if (auto error = db->setUp()) {
    return StoreError{StoreError::Kind::kIo, "cannot connect to PostgreSQL: " + error->message};
  }
  if (auto error = db->migrate()) {
    return *error;
  }
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace confab::policy::sql
