// The operator's `confab tenant` and `confab room` commands, run in-process on a store in a scratch
// folder: what they print, that PINs never show, and the exit status for each kind of failure
// (2 for bad input naming the option or value, 1 for what the store refuses).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "main/Admin.hpp"
#include "policy/Store.hpp"

namespace confab::admin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Ran {
  int status = -1;
  std::string out;
  std::string err;
};

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("confab-admin-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    dataDir_ = (dir_ / "data").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // `confab ARGS... --data-dir DATA-DIR`.
  Ran admin(std::initializer_list<std::string> args) {
    std::vector<std::string> words{"confab"};
    words.insert(words.end(), args.begin(), args.end());
    words.emplace_back("--data-dir");
    words.push_back(dataDir_);
    return runWords(words);
  }
  static Ran runWords(std::vector<std::string> words) {
    std::vector<char*> argv;
    argv.reserve(words.size() + 1);
    for (auto& w : words) {
      argv.push_back(w.data());
    }
    argv.push_back(nullptr);
    std::ostringstream out;
    std::ostringstream err;
    Ran ran;
    ran.status = runAdmin(static_cast<int>(words.size()), argv.data(), out, err);
    ran.out = out.str();
    ran.err = err.str();
    return ran;
  }
  Ran ok(std::initializer_list<std::string> args) {
    Ran ran = admin(args);
    EXPECT_EQ(ran.status, 0) << ran.err;
    EXPECT_EQ(ran.err, "");
    return ran;
  }

  std::filesystem::path dir_;
  std::string dataDir_;
};

TEST_F(AdminTest, OnlyTenantAndRoomAreAdminCommands) {
  const char* tenant[] = {"confab", "tenant", "list"};
  const char* room[] = {"confab", "room"};
  const char* server[] = {"confab", "--sip-udp", "off"};
  const char* bare[] = {"confab"};
  EXPECT_TRUE(isAdminCommand(3, tenant));
  EXPECT_TRUE(isAdminCommand(2, room));
  const char* key[] = {"confab", "key", "list"};
  EXPECT_TRUE(isAdminCommand(3, key));
  EXPECT_FALSE(isAdminCommand(3, server));
  EXPECT_FALSE(isAdminCommand(1, bare));
  EXPECT_EQ(policyStorePath("/var/lib/confab"), std::filesystem::path("/var/lib/confab/policy.db"));
}

TEST_F(AdminTest, HelpDescribesEveryCommandAndTouchesNothing) {
  for (const char* noun : {"tenant", "room"}) {
    for (const std::vector<std::string>& words :
         {std::vector<std::string>{"confab", noun, "--help"},
          std::vector<std::string>{"confab", noun, "add", "-h"},
          std::vector<std::string>{"confab", noun, "--data-dir", dataDir_, "--help"}}) {
      const Ran ran = runWords(words);
      EXPECT_EQ(ran.status, 0) << ran.err;
      for (const char* verb : {" add ", " list", " show ", " set ", " remove "}) {
        EXPECT_THAT(ran.out, HasSubstr(std::string("confab ") + noun + verb));
      }
      EXPECT_THAT(ran.out, HasSubstr("--data-dir"));
    }
  }
  EXPECT_THAT(runWords({"confab", "room", "--help"}).out, HasSubstr("--moderator-pin"));
  EXPECT_THAT(runWords({"confab", "room", "--help"}).out, HasSubstr("--listener-pin"));
  EXPECT_THAT(runWords({"confab", "tenant", "--help"}).out, HasSubstr("--max-rooms"));
  EXPECT_FALSE(std::filesystem::exists(dataDir_));
}

