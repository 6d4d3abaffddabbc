// Who may call what (issue 13 item 4): bearer keys from a real policy store, 401 versus 403,
// revocation at once, tenants seeing only their own rooms, and the lockout of an address that
// keeps presenting bad keys, on an injected clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <string>

#include "api/Auth.hpp"
#include "api/Router.hpp"
#include "tests/unit/api/ScratchKeys.hpp"

namespace confab::api {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

const auto kClient = boost::asio::ip::make_address("192.0.2.7");

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    acme_ = keys_.tenant("acme");
    globex_ = keys_.tenant("globex");
    keys_.room(acme_, "1000", "Board");
    keys_.room(globex_, "2000", "Lab");
  }

  Response call(const std::string& target,
                const std::string& authorization,
                http::verb method = http::verb::get,
                const boost::asio::ip::address& from = kClient) {
    Request request(method, target, 11);
    request.set(http::field::host, "localhost");
    if (!authorization.empty()) {
      request.set(http::field::authorization, authorization);
    }
    if (method == http::verb::patch || method == http::verb::post) {
      request.set(http::field::content_type, "application/json");
      request.body() = "{}";
      request.prepare_payload();
    }
    return router_.route(request, from);
  }
  static std::string detail(const Response& response) {
    return std::string(boost::json::parse(response.body()).at("detail").as_string());
  }

  std::chrono::steady_clock::time_point now_{};
  ScratchKeys keys_;
  Auth auth_{keys_.store(), LockoutSettings{}, [this] { return now_; }};
  Router router_{keys_.store(), auth_};
  int64_t acme_ = 0;
  int64_t globex_ = 0;
};

TEST_F(AuthTest, EveryRouteButHealthNeedsAKey) {
  EXPECT_EQ(call("/health", "").result(), http::status::ok);
  for (const char* target : {"/v1/rooms", "/v1/rooms/1000", "/v1/mixer", "/v1/registrations"}) {
    const auto response = call(target, "");
    EXPECT_EQ(response.result(), http::status::unauthorized) << target;
    // RFC 6750 §3.1: no error code when no credentials came at all.
    EXPECT_EQ(response[http::field::www_authenticate], "Bearer realm=\"confab\"") << target;
    EXPECT_EQ(response[http::field::content_type], kProblemContentType);
  }
  const auto write = call("/v1/rooms/1000/recording", "", http::verb::post);
  EXPECT_EQ(write.result(), http::status::unauthorized);
}

TEST_F(AuthTest, ATokenThatIsNoKeyIs401AndAMalformedHeader400) {
  const std::string good = keys_.bearer();
  std::string wrong = good;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  auto response = call("/v1/rooms", wrong);
  EXPECT_EQ(response.result(), http::status::unauthorized);
  EXPECT_EQ(response[http::field::www_authenticate],
            "Bearer realm=\"confab\", error=\"invalid_token\"");
  EXPECT_THAT(detail(response), ::testing::Not(HasSubstr(wrong.substr(7)))) << "not echoed";
  for (const std::string& malformed :
       {std::string("Basic dXNlcjpwYXNz"), std::string("Bearer"), std::string("Bearer a b"),
        std::string("Bearer \x01"), "Bearer" + good.substr(7)}) {
    response = call("/v1/rooms", malformed);
    EXPECT_EQ(response.result(), http::status::bad_request) << malformed;
    EXPECT_THAT(std::string(response[http::field::www_authenticate]),
                HasSubstr("error=\"invalid_request\""));
  }
  // The scheme is case-insensitive (RFC 9110 §11.1).
  EXPECT_EQ(call("/v1/rooms", "bearer " + good.substr(7)).result(), http::status::ok);
  Request twice(http::verb::get, "/v1/rooms", 11);
  twice.set(http::field::host, "x");
  twice.insert(http::field::authorization, good);
  twice.insert(http::field::authorization, good);
  EXPECT_EQ(router_.route(twice, kClient).result(), http::status::bad_request);
}

TEST_F(AuthTest, ARevokedKeyStopsAtOnce) {
  const std::string key = keys_.bearer();
  EXPECT_EQ(call("/v1/rooms", key).result(), http::status::ok);
  const auto id = keys_.store().apiKeyForToken(key.substr(7))->id;
  ASSERT_TRUE(std::get<bool>(keys_.store().deleteApiKey(id)));
  EXPECT_EQ(call("/v1/rooms", key).result(), http::status::unauthorized);
}

TEST_F(AuthTest, AReadOnlyKeyReadsButMayNotChangeAnything) {
  const std::string reader = keys_.bearer(0, true);
  EXPECT_EQ(call("/v1/rooms/1000@acme", reader).result(), http::status::ok);
  for (auto [target, method] : {std::pair{"/v1/rooms/1000/recording", http::verb::post},
                                std::pair{"/v1/rooms/1000/recording", http::verb::delete_},
                                std::pair{"/v1/rooms/1000/playback", http::verb::post},
                                std::pair{"/v1/rooms/1000/participants/x", http::verb::patch}}) {
    const auto response = call(target, reader, method);
    EXPECT_EQ(response.result(), http::status::forbidden) << target;
    EXPECT_THAT(detail(response), HasSubstr("read-only"));
  }
}

