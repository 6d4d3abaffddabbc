// The SQL plumbing the store's files share (policy/Store*.cpp): one interface over the two
// databases the store runs on (SQLite, the default; PostgreSQL, for several nodes sharing one
// store), a prepared statement, errors as StoreError values, and one transaction per change.
// Internal to confab_policy.
//
// The store's SQL is written once for both: '?' and '?N' parameters (PostgreSQL's backend turns
// them into '$N'), RETURNING for new ids, ON CONFLICT for upserts, "user" quoted (a reserved word
// in PostgreSQL), and LIKE with an escape rather than either side's string functions.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/Store.hpp"

namespace confab::policy::sql {

enum class Step : uint8_t { kRow, kDone, kError };
inline constexpr Step kRow = Step::kRow;
inline constexpr Step kDone = Step::kDone;

// One statement's run on a backend: parameters bound from 1, then step() to each row (columns
// from 0) and to the end. An error (kError) is kept by its Database as the last one.
class Cursor {
 public:
  virtual ~Cursor() = default;
  virtual void bind(int i, int64_t v) = 0;
  virtual void bind(int i, std::string_view v) = 0;
  virtual void bind(int i, double v) = 0;
  virtual void bindNull(int i) = 0;
  virtual Step step() = 0;
  [[nodiscard]] virtual int64_t integer(int i) const = 0;
  [[nodiscard]] virtual double real(int i) const = 0;
  [[nodiscard]] virtual std::string text(int i) const = 0;
  [[nodiscard]] virtual bool isNull(int i) const = 0;
  // The rows an INSERT, UPDATE or DELETE changed (not those its cascades did), once done.
  [[nodiscard]] virtual int64_t changes() const = 0;
};

// One connection. Not shared between threads (neither SQLite's nor libpq's are).
class Database {
 public:
  virtual ~Database() = default;
  // Never null: a statement that does not prepare fails at its first step().
  virtual std::unique_ptr<Cursor> prepare(std::string_view sql) = 0;
  // SQL that returns no rows, several statements allowed; the error, if there was one.
  virtual std::optional<StoreError> exec(const std::string& sql) = 0;
  // Starts a write transaction holding the store's one write lock, as BEGIN IMMEDIATE does in
  // SQLite: writers, on one node or several, take turns, so a check and the write it guards
  // (a tenant's room limit, the first start's seeding) see every change committed before.
  virtual std::optional<StoreError> beginWrite() = 0;
  [[nodiscard]] virtual bool inTransaction() const = 0;
  // The last failure: kConflict when a constraint refused the change, kIo otherwise.
  [[nodiscard]] virtual StoreError lastError() const = 0;
  // Whether that failure was a duplicate in a UNIQUE column or primary key.
  [[nodiscard]] virtual bool lastWasUniqueViolation() const = 0;

  // The schema: its version (-1: unreadable), and the migrations up to Store::kSchemaVersion.
  [[nodiscard]] virtual int schemaVersion() = 0;
  virtual std::optional<StoreError> migrate() = 0;
  // Whether each commit waits for the disk's flush (Store::flushEachChange).
  virtual std::optional<StoreError> flushEachChange(bool full) = 0;
  [[nodiscard]] virtual bool flushesEachChange() = 0;
};

// A SQLite file (created owner-only when new), in WAL mode with foreign keys on, migrated.
StoreResult<std::unique_ptr<Database>> openSqlite(const std::string& path);
// A PostgreSQL database by libpq connection URI (postgresql://...), migrated.
StoreResult<std::unique_ptr<Database>> openPostgres(const std::string& uri);

// One prepared statement, gone when it goes out of scope.
class Statement {
 public:
  Statement(Database& db, std::string_view sql) : cursor_(db.prepare(sql)) {}

