// The operator's command line for the policy store: `confab tenant …` and `confab room …` read
// and change DATA-DIR/policy.db, the file the server uses (SQLite in WAL mode: safe while it runs).
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>
#include <string_view>

namespace confab::admin {

// The policy store's file inside the data directory.
inline constexpr std::string_view kPolicyStoreFile = "policy.db";
std::filesystem::path policyStorePath(const std::string& dataDir);

// Whether the command line is an admin command: argv[1] is "tenant" or "room".
bool isAdminCommand(int argc, const char* const* argv);

// Runs one admin command. Returns the exit status: 0 done; 1 the store refused the change or
// failed (its message on err); 2 bad input (a message naming the option or value on err).
// Results go to out; PINs are never printed, only whether one is set.
int runAdmin(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace confab::admin
