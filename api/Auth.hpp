// Who is asking: the API key behind a request's bearer token (RFC 6750 §2.1), checked against the
// policy store on every request (so a revoked key stops at once), and a lockout for addresses
// that keep presenting bad tokens (429 with Retry-After, RFC 6585 §4).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/Http.hpp"
#include "api/Problem.hpp"
#include "policy/Store.hpp"

namespace confab::api {

// The key a request was made with.
struct Principal {
  int64_t keyId = 0;
  int64_t tenantId = 0;  // 0: the operator
  bool readOnly = false;
  [[nodiscard]] bool isOperator() const { return tenantId == 0; }
  // Whether it may see a resource of this tenant (the operator sees every tenant's).
  [[nodiscard]] bool sees(int64_t tenant) const { return isOperator() || tenant == tenantId; }
};

struct LockoutSettings {
  // This many bad tokens from one address (an IPv6 /64 counts as one) within the window...
  unsigned failures = 10;
  std::chrono::seconds window{60};
  // ...and its requests get 429 until the window that saw the last of them has passed.
  // Addresses remembered at most; the oldest are forgotten first.
  std::size_t maxAddresses = 10000;
};

class Auth {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // The store must outlive this and be used on this thread only (one SQLite connection).
  explicit Auth(const policy::Store& store, LockoutSettings settings = {}, Clock clock = {});

  // The request's key, or the problem to answer: 401 with WWW-Authenticate when there is no
  // usable bearer token or it is no key (RFC 6750 §3), 429 while 'source' is locked out.
  std::variant<Principal, Problem> authenticate(const Request& request,
                                                const boost::asio::ip::address& source);

  // Whether the key with this id is still issued (not revoked, its tenant not deleted): asked
  // again for a stream that outlives its request. A store that cannot answer leaves it standing.
  [[nodiscard]] bool stillIssued(int64_t keyId) const;

 private:
  struct Strikes {
    unsigned count = 0;
    std::chrono::steady_clock::time_point since;  // the window's start
  };
  Problem refuse(const boost::asio::ip::address& source, std::string detail, bool invalidToken);
  [[nodiscard]] std::chrono::steady_clock::time_point now() const;

  const policy::Store& store_;
  LockoutSettings settings_;
  Clock clock_;
  // By address (IPv6 by its /64), as text.
  std::map<std::string, Strikes> strikes_;
};

// A browser's WebSocket cannot send an Authorization header: the web console offers its key as
// a subprotocol instead, "Sec-WebSocket-Protocol: confab.events, bearer.TOKEN" (RFC 6455
// §4.1 and §11.3.4). What a WebSocket upgrade offers, read once: whether "confab.events" is
// among the protocols (the one the server then answers with, so the key is never echoed), and
// the TOKEN when it comes beside it. A TOKEN is taken only when it is one RFC 9110 token (which
// our keys are), only once, and only for a request without an Authorization header.
struct OfferedProtocols {
  bool events = false;
  std::optional<std::string> bearer;
};
OfferedProtocols offeredProtocols(const Request& request);
inline constexpr std::string_view kEventsProtocol = "confab.events";

// The address an IPv6 client is counted by: its /64, which one subscriber usually holds whole.
std::string lockoutKey(const boost::asio::ip::address& address);

}  // namespace confab::api