TEST_F(AdminTest, TenantsAreAddedListedShownChangedAndRemoved) {
  Ran ran = ok({"tenant", "add", "acme", "--domain", "Acme.example", "--domain", "[2001:DB8::1]",
                "--max-rooms", "10"});
  EXPECT_THAT(ran.out, HasSubstr("tenant: acme\n"));
  EXPECT_THAT(ran.out, HasSubstr("domains: 2001:db8::1 acme.example\n"));
  EXPECT_THAT(ran.out, HasSubstr("max-rooms: 10\n"));
  ok({"tenant", "add", "default", "--domain", "*", "--no-recording"});
  ran = ok({"tenant", "list"});
  EXPECT_THAT(ran.out,
              ::testing::MatchesRegex("[0-9]+ acme domains=2001:db8::1,acme.example max-rooms=10 "
                                      "max-participants=unlimited recording=yes rooms=0 "
                                      "dial-out=none\n"
                                      "[0-9]+ default domains=\\* max-rooms=unlimited "
                                      "max-participants=unlimited recording=no rooms=0 "
                                      "dial-out=none\n"));
  ran = ok({"tenant", "set", "acme", "--domain", "new.example", "--max-participants", "25",
            "--name", "acme-corp"});
  EXPECT_THAT(ran.out, HasSubstr("tenant: acme-corp\n"));
  EXPECT_THAT(ran.out, HasSubstr("domains: new.example\n"));
  EXPECT_THAT(ran.out, HasSubstr("max-rooms: 10\n")) << "what set does not name stays";
  EXPECT_THAT(ran.out, HasSubstr("max-participants: 25\n"));
  ran = ok({"tenant", "set", "acme-corp", "--no-domains", "--max-rooms", "0"});
  EXPECT_THAT(ran.out, HasSubstr("domains: none\n"));
  EXPECT_THAT(ran.out, HasSubstr("max-rooms: unlimited\n"));
  ok({"room", "add", "acme-corp", "4000"});
  ran = ok({"tenant", "remove", "acme-corp"});
  EXPECT_EQ(ran.out, "removed tenant acme-corp and its 1 room\n");
  ran = admin({"tenant", "show", "acme-corp"});
  EXPECT_EQ(ran.status, 1);
  EXPECT_THAT(ran.err, HasSubstr("no tenant \"acme-corp\""));
}

TEST_F(AdminTest, RoomsAreAddedWithPinsThatAreNeverShown) {
  ok({"tenant", "add", "acme", "--domain", "acme.example"});
  Ran ran = ok({"room", "add", "acme", "4000", "--name", "Board room", "--pin", "24681357",
                "--moderator-pin", "97531", "--mute-on-entry", "--locked", "--language", "pt-BR",
                "--max-participants", "12"});
  EXPECT_THAT(ran.out, HasSubstr("room: 4000\n"));
  EXPECT_THAT(ran.out, HasSubstr("name: Board room\n"));
  EXPECT_THAT(ran.out, HasSubstr("pin: set\n"));
  EXPECT_THAT(ran.out, HasSubstr("moderator-pin: set\n"));
  EXPECT_THAT(ran.out, HasSubstr("mute-on-entry: yes\n"));
  EXPECT_THAT(ran.out, HasSubstr("locked: yes\n"));
  EXPECT_THAT(ran.out, HasSubstr("tones: yes\n"));
  EXPECT_THAT(ran.out, HasSubstr("language: pt-BR\n"));
  EXPECT_THAT(ran.out, HasSubstr("max-participants: 12\n"));
  ok({"room", "add", "acme", "lobby", "--no-tones", "--announce-count"});
  ran = ok({"room", "list", "acme"});
  EXPECT_EQ(ran.out,
            "4000 name=\"Board room\" pin=set moderator-pin=set listener-pin=none "
            "max-participants=12 language=pt-BR flags=mute-on-entry,locked\n"
            "lobby name=lobby pin=none moderator-pin=none listener-pin=none "
            "max-participants=unlimited language=en flags=no-tones,announce-count\n");
  ran = ok({"room", "show", "acme", "4000"});
  EXPECT_THAT(ran.out, Not(HasSubstr("24681357")));
  EXPECT_THAT(ran.out, Not(HasSubstr("97531")));
  // The PINs work: the store checks them.
  {
    auto opened = policy::Store::open(policyStorePath(dataDir_).string());
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<policy::Store>>(opened));
    auto& store = *std::get<std::unique_ptr<policy::Store>>(opened);
    const auto room = store.findRoom(store.tenantByName("acme")->id, "4000");
    ASSERT_TRUE(room);
    EXPECT_EQ(store.checkPin(room->id, "97531"), policy::Role::kModerator);
    EXPECT_EQ(store.checkPin(room->id, "24681357"), policy::Role::kParticipant);
  }
  ran = ok({"room", "set", "acme", "4000", "--no-pin", "--unlocked", "--no-mute-on-entry",
            "--wait-for-moderator", "--name", "Board"});
  EXPECT_THAT(ran.out, HasSubstr("pin: none\n"));
  EXPECT_THAT(ran.out, HasSubstr("moderator-pin: set\n")) << "untouched";
  EXPECT_THAT(ran.out, HasSubstr("locked: no\n"));
  EXPECT_THAT(ran.out, HasSubstr("mute-on-entry: no\n"));
  EXPECT_THAT(ran.out, HasSubstr("wait-for-moderator: yes\n"));
  EXPECT_THAT(ran.out, HasSubstr("language: pt-BR\n")) << "untouched";
  ran = ok({"room", "remove", "acme", "4000"});
  EXPECT_EQ(ran.out, "removed room 4000 of tenant acme\n");
  EXPECT_EQ(ok({"room", "list", "acme"}).out.find("4000"), std::string::npos);
}

