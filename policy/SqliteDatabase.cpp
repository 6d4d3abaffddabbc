// The store on SQLite: one file, WAL journal (readers never wait for the writer), foreign keys on,
// the schema version in PRAGMA user_version.
#include <sqlite3.h>
#include <sys/stat.h>

#include "policy/Schema.hpp"
#include "policy/Sql.hpp"

namespace confab::policy::sql {

namespace {

// Another connection writing (the server, or the operator's tool while the server writes) makes
// us wait, not fail: WAL has one writer at a time, and a write is milliseconds.
constexpr int kBusyTimeoutMs = 5000;

class SqliteCursor final : public Cursor {
 public:
  SqliteCursor(sqlite3* db, std::string_view sql, int& lastCode) : db_(db), lastCode_(lastCode) {
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
        SQLITE_OK) {
      stmt_ = nullptr;
    }
  }
  ~SqliteCursor() override { sqlite3_finalize(stmt_); }
  SqliteCursor(const SqliteCursor&) = delete;
  SqliteCursor& operator=(const SqliteCursor&) = delete;

  void bind(int i, int64_t v) override { sqlite3_bind_int64(stmt_, i, v); }
  void bind(int i, std::string_view v) override {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, double v) override { sqlite3_bind_double(stmt_, i, v); }
  void bindNull(int i) override { sqlite3_bind_null(stmt_, i); }
  Step step() override {
    if (stmt_ == nullptr) {
      lastCode_ = sqlite3_extended_errcode(db_);
      return Step::kError;
    }
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) {
      return Step::kRow;
    }
    if (rc == SQLITE_DONE) {
      changes_ = sqlite3_changes(db_);
      return Step::kDone;
    }
    lastCode_ = sqlite3_extended_errcode(db_);
    return Step::kError;
  }
  [[nodiscard]] int64_t integer(int i) const override { return sqlite3_column_int64(stmt_, i); }
  [[nodiscard]] double real(int i) const override { return sqlite3_column_double(stmt_, i); }
  [[nodiscard]] std::string text(int i) const override {
    const auto* p = sqlite3_column_text(stmt_, i);
    return p != nullptr ? std::string(reinterpret_cast<const char*>(p),
                                      static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)))
                        : std::string();
  }
  [[nodiscard]] bool isNull(int i) const override {
    return sqlite3_column_type(stmt_, i) == SQLITE_NULL;
  }
  [[nodiscard]] int64_t changes() const override { return changes_; }

 private:
  sqlite3* db_;
  int& lastCode_;
  sqlite3_stmt* stmt_ = nullptr;
  int64_t changes_ = 0;
};

class SqliteDatabase final : public Database {
 public:
  explicit SqliteDatabase(sqlite3* db) : db_(db) {}
  ~SqliteDatabase() override { sqlite3_close(db_); }
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  std::unique_ptr<Cursor> prepare(std::string_view sql) override {
    return std::make_unique<SqliteCursor>(db_, sql, lastCode_);
  }
  std::optional<StoreError> exec(const std::string& sql) override {
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
    if (rc == SQLITE_OK) {
      return std::nullopt;
    }
    lastCode_ = sqlite3_extended_errcode(db_);
    StoreError e = lastError();
    if (message != nullptr) {
      e.message = message;
      sqlite3_free(message);
    }
    return e;
  }
  std::optional<StoreError> beginWrite() override { return exec("BEGIN IMMEDIATE"); }
  [[nodiscard]] bool inTransaction() const override { return sqlite3_get_autocommit(db_) == 0; }
  [[nodiscard]] StoreError lastError() const override {
    StoreError e;
    e.kind = (lastCode_ & 0xFF) == SQLITE_CONSTRAINT ? StoreError::Kind::kConflict
                                                     : StoreError::Kind::kIo;
    e.message = sqlite3_errmsg(db_);
    return e;
  }
  [[nodiscard]] bool lastWasUniqueViolation() const override {
    return lastCode_ == SQLITE_CONSTRAINT_UNIQUE || lastCode_ == SQLITE_CONSTRAINT_PRIMARYKEY;
  }

  [[nodiscard]] int schemaVersion() override {
    Statement s(*this, "PRAGMA user_version");
    return s.step() == kRow ? static_cast<int>(s.integer(0)) : -1;
  }
  std::optional<StoreError> migrate() override {
    const int version = schemaVersion();
    if (version < 0) {
      return StoreError{StoreError::Kind::kIo, "cannot read the schema version"};
    }
    if (version > Store::kSchemaVersion) {
      return StoreError{StoreError::Kind::kInvalid,
                        "the store is at schema version " + std::to_string(version) +
                            ", newer than this confab knows (" +
                            std::to_string(Store::kSchemaVersion) + "): refusing to touch it"};
    }
    for (int v = version; v < Store::kSchemaVersion; ++v) {
      const std::string step = std::string("BEGIN IMMEDIATE;") +
                               schema::kSqliteMigrations[static_cast<std::size_t>(v)] +
                               ";PRAGMA user_version=" + std::to_string(v + 1) + ";COMMIT;";
      if (auto error = exec(step)) {
        (void)exec("ROLLBACK");
        return error;
      }
    }
    return std::nullopt;
  }
  // In WAL mode with synchronous=NORMAL a committed change survives a crash of the process, and
  // the last ones may not survive a power loss; FULL makes each commit wait for the flush.
  std::optional<StoreError> flushEachChange(bool full) override {
    return exec(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  }
  [[nodiscard]] bool flushesEachChange() override {
    Statement s(*this, "PRAGMA synchronous");
    return s.step() == kRow && s.integer(0) >= 2;  // 2: FULL, 3: EXTRA
  }

 private:
  sqlite3* db_;
  int lastCode_ = SQLITE_OK;
};

}  // namespace

StoreResult<std::unique_ptr<Database>> openSqlite(const std::string& path) {
  // The file holds dial-out passwords: a new one is its owner's only (SQLite gives its -wal and
  // -shm files the same mode). An operator may widen it afterwards; we do not narrow it again.
  struct stat before {};
  const bool created = !path.empty() && path != ":memory:" && ::stat(path.c_str(), &before) != 0;
  sqlite3* handle = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &handle,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    StoreError e{StoreError::Kind::kIo,
                 "cannot open " + path + ": " + (handle != nullptr ? sqlite3_errmsg(handle) : "")};
    sqlite3_close(handle);
    return e;
  }
  if (created) {
    ::chmod(path.c_str(), S_IRUSR | S_IWUSR);
  }
  auto db = std::make_unique<SqliteDatabase>(handle);
  sqlite3_busy_timeout(handle, kBusyTimeoutMs);
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL"}) {
    if (auto error = db->exec(pragma)) {
      return *error;
    }
  }
  if (auto error = db->migrate()) {
    return *error;
  }
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace confab::policy::sql