  Statement& bind(int i, int64_t v) {
    cursor_->bind(i, v);
    return *this;
  }
  Statement& bind(int i, std::string_view v) {
    cursor_->bind(i, v);
    return *this;
  }
  Statement& bind(int i, double v) {
    cursor_->bind(i, v);
    return *this;
  }
  Statement& bindNull(int i) {
    cursor_->bindNull(i);
    return *this;
  }
  Step step() { return cursor_->step(); }
  [[nodiscard]] int64_t integer(int i) const { return cursor_->integer(i); }
  [[nodiscard]] double real(int i) const { return cursor_->real(i); }
  [[nodiscard]] std::string text(int i) const { return cursor_->text(i); }
  [[nodiscard]] bool isNull(int i) const { return cursor_->isNull(i); }
  [[nodiscard]] int64_t changes() const { return cursor_->changes(); }

 private:
  std::unique_ptr<Cursor> cursor_;
};

inline StoreError failure(const Database& db) {
  return db.lastError();
}

// Runs an INSERT ... RETURNING id to its end: the new row's id.
inline StoreResult<int64_t> insertedId(Database& db, Statement& insert) {
  if (insert.step() != kRow) {
    return failure(db);
  }
  const int64_t id = insert.integer(0);
  if (insert.step() != kDone) {
    return failure(db);
  }
  return id;
}

// One change, one transaction: beginWrite takes the write lock up front (so a wait for it
// happens there, never half-way), then the body, then COMMIT. An error from the body or from
// COMMIT rolls back everything the body did.
// Inside a transaction already (Store::together), the change is a savepoint of it instead: its
// error rolls back its own writes only, and what it wrote commits or rolls back with the outer one.
template <class T, class Body>
StoreResult<T> inTransaction(Database& db, Body&& body) {
  const bool nested = db.inTransaction();
  if (auto error = nested ? db.exec("SAVEPOINT change") : db.beginWrite()) {
    return *error;
  }
  StoreResult<T> result = std::forward<Body>(body)();
  if (std::holds_alternative<StoreError>(result)) {
    (void)db.exec(nested ? "ROLLBACK TO change; RELEASE change" : "ROLLBACK");
    return result;
  }
  if (auto error = db.exec(nested ? "RELEASE change" : "COMMIT")) {
    (void)db.exec(nested ? "ROLLBACK TO change; RELEASE change" : "ROLLBACK");
    return *error;
  }
  return result;
}

// The rows 'select' ("SELECT columns FROM table") gives for one tenant (0: the operator's, whose
// rows have no tenant_id) or for all (nullopt), by id, each made by 'read' from the statement.
template <class Row, class Read>
std::vector<Row> rowsOfTenant(Database& db,
                              std::string select,
                              std::optional<int64_t> tenantId,
                              Read read) {
  if (tenantId) {
    select += *tenantId == 0 ? " WHERE tenant_id IS NULL" : " WHERE tenant_id = ?";
  }
  select += " ORDER BY id";
  Statement s(db, select);
  if (tenantId && *tenantId != 0) {
    s.bind(1, *tenantId);
  }
  std::vector<Row> out;
  while (s.step() == kRow) {
    out.push_back(read(s));
  }
  return out;
}

// Runs 'sql' ("DELETE FROM table WHERE id = ?") for 'id': whether a row went.
inline StoreResult<bool> deleteRow(Database& db, const char* sql, int64_t id) {
  Statement s(db, sql);
  s.bind(1, id);
  if (s.step() != kDone) {
    return failure(db);
  }
  return s.changes() > 0;
}

inline StoreError invalid(std::string message) {
  return StoreError{StoreError::Kind::kInvalid, std::move(message)};
}

// A text field of minBytes to maxBytes with no control characters (nor a line break that would
// end a header or a log line).
inline std::optional<StoreError> checkText(std::string_view field,
                                           std::string_view value,
                                           std::size_t minBytes,
                                           std::size_t maxBytes) {
  if (value.size() < minBytes || value.size() > maxBytes) {
    return invalid(std::string(field) + ": " + std::to_string(minBytes) + " to " +
                   std::to_string(maxBytes) + " bytes");
  }
  if (std::any_of(value.begin(), value.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return invalid(std::string(field) + " holds a control character");
  }
  return std::nullopt;
}

}  // namespace confab::policy::sql