TEST_F(AdminTest, ATenantsDialOutAccountIsSetFromAFileShownWithoutItsPasswordAndRemoved) {
  std::filesystem::create_directories(dir_);
  const std::string passwordFile = (dir_ / "acme.pw").string();
  std::ofstream(passwordFile) << "Tr0ub4dor&3\r\n";
  Ran ran = ok({"tenant", "add", "acme", "--domain", "acme.example", "--dial-out-user",
                "bridge@acme", "--dial-out-password-file", passwordFile});
  EXPECT_THAT(ran.out, HasSubstr("dial-out: bridge@acme (any realm, password set)\n"));
  EXPECT_THAT(ran.out, Not(HasSubstr("Tr0ub4dor")));
  ran = ok({"tenant", "list"});
  EXPECT_THAT(ran.out, HasSubstr(" dial-out=bridge@acme\n"));
  // What the focus will answer challenges with: the file's first line, without its line end.
  {
    auto opened = policy::Store::open(policyStorePath(dataDir_).string());
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<policy::Store>>(opened));
    auto& store = *std::get<std::unique_ptr<policy::Store>>(opened);
    const auto account = store.dialOutAccount(store.tenantByName("acme")->id);
    ASSERT_TRUE(account);
    EXPECT_EQ(account->password, "Tr0ub4dor&3");
  }
  ran = ok({"tenant", "set", "acme", "--dial-out-user", "b2", "--dial-out-realm", "pbx.acme",
            "--dial-out-password-file", passwordFile});
  EXPECT_THAT(ran.out, HasSubstr("dial-out: b2 (realm pbx.acme, password set)\n"));
  ran = ok({"tenant", "set", "acme", "--max-rooms", "3"});
  EXPECT_THAT(ran.out, HasSubstr("dial-out: b2 (realm pbx.acme"))
      << "set keeps what it does not name";
  ran = ok({"tenant", "set", "acme", "--no-dial-out"});
  EXPECT_THAT(ran.out, HasSubstr("dial-out: none"));

  const std::string empty = (dir_ / "empty.pw").string();
  std::ofstream(empty) << "\n";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"tenant", "set", "acme", "--dial-out-user", "u"}, "needs both --dial-out-user and"},
      {{"tenant", "set", "acme", "--dial-out-password-file", passwordFile}, "needs both"},
      {{"tenant", "set", "acme", "--dial-out-user", "u", "--dial-out-password-file",
        (dir_ / "missing").string()},
       "cannot read a line"},
      {{"tenant", "set", "acme", "--dial-out-user", "u", "--dial-out-password-file", empty},
       "its first line is empty"},
      {{"tenant", "set", "acme", "--dial-out-user", std::string(300, 'u'),
        "--dial-out-password-file", passwordFile},
       "--dial-out-user: 1 to 256 bytes"},
      {{"tenant", "set", "acme", "--no-dial-out", "--dial-out-user", "u"}, "--no-dial-out: not"},
      {{"tenant", "add", "beta", "--dial-out-user", "u"}, "needs both"},
  };
  for (const auto& [args, message] : cases) {
    std::vector<std::string> words{"confab"};
    words.insert(words.end(), args.begin(), args.end());
    words.emplace_back("--data-dir=" + dataDir_);
    const Ran bad = runWords(words);
    EXPECT_EQ(bad.status, 2) << message << ": " << bad.err;
    EXPECT_THAT(bad.err, HasSubstr(message));
    EXPECT_EQ(bad.out, "");
  }
  EXPECT_THAT(ok({"tenant", "list"}).out, Not(HasSubstr("beta"))) << "a refused add adds nothing";
  EXPECT_THAT(ok({"tenant", "show", "acme"}).out, HasSubstr("dial-out: none"));
}