TEST_F(AuthTest, ATenantSeesOnlyItsOwnRoomsAndNotTheBridge) {
  const std::string acme = keys_.bearer(acme_);
  auto rooms = boost::json::parse(call("/v1/rooms", acme).body()).at("rooms").as_array();
  ASSERT_EQ(rooms.size(), 1U);
  EXPECT_EQ(rooms[0].at("id"), "1000@acme");
  EXPECT_EQ(call("/v1/rooms/1000", acme).result(), http::status::ok) << "its own, by number";
  EXPECT_EQ(call("/v1/rooms/1000@acme", acme).result(), http::status::ok);
  // Another tenant's room answers exactly as a room that does not exist.
  const auto foreign = call("/v1/rooms/2000@globex", acme);
  const auto absent = call("/v1/rooms/2999@globex", acme);
  EXPECT_EQ(foreign.result(), http::status::not_found);
  EXPECT_EQ(detail(foreign), "no room 2000@globex");
  EXPECT_EQ(detail(absent), "no room 2999@globex");
  EXPECT_EQ(detail(call("/v1/rooms/2000", acme)), "no room 2000");
  EXPECT_TRUE(boost::json::parse(call("/v1/rooms?tenant=" + std::to_string(globex_), acme).body())
                  .at("rooms")
                  .as_array()
                  .empty());
  for (auto [target, method] :
       {std::pair{"/v1/rooms/2000@globex/recording", http::verb::post},
        std::pair{"/v1/rooms/2000@globex/playback", http::verb::delete_},
        std::pair{"/v1/rooms/2000@globex", http::verb::patch},
        std::pair{"/v1/rooms/2000@globex", http::verb::delete_},
        std::pair{"/v1/rooms/2000@globex/participants/x", http::verb::patch}}) {
    EXPECT_EQ(call(target, acme, method).result(), http::status::not_found) << target;
  }
  // The bridge as a whole is the operator's.
  EXPECT_EQ(call("/v1/mixer", acme).result(), http::status::forbidden);
  EXPECT_EQ(call("/v1/registrations", acme).result(), http::status::forbidden);
  // The operator sees both tenants' rooms.
  EXPECT_EQ(
      boost::json::parse(call("/v1/rooms", keys_.bearer()).body()).at("rooms").as_array().size(),
      2U);
}

TEST_F(AuthTest, AnAddressGuessingKeysIsLockedOutForTheRestOfTheWindow) {
  const std::string good = keys_.bearer();
  const std::string bad = "Bearer confab_" + std::string(43, 'x');
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(call("/v1/rooms", bad).result(), http::status::unauthorized) << i;
    now_ += 1s;
  }
  // The eleventh attempt, even with a good key, is refused until the window (60 s from the
  // first) has passed.
  auto locked = call("/v1/rooms", good);
  EXPECT_EQ(locked.result(), http::status::too_many_requests);
  EXPECT_EQ(locked[http::field::retry_after], "50");
  EXPECT_EQ(locked[http::field::content_type], kProblemContentType);
  // Others are not: another address, and /health.
  EXPECT_EQ(
      call("/v1/rooms", good, http::verb::get, boost::asio::ip::make_address("192.0.2.8")).result(),
      http::status::ok);
  EXPECT_EQ(call("/health", "").result(), http::status::ok);
  now_ += 50s;
  EXPECT_EQ(call("/v1/rooms", good).result(), http::status::ok);
}

TEST_F(AuthTest, AnIpv6SubscriberIsCountedByItsSlash64) {
  EXPECT_EQ(lockoutKey(boost::asio::ip::make_address("2001:db8:1:2:aaaa::1")),
            lockoutKey(boost::asio::ip::make_address("2001:db8:1:2:bbbb::9")));
  EXPECT_NE(lockoutKey(boost::asio::ip::make_address("2001:db8:1:2::1")),
            lockoutKey(boost::asio::ip::make_address("2001:db8:1:3::1")));
  EXPECT_EQ(lockoutKey(boost::asio::ip::make_address("::ffff:192.0.2.7")), "192.0.2.7");
  const std::string bad = "Bearer confab_" + std::string(43, 'y');
  for (int i = 0; i < 10; ++i) {
    // Each guess from another address in the same /64.
    const auto from = boost::asio::ip::make_address("2001:db8:1:2::" + std::to_string(i + 1));
    EXPECT_EQ(call("/v1/rooms", bad, http::verb::get, from).result(), http::status::unauthorized);
  }
  EXPECT_EQ(call("/v1/rooms", keys_.bearer(), http::verb::get,
                 boost::asio::ip::make_address("2001:db8:1:2::ffff"))
                .result(),
            http::status::too_many_requests);
}

TEST_F(AuthTest, TheLockoutRemembersABoundedNumberOfAddresses) {
  Auth small(keys_.store(), LockoutSettings{1, 60s, 3}, [this] { return now_; });
  Router router(keys_.store(), small);
  Request bad(http::verb::get, "/v1/rooms", 11);
  bad.set(http::field::host, "x");
  bad.set(http::field::authorization, "Bearer confab_zzz");
  Request good = bad;
  good.set(http::field::authorization, keys_.bearer());
  for (int i = 1; i <= 4; ++i) {
    now_ += 1s;
    (void)router.route(bad, boost::asio::ip::make_address("192.0.2." + std::to_string(i)));
  }
  // The first address was forgotten to make room for the fourth: it may try again.
  EXPECT_EQ(router.route(good, boost::asio::ip::make_address("192.0.2.1")).result(),
            http::status::ok);
  EXPECT_EQ(router.route(good, boost::asio::ip::make_address("192.0.2.4")).result(),
            http::status::too_many_requests);
}

}  // namespace
}  // namespace confab::api
