// The API's JSON access log: one parseable line per request answered, with who asked (by key id,
// never the token), what they asked, the route it matched and the answer's status.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "api/AccessLog.hpp"
#include "api/Router.hpp"
#include "tests/unit/api/ScratchKeys.hpp"

namespace confab::api {
namespace {

const auto kClient = boost::asio::ip::make_address("192.0.2.9");

std::vector<boost::json::object> readLines(const std::filesystem::path& path) {
  std::vector<boost::json::object> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    auto value = boost::json::parse(line, ec);
    EXPECT_FALSE(ec) << "not JSON: " << line;
    if (!ec && value.is_object()) {
      out.push_back(value.as_object());
    }
  }
  return out;
}

TEST(AccessLog, EachRequestIsOneJsonLineNamingTheKeyNotItsToken) {
  ScratchKeys keys;
  Auth auth{keys.store()};
  Router router{keys.store(), auth};
  const auto path = std::filesystem::temp_directory_path() /
                    ("confab-access-" + std::to_string(::getpid()) + ".log");
  std::filesystem::remove(path);
  AccessLog log;
  ASSERT_FALSE(AccessLog::open(path.string(), log));
  router.logTo(&log);

  const int64_t acme = keys.tenant("acme");
  const std::string tenantKey = keys.bearer(acme);
  auto asked = apiRequest(http::verb::get, "/v1/rooms?limit=5", tenantKey);
  asked.set(http::field::user_agent, "curl/7.88 \"x\"\x01\xff");
  EXPECT_EQ(router.route(asked, kClient).result(), http::status::ok);
  EXPECT_EQ(router.route(apiRequest(http::verb::get, "/v1/tenants", "Bearer confab_wrong"), kClient)
                .result(),
            http::status::unauthorized);
  EXPECT_EQ(router.route(apiRequest(http::verb::get, "/nowhere", ""), kClient).result(),
            http::status::not_found);

  const auto lines = readLines(path);
  ASSERT_EQ(lines.size(), 3U);
  const auto& first = lines[0];
  EXPECT_EQ(first.at("method"), "GET");
  EXPECT_EQ(first.at("target"), "/v1/rooms?limit=5");
  EXPECT_EQ(first.at("route"), "/v1/rooms");
  EXPECT_EQ(first.at("status"), 200);
  EXPECT_EQ(first.at("remote"), "192.0.2.9");
  EXPECT_EQ(first.at("tenant"), acme);
  EXPECT_TRUE(first.at("key").is_int64());
  EXPECT_GT(first.at("bytes").as_int64(), 0);
  // A number of milliseconds; a whole one is written without a fraction ("2"), which JSON
  // readers (Boost.JSON too) take as an integer.
  ASSERT_TRUE(first.at("ms").is_number());
  EXPECT_GE(first.at("ms").to_number<double>(), 0.0);
  EXPECT_EQ(first.at("userAgent"), "curl/7.88 \"x\"\x01?") << "bytes past ASCII do not break the JSON";
  EXPECT_EQ(std::string(first.at("time").as_string()).size(), 24U) << "RFC 3339, UTC, ms";

  EXPECT_EQ(lines[1].at("status"), 401);
  EXPECT_TRUE(lines[1].at("key").is_null()) << "a refused key is nobody";
  EXPECT_EQ(lines[2].at("route"), "unmatched");

  std::ifstream whole(path);
  const std::string text((std::istreambuf_iterator<char>(whole)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find(tenantKey.substr(7)), std::string::npos) << "the token is never logged";
  EXPECT_EQ(text.find("confab_wrong"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(AccessLog, AFolderThatCannotBeWrittenIsAClearError) {
  AccessLog log;
  const auto error = AccessLog::open("/nonexistent-confab-dir/access.log", log);
  ASSERT_TRUE(error);
  EXPECT_NE(error->find("No such file"), std::string::npos) << *error;
}

}  // namespace
}  // namespace confab::api