TEST_F(AdminTest, ApiKeysAreIssuedWithTheirTokenOnceListedAndRevoked) {
  ok({"tenant", "add", "acme", "--domain", "acme.example"});
  Ran ran = ok({"key", "add", "--operator", "--name", "ops team"});
  EXPECT_THAT(ran.out,
              ::testing::MatchesRegex("1 operator read-write name=\"ops team\" "
                                      "created=[0-9]+\ntoken: confab_[A-Za-z0-9_-]{43}\n"
                                      "\\(shown this once: the store keeps only its hash\\)\n"));
  const std::string opToken = ran.out.substr(ran.out.find("token: ") + 7, 50);
  ran = ok({"key", "add", "--tenant", "acme", "--read-only"});
  EXPECT_THAT(ran.out, HasSubstr("2 tenant acme read-only name=\"\""));
  ran = ok({"key", "list"});
  EXPECT_THAT(ran.out, HasSubstr("1 operator read-write"));
  EXPECT_THAT(ran.out, HasSubstr("2 tenant acme read-only"));
  EXPECT_THAT(ran.out, Not(HasSubstr("confab_"))) << "a token is never shown again";
  EXPECT_THAT(ok({"key", "list", "--tenant", "acme"}).out, Not(HasSubstr("operator")));
  EXPECT_THAT(ok({"key", "list", "--operator"}).out, Not(HasSubstr("acme")));
  {
    auto opened = policy::Store::open(policyStorePath(dataDir_).string());
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<policy::Store>>(opened));
    auto& store = *std::get<std::unique_ptr<policy::Store>>(opened);
    ASSERT_TRUE(store.apiKeyForToken(opToken)) << "the printed token is the key";
  }
  EXPECT_EQ(ok({"key", "remove", "1"}).out, "revoked key 1\n");
  ran = admin({"key", "remove", "1"});
  EXPECT_EQ(ran.status, 1);
  EXPECT_THAT(ran.err, HasSubstr("no key 1"));
  for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"key", "add"}, "whose key? --operator or --tenant NAME"},
           {{"key", "add", "--operator", "--tenant", "acme"}, "name one of --operator"},
           {{"key", "add", "--operator", "--name", "a\tb"}, "--name"},
           {{"key", "remove", "x"}, "\"x\" is not a key id"},
           {{"key", "list", "--read-only"}, "key list takes --operator or --tenant only"},
           {{"key", "show"}, "unknown command \"show\": add, list or remove"},
       }) {
    std::vector<std::string> words{"confab"};
    words.insert(words.end(), args.begin(), args.end());
    words.emplace_back("--data-dir=" + dataDir_);
    const Ran bad = runWords(words);
    EXPECT_EQ(bad.status, 2) << message << ": " << bad.err;
    EXPECT_THAT(bad.err, HasSubstr(message));
  }
  ran = admin({"key", "add", "--tenant", "nobody"});
  EXPECT_EQ(ran.status, 1);
  EXPECT_THAT(ran.err, HasSubstr("no tenant \"nobody\""));
}

