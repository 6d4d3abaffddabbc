// The SQLite plumbing the store's files share (policy/Store.cpp, policy/StoreKeys.cpp): a
// prepared statement, errors as StoreError values, and one transaction per change. Internal to
// confab_policy.
#pragma once

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/Store.hpp"

namespace confab::policy::sqlite {

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
  Statement& bind(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  Statement& bindNull(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return stmt_ != nullptr ? sqlite3_step(stmt_) : SQLITE_ERROR; }
  [[nodiscard]] int64_t integer(int i) const { return sqlite3_column_int64(stmt_, i); }
  [[nodiscard]] double real(int i) const { return sqlite3_column_double(stmt_, i); }
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

inline StoreError failure(sqlite3* db, int code) {
  const int primary = code & 0xFF;
  StoreError e;
  e.kind = primary == SQLITE_CONSTRAINT ? StoreError::Kind::kConflict : StoreError::Kind::kIo;
  e.message = sqlite3_errmsg(db);
  return e;
}

// Runs SQL that returns no rows; the error, if there was one.
inline std::optional<StoreError> execSql(sqlite3* db, const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) {
    return std::nullopt;
  }
  StoreError e = failure(db, rc);
  if (message != nullptr) {
    e.message = message;
    sqlite3_free(message);
  }
  return e;
}

// One change, one transaction: BEGIN IMMEDIATE takes the write lock up front (so the busy timeout
// applies there, never to an upgrade half-way), then the body, then COMMIT. An error from the
// body or from COMMIT rolls back everything the body did.
// Inside a transaction already (Store::together), the change is a savepoint of it instead: its
// error rolls back its own writes only, and what it wrote commits or rolls back with the outer one.
template <class T, class Body>
StoreResult<T> inTransaction(sqlite3* db, Body&& body) {
  const bool nested = sqlite3_get_autocommit(db) == 0;
  if (auto error = execSql(db, nested ? "SAVEPOINT change" : "BEGIN IMMEDIATE")) {
    return *error;
  }
  StoreResult<T> result = std::forward<Body>(body)();
  if (std::holds_alternative<StoreError>(result)) {
    (void)execSql(db, nested ? "ROLLBACK TO change; RELEASE change" : "ROLLBACK");
    return result;
  }
  if (auto error = execSql(db, nested ? "RELEASE change" : "COMMIT")) {
    (void)execSql(db, nested ? "ROLLBACK TO change; RELEASE change" : "ROLLBACK");
    return *error;
  }
  return result;
}

// The rows 'select' ("SELECT columns FROM table") gives for one tenant (0: the operator's, whose
// rows have no tenant_id) or for all (nullopt), by id, each made by 'read' from the statement.
template <class Row, class Read>
std::vector<Row> rowsOfTenant(sqlite3* db,
                              std::string select,
                              std::optional<int64_t> tenantId,
                              Read read) {
  if (tenantId) {
    select += *tenantId == 0 ? " WHERE tenant_id IS NULL" : " WHERE tenant_id = ?";
  }
  select += " ORDER BY id";
  Statement s(db, select.c_str());
  if (tenantId && *tenantId != 0) {
    s.bind(1, *tenantId);
  }
  std::vector<Row> out;
  while (s.step() == SQLITE_ROW) {
    out.push_back(read(s));
  }
  return out;
}

// Runs 'sql' ("DELETE FROM table WHERE id = ?") for 'id': whether a row went.
inline StoreResult<bool> deleteRow(sqlite3* db, const char* sql, int64_t id) {
  Statement s(db, sql);
  s.bind(1, id);
  if (const int rc = s.step(); rc != SQLITE_DONE) {
    return failure(db, rc);
  }
  return sqlite3_changes(db) > 0;
}

inline bool isUniqueViolation(sqlite3* db) {
  return sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_UNIQUE ||
         sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_PRIMARYKEY;
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

}  // namespace confab::policy::sqlite
