// Fuzzes the REST API's request handling without sockets: bytes -> Beast request parser under
// the server's limits -> Router -> response. Checks what every answer must hold: a final status,
// a JSON body, problem+json for every error, and that it serializes. Keys live in an in-memory
// SQLite store; "@KEY@" in the input stands for a valid operator token, so the fuzzer reaches the
// routes behind authentication too. The same bytes also go through the WebSocket upgrade's key
// lookup (a browser's key offered as a subprotocol, api/Auth.hpp).
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>

#include "api/Auth.hpp"
#include "api/Http.hpp"
#include "api/Problem.hpp"
#include "api/Router.hpp"

namespace {

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

struct Keys {
  std::unique_ptr<confab::policy::Store> store;
  std::string token;
};

Keys& keys() {
  static Keys k = [] {
    Keys made;
    auto opened = confab::policy::Store::open(":memory:");
    check(std::holds_alternative<std::unique_ptr<confab::policy::Store>>(opened));
    made.store = std::move(std::get<std::unique_ptr<confab::policy::Store>>(opened));
    // Tenant "default" with rooms 1000 and lobby, as confab seeds it.
    check(std::holds_alternative<confab::policy::Tenant>(
        made.store->seedDefault({{"1000", "Weekly sync"}, {"lobby", "Lobby"}}, 12)));
    auto issued = made.store->createApiKey(confab::policy::ApiKey{});
    check(std::holds_alternative<confab::policy::IssuedApiKey>(issued));
    made.token = std::get<confab::policy::IssuedApiKey>(issued).token;
    return made;
  }();
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace http = confab::api::http;
  // The lockout would soon answer everything with 429: the fuzzer sends a bad key per run.
  static confab::api::Auth auth(*keys().store,
                                confab::api::LockoutSettings{1U << 30, std::chrono::seconds(60)});
  static const confab::api::Router router(*keys().store, auth);
  static const auto kSource = boost::asio::ip::make_address("192.0.2.1");
  confab::api::Limits limits;
  limits.bodyBytes = 1024;  // small enough for the fuzzer to reach the limit
  limits.headerBytes = 2048;

  std::string input(reinterpret_cast<const char*>(data), size);
  for (auto at = input.find("@KEY@"); at != std::string::npos; at = input.find("@KEY@", at)) {
    input.replace(at, 5, keys().token);
    at += keys().token.size();
  }
  auto response = router.answer(input, limits, kSource);

  auto status = static_cast<unsigned>(response.result());
  check(status >= 200 && status < 600);
  if (status >= 400) {
    check(response[http::field::content_type] == confab::api::kProblemContentType);
  }
  if (status == 405) {
    check(!response[http::field::allow].empty());
  }
  // The web console's pages are the only answers that are not JSON.
  const bool page = response[http::field::content_type].starts_with("text/") ||
                    response[http::field::content_type] == "image/svg+xml";
  check(!page || status == 200);
  if (!response.body().empty() && !page) {
    boost::system::error_code ec;
    auto json = boost::json::parse(response.body(), ec);
    check(!ec);
    if (status >= 400) {
      check(json.as_object().at("status").to_number<unsigned>() == status);
    }
  }
  if (auto request = confab::api::parseRequest(input, limits)) {
    // A key taken from Sec-WebSocket-Protocol is one whole list element and one token: never
    // empty, never holding the list's separators or white space, and only beside confab.events.
    const auto offered = confab::api::offeredProtocols(*request);
    if (offered.bearer) {
      check(offered.events && !offered.bearer->empty() &&
            offered.bearer->find_first_of(", \t\"") == std::string::npos);
    }
  }
  std::ostringstream out;
  out << response;
  check(!out.str().empty());
  return 0;
}