TEST_F(AdminTest, BadInputExitsTwoNamingTheOptionOrValue) {
  ok({"tenant", "add", "acme"});
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"room", "add", "acme", "1", "--pin", "12a4"}, "--pin: a PIN is 4 to 16 digits"},
      {{"room", "add", "acme", "1", "--moderator-pin", "123"}, "--moderator-pin"},
      {{"room", "add", "acme", "1", "--listener-pin", "12a4"}, "--listener-pin: a PIN is 4"},
      {{"room", "add", "acme", "1", "--no-listener-pin=1"}, "--no-listener-pin takes no value"},
      {{"room", "add", "acme", "1", "--max-participants", "-1"}, "--max-participants: \"-1\""},
      {{"room", "add", "acme", "1", "--language", "en us"}, "language: \"en us\""},
      {{"room", "add", "acme", "a b"}, "user: \"a b\""},
      {{"room", "add", "acme", "1", "--pin"}, "--pin needs a value"},
      {{"room", "add", "acme", "1", "--name", "--locked"}, "--name needs a value"},
      {{"room", "add", "acme", "1", "--colour", "red"}, "unknown option --colour"},
      {{"room", "add", "acme", "1", "--locked=yes"}, "--locked takes no value"},
      {{"room", "add", "acme"}, "room add: expected TENANT USER"},
      {{"room", "list", "acme", "extra"}, "unexpected argument \"extra\""},
      {{"room", "show", "acme", "1", "--locked"}, "room show takes no option --locked"},
      {{"room", "set", "acme", "1"}, "room set: nothing to change"},
      {{"room", "frobnicate"}, "unknown command \"frobnicate\""},
      {{"room"}, "which command?"},
      {{"tenant", "add", "beta", "--domain", "bad_name.example"}, "--domain \"bad_name.example\""},
      {{"tenant", "add", "beta", "--domain", "*.example"}, "--domain \"*.example\""},
      {{"tenant", "add", "beta", "--max-rooms", "many"}, "--max-rooms: \"many\""},
      {{"tenant", "add", "beta", "--name", "x"}, "--name and --no-domains are for tenant set"},
      {{"tenant", "add", "beta", "-x"}, "unknown option -x"},
      {{"tenant", "set", "acme", "--domain", "a.example", "--domain", "A.example"}, "twice"},
  };
  for (const auto& [args, message] : cases) {
    std::vector<std::string> words{"confab"};
    words.insert(words.end(), args.begin(), args.end());
    words.emplace_back("--data-dir=" + dataDir_);
    const Ran ran = runWords(words);
    EXPECT_EQ(ran.status, 2) << args.back() << ": " << ran.err;
    EXPECT_THAT(ran.err, HasSubstr(message));
    EXPECT_THAT(ran.err, Not(HasSubstr("12a4"))) << "a PIN, even a wrong one, is not echoed";
    EXPECT_EQ(ran.out, "");
  }
  EXPECT_EQ(ok({"room", "list", "acme"}).out, "") << "nothing was added";
}

TEST_F(AdminTest, WhatTheStoreRefusesExitsOneWithItsMessage) {
  ok({"tenant", "add", "acme", "--domain", "acme.example", "--max-rooms", "1"});
  ok({"room", "add", "acme", "4000"});
  Ran ran = admin({"room", "add", "acme", "4000"});
  EXPECT_EQ(ran.status, 1);
  EXPECT_THAT(ran.err, HasSubstr("room 4000 already"));
  ran = admin({"room", "add", "acme", "4001"});
  EXPECT_EQ(ran.status, 1);
  EXPECT_THAT(ran.err, HasSubstr("max-rooms: the tenant has its 1 room already"));
  ran = admin({"tenant", "add", "acme"});
  EXPECT_EQ(ran.status, 1);
  EXPECT_THAT(ran.err, HasSubstr("a tenant \"acme\" exists already"));
  ran = admin({"tenant", "add", "beta", "--domain", "ACME.example"});
  EXPECT_EQ(ran.status, 1);
  EXPECT_THAT(ran.err, HasSubstr("domain acme.example: tenant \"acme\" owns it already"));
  ran = admin({"room", "list", "nobody"});
  EXPECT_EQ(ran.status, 1);
  EXPECT_THAT(ran.err, HasSubstr("no tenant \"nobody\""));
  ran = admin({"room", "show", "acme", "9999"});
  EXPECT_EQ(ran.status, 1);
  EXPECT_THAT(ran.err, HasSubstr("no room \"9999\""));
  ran = admin({"room", "remove", "acme", "9999"});
  EXPECT_EQ(ran.status, 1);
}

