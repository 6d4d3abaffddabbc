// The transport layer's Via rules: stamping where a request really came from (RFC 3261 §18.2.1,
// RFC 3581 §4) and choosing where its responses go (RFC 3261 §18.2.2, RFC 3581 §4).
#pragma once

#include <cstdint>
#include <string>

#include "focus/sip/Headers.hpp"
#include "focus/sip/Message.hpp"
#include "focus/transport/Addressing.hpp"

namespace confab::transport {

// On a received request: adds received=<source address> to the top Via when the sent-by host is
// not that address (a name, or another IP), and fills an empty rport with the source port (then
// received is always added, RFC 3581 §4). Returns false when there is no parsable top Via.
bool stampReceived(sip::Message& request, const Endpoint& from);

// Where a response goes when it cannot simply follow its request's connection.
struct ResponseTarget {
  std::string host;  // IP literal (maybe bracketed) or a name to resolve
  std::uint16_t port = 0;
};

// RFC 3261 §18.2.2 and RFC 3581 §4, from the response's top Via (a copy of the request's, with
// received/rport stamped). Reliable: received (or sent-by host) and the sent-by port (default
// 5060/5061). Unreliable: maddr with the sent-by port; else received with rport if it has a value,
// else the sent-by port (default 5060).
sip::Result<ResponseTarget> responseTarget(const sip::Via& via, Protocol protocol);

}  // namespace confab::transport
