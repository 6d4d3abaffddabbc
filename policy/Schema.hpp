// The store's tables, in SQLite's and PostgreSQL's SQL (policy/Schema.cpp). Internal to
// confab_policy.
#pragma once

#include <array>
#include <vector>

#include "policy/Store.hpp"

namespace confab::policy::schema {

// kSqliteMigrations[i] brings a file from version i to i + 1.
extern const std::array<const char*, Store::kSchemaVersion> kSqliteMigrations;

// Brings a PostgreSQL database from version 'from' to 'to'; the steps are in order and the last
// one ends at Store::kSchemaVersion.
struct PostgresStep {
  int from;
  int to;
  const char* sql;
};
extern const std::vector<PostgresStep> kPostgresSteps;

}  // namespace confab::policy::schema
