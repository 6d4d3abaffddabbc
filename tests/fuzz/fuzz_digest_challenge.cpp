// libFuzzer target for digest challenges (focus/auth/Digest.hpp). The input, split at newlines,
// is the WWW-Authenticate values of a 401 (or Proxy-Authenticate of a 407, by the first byte's
// low bit). Properties: each value parses or is refused with a one-line reason; what parses is
// within the bounds; an answer we build is one line and reads back (through the same parser) with
// the realm and nonce it answered; the client never answers the same refused nonce twice.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "focus/auth/Digest.hpp"

namespace {

using namespace confab;

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

bool oneLine(std::string_view s) {
  return s.find_first_of("\r\n") == std::string_view::npos;
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const bool proxy = (data[0] & 1) != 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auth::Credentials credentials{"1000", "s3cret \"pass\"", (data[0] & 2) != 0 ? "pbx" : ""};

  sip::Message challenge = sip::Message::response(proxy ? 407 : 401, "Unauthorized");
  std::string_view rest = input;
  while (true) {
    const auto newline = rest.find('\n');
    const std::string_view value = rest.substr(0, newline);
    challenge.add(proxy ? "Proxy-Authenticate" : "WWW-Authenticate", std::string(value));

    auto parsed = auth::parseChallenge(value);
    if (!parsed) {
      check(!parsed.error().reason.empty());
      check(oneLine(parsed.error().reason));
    } else {
      check(!parsed->nonce.empty());
      check(parsed->realm.size() <= auth::kMaxParamValueBytes);
      check(parsed->nonce.size() <= auth::kMaxParamValueBytes);
      auto value2 = auth::authorizationValue(*parsed, credentials,
                                             {"REGISTER", "sip:pbx.example.com", "body"}, "c0ffee",
                                             1);
      if (value2) {
        check(oneLine(*value2));
        // Our Authorization is itself auth-params after "Digest": it reads back (when within
        // the bound a challenge has; ours adds its own parameters).
        if (value2->size() <= auth::kMaxChallengeBytes) {
          auto back = auth::parseChallenge(*value2);
          check(back.ok());
          check(back->realm == parsed->realm);
          check(back->nonce == parsed->nonce);
        }
      } else {
        check(oneLine(value2.error().reason));
      }
    }
    if (newline == std::string_view::npos) {
      break;
    }
    rest = rest.substr(newline + 1);
  }

  auth::Client client(credentials, [] { return std::string("0a4f113b"); });
  auto uri = sip::Uri::parse("sip:pbx.example.com");
  check(uri.ok());
  const sip::Message request = sip::Message::request("REGISTER", *uri);
  auto first = client.respond(challenge, request);
  if (first) {
    check(first->name == (proxy ? "Proxy-Authorization" : "Authorization"));
    check(oneLine(first->value));
    check(client.authorize(request).size() == 1);
    // The same challenge again, not stale: refused, never answered in a loop. (A stale one may be
    // answered once more, then no more.)
    auto second = client.respond(challenge, request);
    auto third = client.respond(challenge, request);
    check(!(second.ok() && third.ok()));
  } else {
    check(oneLine(first.error().reason));
    check(client.authorize(request).empty());
  }
  return 0;
}
