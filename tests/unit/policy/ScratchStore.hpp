// Where one test's policy store lives: a SQLite file in a scratch folder of its own, or, when
// CONFAB_TEST_POSTGRES holds a server's connection URI (tests/postgres/run.sh starts a real
// server and sets it), a schema of its own in that server's database. The policy and API tests
// open their stores here, so the same tests run on both backends.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <variant>

#include "policy/Store.hpp"

namespace confab::test {

// The store at 'location', or a test failure and nullptr.
inline std::unique_ptr<policy::Store> openStore(const std::string& location) {
  auto opened = policy::Store::open(location);
  if (auto* error = std::get_if<policy::StoreError>(&opened)) {
    ADD_FAILURE() << error->message;
    return nullptr;
  }
  return std::move(std::get<std::unique_ptr<policy::Store>>(opened));
}

// A store call's value, or a test failure and T{}.
template <class T>
T ok(policy::StoreResult<T> r) {
  if (auto* error = std::get_if<policy::StoreError>(&r)) {
    ADD_FAILURE() << error->message;
    return T{};
  }
  return std::get<T>(std::move(r));
}

class ScratchStore {
 public:
  ScratchStore() {
    std::array<unsigned char, 8> bytes{};
    RAND_bytes(bytes.data(), static_cast<int>(bytes.size()));
    std::string name;
    for (unsigned char b : bytes) {
      name += "0123456789abcdef"[b >> 4];
      name += "0123456789abcdef"[b & 0x0F];
    }
    dir_ = std::filesystem::temp_directory_path() /
           ("confab-store-" + std::to_string(::getpid()) + "-" + name);
    std::filesystem::create_directories(dir_);
    if (const char* server = std::getenv("CONFAB_TEST_POSTGRES"); server != nullptr && *server) {
      server_ = server;
      schema_ = "t" + name;
      if (!run(server_, "CREATE SCHEMA " + schema_)) {
        return;
      }
      // libpq's URI query: options=-csearch_path=SCHEMA, percent-encoded.
      location_ = server_ + (server_.find('?') == std::string::npos ? "?" : "&") +
                  "options=-csearch_path%3D" + schema_;
    } else {
      location_ = (dir_ / "policy.db").string();
    }
  }
  ~ScratchStore() {
    if (!schema_.empty()) {
      run(server_, "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  ScratchStore(const ScratchStore&) = delete;
  ScratchStore& operator=(const ScratchStore&) = delete;

  // What Store::open takes.
  [[nodiscard]] const std::string& location() const { return location_; }
  [[nodiscard]] bool postgres() const { return !schema_.empty(); }
  // A scratch folder of the test's own, for files beside the store (the SQLite file is in it).
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

  // Runs SQL on the test's own schema, outside the store (as another tool would): whether it
  // succeeded.
  bool sql(const std::string& statement) const { return postgres() && run(location_, statement); }

  // Runs SQL on a server by URI: whether it succeeded.
  static bool run(const std::string& uri, const std::string& statement) {
    PGconn* conn = PQconnectdb(uri.c_str());
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);  // DROP's "cascades to"
    bool ok = PQstatus(conn) == CONNECTION_OK;
    if (ok) {
      PGresult* result = PQexec(conn, statement.c_str());
      ok = PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK;
      if (!ok) {
        ADD_FAILURE() << statement << ": " << PQerrorMessage(conn);
      }
      PQclear(result);
    } else {
      ADD_FAILURE() << "cannot connect to " << uri << ": " << PQerrorMessage(conn);
    }
    PQfinish(conn);
    return ok;
  }

 private:
  std::string server_;
  std::string schema_;
  std::filesystem::path dir_;
  std::string location_;
};

}  // namespace confab::test