TEST_F(AdminTest, OnlyTenantAddCreatesTheStore) {
  Ran ran = admin({"tenant", "list"});
  EXPECT_EQ(ran.status, 1);
  EXPECT_THAT(ran.err, HasSubstr("no policy store at " + policyStorePath(dataDir_).string()));
  EXPECT_FALSE(std::filesystem::exists(dataDir_)) << "a mistyped --data-dir leaves nothing";
  ok({"tenant", "add", "acme"});
  EXPECT_TRUE(std::filesystem::exists(policyStorePath(dataDir_)));
  EXPECT_THAT(ok({"tenant", "list"}).out, HasSubstr(" acme "));
}

TEST_F(AdminTest, TheDataDirectoryMayComeFromAConfigFile) {
  std::filesystem::create_directories(dir_);
  const auto file = dir_ / "confab.conf";
  std::ofstream(file) << "data-dir = " << dataDir_ << "\n";
  EXPECT_EQ(runWords({"confab", "tenant", "add", "acme", "--config", file.string()}).status, 0);
  EXPECT_TRUE(std::filesystem::exists(policyStorePath(dataDir_)));
  std::ofstream(file) << "data-dir = " << dataDir_ << "\nbogus = 1\n";
  const Ran ran = runWords({"confab", "tenant", "list", "--config", file.string()});
  EXPECT_EQ(ran.status, 2);
  EXPECT_THAT(ran.err, HasSubstr("bogus"));
}

TEST_F(AdminTest, AListenerPinIsSetShownAsSetOrNoneAndRemoved) {
  ok({"tenant", "add", "acme"});
  Ran ran = ok({"room", "add", "acme", "4000", "--pin", "1111", "--listener-pin", "3333"});
  EXPECT_THAT(ran.out, HasSubstr("pin: set\n"));
  EXPECT_THAT(ran.out, HasSubstr("moderator-pin: none\n"));
  EXPECT_THAT(ran.out, HasSubstr("listener-pin: set\n"));
  EXPECT_THAT(ran.out, Not(HasSubstr("3333")));
  ran = ok({"room", "list", "acme"});
  EXPECT_THAT(ran.out, HasSubstr(" pin=set moderator-pin=none listener-pin=set "));
  {
    auto opened = policy::Store::open(policyStorePath(dataDir_).string());
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<policy::Store>>(opened));
    auto& store = *std::get<std::unique_ptr<policy::Store>>(opened);
    const auto room = store.findRoom(store.tenantByName("acme")->id, "4000");
    ASSERT_TRUE(room);
    EXPECT_EQ(store.checkPin(room->id, "3333"), policy::Role::kListener);
    EXPECT_EQ(store.checkPin(room->id, "1111"), policy::Role::kParticipant);
  }
  // A PIN equal to another of the room's: bad input naming both options, the PIN not echoed.
  ran = admin({"room", "set", "acme", "4000", "--moderator-pin", "3333"});
  EXPECT_EQ(ran.status, 2);
  EXPECT_THAT(ran.err, HasSubstr("--moderator-pin and --listener-pin: the same PIN"));
  EXPECT_THAT(ran.err, Not(HasSubstr("3333")));
  EXPECT_EQ(ran.out, "");
  ran = admin({"room", "add", "acme", "4001", "--pin", "5555", "--listener-pin", "5555"});
  EXPECT_EQ(ran.status, 2);
  EXPECT_THAT(ran.err, HasSubstr("--pin and --listener-pin: the same PIN"));
  ran = ok({"room", "set", "acme", "4000", "--no-listener-pin", "--moderator-pin", "3333"});
  EXPECT_THAT(ran.out, HasSubstr("listener-pin: none\n"));
  EXPECT_THAT(ran.out, HasSubstr("moderator-pin: set\n"));
  EXPECT_THAT(ok({"room", "show", "acme", "4000"}).out, HasSubstr("listener-pin: none\n"));
}

}  // namespace
}  // namespace confab::admin
