// Fuzzes the REST API's request handling without sockets: bytes -> Beast request parser under
// the server's limits -> Router -> response. Checks what every answer must hold: a final status,
// a JSON body, problem+json for every error, and that it serializes.
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string_view>

#include "api/Problem.hpp"
#include "api/Router.hpp"

namespace {

const confab::policy::Directory& directory() {
  static const confab::policy::Directory kDirectory = [] {
    confab::policy::Directory d;
    d.put({"1000", "Weekly sync", 0});
    d.put({"lobby", "Lobby", 12});
    return d;
  }();
  return kDirectory;
}

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace http = confab::api::http;
  static const confab::api::Router router(directory());
  confab::api::Limits limits;
  limits.bodyBytes = 1024;  // small enough for the fuzzer to reach the limit
  limits.headerBytes = 2048;

  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto response = router.answer(bytes, limits);

  auto status = static_cast<unsigned>(response.result());
  check(status >= 200 && status < 600);
  if (status >= 400) {
    check(response[http::field::content_type] == confab::api::kProblemContentType);
  }
  if (status == 405) {
    check(!response[http::field::allow].empty());
  }
  if (!response.body().empty()) {
    boost::system::error_code ec;
    auto json = boost::json::parse(response.body(), ec);
    check(!ec);
    if (status >= 400) {
      check(json.as_object().at("status").to_number<unsigned>() == status);
    }
  }
  std::ostringstream out;
  out << response;
  check(!out.str().empty());
  return 0;
}
