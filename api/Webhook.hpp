// What webhooks (issue 13 item 3) follow wherever they are made or sent: which URLs may receive
// events (http with a host, no private addresses unless the operator allows them), how a body is
// signed, how long to wait before the next try, and the counters /metrics shows.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace confab::api {

// Deliveries since start, for /metrics.
struct WebhookCounters {
  uint64_t delivered = 0;  // answered 2xx
  uint64_t retried = 0;    // failed an attempt, another follows
  uint64_t failed = 0;     // given up on (24 h of failures)
  uint64_t dropped = 0;    // pushed out of a full outbox
};

// What the API's webhook routes and the sender share.
struct WebhookOptions {
  // --api-webhooks-private: URLs on loopback, private and link-local addresses are allowed (a
  // receiver on the same machine or network). Off: refused, so that a tenant cannot make the
  // bridge POST into the operator's own network (server-side request forgery).
  bool allowPrivate = false;
  const WebhookCounters* counters = nullptr;  // null: no webhook lines in /metrics
};

// A webhook URL split as the sender uses it.
struct WebhookUrl {
  bool tls = false;    // https: TLS, the certificate verified against the system's trust store
  std::string host;    // a name, or an IP literal without brackets
  uint16_t port = 80;  // the URL's, else the scheme's (80, 443)
  std::string target;  // the origin-form request target: path and query, "/" at least
};

inline constexpr std::size_t kMaxWebhookUrl = 2000;

// The URL as the sender will use it, or why it cannot be one: http:// or https://, a host, no user
// information (RFC 9110 §4.2.4 deprecates it: a secret in a URL leaks into logs), at most
// kMaxWebhookUrl bytes. Without 'allowPrivate', a host that is an IP literal or "localhost" must
// not be a private address; names are checked when resolved, at each delivery.
std::optional<std::string> webhookUrlProblem(std::string_view url, bool allowPrivate);
std::optional<WebhookUrl> parseWebhookUrl(std::string_view url);

// Loopback, unspecified, RFC 1918 private, RFC 6598 shared, link-local (169.254/16, fe80::/10),
// unique local (fc00::/7), multicast; an IPv4-mapped IPv6 address as its IPv4 address.
bool isPrivateAddress(const boost::asio::ip::address& address);

// The Confab-Signature value: "v1=" and the hex HMAC-SHA256 (RFC 2104) keyed with the webhook's
// secret (the whole "whsec_..." text) over "TIMESTAMP.BODY", TIMESTAMP being the Confab-Timestamp
// value (Unix seconds): the receiver recomputes it, and refuses old timestamps against replays.
std::string webhookSignature(std::string_view secret, int64_t timestamp, std::string_view body);
std::string hmacSha256Hex(std::string_view key, std::string_view data);

// When to try again after 'attempts' failed tries: 1 s, 2 s, 4 s ... capped at 10 min, plus up to
// a tenth more ('jitter' in [0, 1)), so that receivers coming back are not hit by every bridge at
// once. Nothing once the event is 'giveUpAfter' old: it is failed.
struct Backoff {
  std::chrono::milliseconds first{1000};
  std::chrono::milliseconds cap{std::chrono::minutes(10)};
  std::chrono::milliseconds giveUpAfter{std::chrono::hours(24)};
  [[nodiscard]] std::optional<std::chrono::milliseconds> next(unsigned attempts,
                                                              std::chrono::milliseconds age,
                                                              double jitter) const;
};

}  // namespace confab::api
