// The web console's files (api/Console.cpp) as the router serves them, and the key a browser's
// WebSocket offers as a subprotocol (api/Auth.hpp). The pages themselves are driven in a real
// browser by tests/integration/test_console.sh.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "api/Auth.hpp"
#include "api/Embedded.hpp"
#include "api/Router.hpp"
#include "tests/unit/api/ScratchKeys.hpp"

namespace confab::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const boost::asio::ip::address kClient = boost::asio::ip::make_address("192.0.2.7");

class ConsoleTest : public ::testing::Test {
 protected:
  Response get(std::string target, http::verb method = http::verb::get) {
    Request request(method, target, 11);
    request.set(http::field::host, "localhost");
    return router_.route(request, kClient);
  }

  ScratchKeys keys_;
  Auth auth_{keys_.store()};
  Router router_{keys_.store(), auth_};
};

TEST_F(ConsoleTest, ThePageIsServedAtTheRootWithoutAKeyAndWithItsPolicy) {
  const auto response = get("/");
  ASSERT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_THAT(response.body(), HasSubstr("<script src=\"/console/console.js\" defer></script>"));
  const std::string policy(response["Content-Security-Policy"]);
  // No inline script or style, nothing from another origin, no framing.
  EXPECT_THAT(policy, HasSubstr("default-src 'none'"));
  EXPECT_THAT(policy, HasSubstr("script-src 'self';"));
  EXPECT_THAT(policy, HasSubstr("frame-ancestors 'none'"));
  EXPECT_THAT(policy, Not(HasSubstr("unsafe-inline")));
  EXPECT_THAT(policy, Not(HasSubstr("unsafe-eval")));
  EXPECT_EQ(response["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(response["Referrer-Policy"], "no-referrer");
  EXPECT_EQ(response["X-Frame-Options"], "DENY");
}

TEST_F(ConsoleTest, EachFileHasItsTypeAndTheBytesOfTheRepository) {
  const auto files = consoleFiles();
  ASSERT_GE(files.size(), 4U);
  for (const auto& [name, type] : {std::pair{"console.js", "text/javascript; charset=utf-8"},
                                   std::pair{"console.css", "text/css; charset=utf-8"},
                                   std::pair{"icon.svg", "image/svg+xml"}}) {
    const auto response = get(std::string("/console/") + name);
    ASSERT_EQ(response.result(), http::status::ok) << name;
    EXPECT_EQ(response[http::field::content_type], type) << name;
    std::ifstream in(std::string(CONFAB_SOURCE_DIR) + "/api/console/" + name, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    EXPECT_EQ(response.body(), bytes.str()) << name;
    EXPECT_THAT(std::string(response["Content-Security-Policy"]),
                HasSubstr("default-src 'none'"));
  }
}

TEST_F(ConsoleTest, NoPageHasInlineScriptOrStyle) {
  // The policy would block them anyway; this keeps the page from depending on what it blocks.
  for (const auto& file : consoleFiles()) {
    if (!file.name.ends_with(".html")) {
      continue;
    }
    const std::string page(file.bytes);
    for (auto at = page.find("<script"); at != std::string::npos; at = page.find("<script", at + 1)) {
      EXPECT_THAT(page.substr(at, page.find('>', at) - at), HasSubstr("src=")) << file.name;
    }
    EXPECT_THAT(page, Not(HasSubstr("<style"))) << file.name;
    EXPECT_THAT(page, Not(HasSubstr(" style="))) << file.name;
    EXPECT_THAT(page, Not(HasSubstr(" onclick="))) << file.name;
  }
}

TEST_F(ConsoleTest, AnUnknownFileIsA404AndNoPathLeavesTheEmbeddedSet) {
  for (const char* target : {"/console/nope.js", "/console/..%2Fdocs%2Fopenapi.json",
                             "/console/%2E%2E", "/console/", "/console/console.js/x"}) {
    const auto response = get(target);
    EXPECT_EQ(response.result(), http::status::not_found) << target;
  }
  // Only GET and HEAD: the console's files are not for changing.
  EXPECT_EQ(get("/", http::verb::post).result(), http::status::method_not_allowed);
  const auto head = get("/console/console.js", http::verb::head);
  EXPECT_EQ(head.result(), http::status::ok);
  EXPECT_TRUE(head.body().empty());
}

Request upgrade(std::initializer_list<std::string> protocols) {
  Request request(http::verb::get, "/v1/events", 11);
  for (const auto& line : protocols) {
    request.insert(http::field::sec_websocket_protocol, line);
  }
  return request;
}

TEST(ConsoleEventsKey, TheKeyOfferedAsASubprotocolIsFoundBesideTheEventsProtocol) {
  EXPECT_EQ(offeredProtocols(upgrade({"confab.events, bearer.confab_abc-DEF_1"})).bearer,
            "confab_abc-DEF_1");
  // Over two lines, and in either order (RFC 9110 §5.3: one list).
  EXPECT_EQ(offeredProtocols(upgrade({"bearer.tok", "confab.events"})).bearer, "tok");
}

TEST(ConsoleEventsKey, NothingIsTakenWithoutTheEventsProtocolOrWithTwoKeysOrAHeader) {
  EXPECT_EQ(offeredProtocols(upgrade({"bearer.tok"})).bearer, std::nullopt);
  EXPECT_EQ(offeredProtocols(upgrade({"confab.events"})).bearer, std::nullopt);
  EXPECT_EQ(offeredProtocols(upgrade({"confab.events, bearer.a, bearer.b"})).bearer, std::nullopt);
  EXPECT_EQ(offeredProtocols(upgrade({"confab.events, bearer."})).bearer, std::nullopt);
  auto withHeader = upgrade({"confab.events, bearer.tok"});
  withHeader.set(http::field::authorization, "Bearer other");
  EXPECT_EQ(offeredProtocols(withHeader).bearer, std::nullopt);  // the header is the key then
}

TEST(ConsoleEventsKey, AKeyThatIsNotOneTokenIsNotTaken) {
  // Found by fuzz_api_request: the list's elements are trimmed at their ends only, so "bearer.a b"
  // held a space. A subprotocol is a token (RFC 6455 §4.1), and so is every key we issue.
  for (const auto* offered : {"confab.events, bearer.a b", "confab.events, bearer.\"tok\"",
                              "confab.events, bearer.a;b", "confab.events, bearer.a\tb"}) {
    const auto got = offeredProtocols(upgrade({offered}));
    EXPECT_EQ(got.bearer, std::nullopt) << offered;
    EXPECT_TRUE(got.events) << offered;  // the protocol is still answered; the key is refused
  }
  EXPECT_EQ(offeredProtocols(upgrade({"confab.events, bearer.a!#$%&'*+-.^_`|~9"})).bearer,
            "a!#$%&'*+-.^_`|~9");
}

TEST(ConsoleEventsKey, TheEventsProtocolIsFoundWithoutAKey) {
  EXPECT_TRUE(offeredProtocols(upgrade({"chat, confab.events"})).events);
  EXPECT_FALSE(offeredProtocols(upgrade({"chat, confab.eventsx, bearer.tok"})).events);
}

}  // namespace
}  // namespace confab::api
