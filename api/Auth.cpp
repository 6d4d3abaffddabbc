#include "api/Auth.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace confab::api {

namespace {

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool isB64Token(std::string_view token) {
  const auto end = token.find_last_not_of('=');
  if (token.empty() || end == std::string_view::npos) {
    return false;
  }
  return std::all_of(
      token.begin(), token.begin() + static_cast<std::ptrdiff_t>(end + 1), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
      });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

}  // namespace

std::string lockoutKey(const boost::asio::ip::address& address) {
  if (address.is_v6() && !address.to_v6().is_v4_mapped()) {
    auto bytes = address.to_v6().to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return boost::asio::ip::address_v6(bytes).to_string() + "/64";
  }
  if (address.is_v6()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6())
        .to_string();
  }
  return address.to_string();
}

OfferedProtocols offeredProtocols(const Request& request) {
  constexpr std::string_view kPrefix = "bearer.";
  // RFC 9110 §5.6.2: tchar. A subprotocol is a token (RFC 6455 §4.1), so "bearer.a b" or a
  // quoted string is not a key, whatever the key lookup would make of it.
  const auto isToken = [](std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
             std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
  };
  OfferedProtocols out;
  bool keys = false;
  bool refused = request.count(http::field::authorization) != 0;
  for (auto element : listElements(request, http::field::sec_websocket_protocol)) {
    if (element == kEventsProtocol) {
      out.events = true;
    } else if (element.size() > kPrefix.size() &&
               iequals(element.substr(0, kPrefix.size()), kPrefix)) {
      const auto token = element.substr(kPrefix.size());
      refused = refused || keys || !isToken(token);  // two keys, or not a token: none is taken
      keys = true;
      out.bearer = std::string(token);
    }
  }
  if (refused || !out.events) {
    out.bearer.reset();
  }
  return out;
}

Auth::Auth(const policy::Store& store, LockoutSettings settings, Clock clock)
    : store_(store), settings_(settings), clock_(std::move(clock)) {}

std::chrono::steady_clock::time_point Auth::now() const {
  return clock_ ? clock_() : std::chrono::steady_clock::now();
}

std::variant<Principal, Problem> Auth::authenticate(const Request& request,
                                                    const boost::asio::ip::address& source) {
  const auto at = now();
  const std::string key = lockoutKey(source);
  if (auto found = strikes_.find(key); found != strikes_.end()) {
    const auto age = at - found->second.since;
    if (age >= settings_.window) {
      strikes_.erase(found);
    } else if (found->second.count >= settings_.failures) {
      const auto left = std::chrono::ceil<std::chrono::seconds>(settings_.window - age);
      Problem problem = problemWith(http::status::too_many_requests,
                                    "too many requests with bad keys from this address");
      problem.headers.emplace_back(http::field::retry_after,
                                   std::to_string(std::max<int64_t>(1, left.count())));
      return problem;
    }
  }
  const auto count = request.count(http::field::authorization);
  if (count == 0) {
    // RFC 6750 §3.1: no error code when the request carried no credentials at all.
    Problem problem = problemWith(http::status::unauthorized,
                                  "this resource needs an API key: Authorization: Bearer TOKEN");
    problem.headers.emplace_back(http::field::www_authenticate, "Bearer realm=\"confab\"");
    return problem;
  }
  std::string_view value = request[http::field::authorization];
  constexpr std::string_view kScheme = "Bearer";
  if (count > 1 || value.size() <= kScheme.size() ||
      !iequals(value.substr(0, kScheme.size()), kScheme) || value[kScheme.size()] != ' ') {
    return refuse(source, "the Authorization header must be one \"Bearer TOKEN\"", false);
  }
  value.remove_prefix(kScheme.size());
  value.remove_prefix(std::min(value.find_first_not_of(' '), value.size()));
  if (!isB64Token(value)) {
    return refuse(source, "the Authorization header must be one \"Bearer TOKEN\"", false);
  }
  const auto found = store_.apiKeyForToken(value);
  if (!found) {
    return refuse(source, "this token is no API key (revoked, or never issued)", true);
  }
  return Principal{found->id, found->tenantId, found->readOnly};
}

bool Auth::stillIssued(int64_t keyId) const {
  try {
    return store_.apiKey(keyId).has_value();
  } catch (const std::exception&) {
    return true;  // a store that fails now is not a revocation; the next look decides
  }
}

Problem Auth::refuse(const boost::asio::ip::address& source,
                     std::string detail,
                     bool invalidToken) {
  const auto at = now();
  const std::string key = lockoutKey(source);
  auto found = strikes_.find(key);
  if (found == strikes_.end()) {
    if (strikes_.size() >= settings_.maxAddresses) {
      // Forget the address whose window started longest ago.
      strikes_.erase(std::min_element(
          strikes_.begin(), strikes_.end(),
          [](const auto& a, const auto& b) { return a.second.since < b.second.since; }));
    }
    found = strikes_.emplace(key, Strikes{0, at}).first;
  }
  ++found->second.count;
  // RFC 6750 §3.1: invalid_token (401) for a token that is no key, invalid_request (400) for a
  // header that is no bearer token at all.
  Problem problem = problemWith(
      invalidToken ? http::status::unauthorized : http::status::bad_request, std::move(detail));
  problem.headers.emplace_back(http::field::www_authenticate,
                               std::string("Bearer realm=\"confab\", error=\"") +
                                   (invalidToken ? "invalid_token" : "invalid_request") + "\"");
  return problem;
}

}  // namespace confab::api
