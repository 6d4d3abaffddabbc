// The vocabulary of the SIP transport layer (RFC 3261 §18): which protocol a message used, where
// it came from, where one should go, and what we write as our own sent-by.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace confab::transport {

enum class Protocol : std::uint8_t { kUdp, kTcp, kTls };

// The transport token of a Via (RFC 3261 §20.42): "UDP", "TCP", "TLS".
std::string_view viaTransport(Protocol protocol);
std::optional<Protocol> protocolFromVia(std::string_view token);
std::string_view protocolName(Protocol protocol);

// RFC 3261 §18: TCP and TLS are reliable, so the transaction layer stops retransmitting.
constexpr bool isReliable(Protocol protocol) {
  return protocol != Protocol::kUdp;
}
// RFC 3261 §19.1.2: 5060 for UDP and TCP, 5061 for TLS.
constexpr std::uint16_t defaultPort(Protocol protocol) {
  return protocol == Protocol::kTls ? 5061 : 5060;
}

// An IP address and port, the same for UDP and TCP sockets.
struct Endpoint {
  boost::asio::ip::address address;
  std::uint16_t port = 0;

  // "192.0.2.1:5060" or "[2001:db8::1]:5060".
  [[nodiscard]] std::string str() const;
  friend bool operator==(const Endpoint& a, const Endpoint& b) {
    return a.address == b.address && a.port == b.port;
  }
  friend bool operator<(const Endpoint& a, const Endpoint& b) {
    return a.address < b.address || (a.address == b.address && a.port < b.port);
  }
};

// Our Contact URIs say how in-dialog requests are to reach us (RFC 3261 §19.1.1): over TLS a
// sips: URI (RFC 5630 §3.1.3: the scheme, not the deprecated transport=tls, asks for TLS), over
// TCP sip: with transport=tcp, over UDP plain sip:.
std::string contactScheme(Protocol protocol);        // "sips:" or "sip:"
std::string contactTransportParam(Protocol protocol);  // ";transport=tcp" or ""

// Parses "192.0.2.1:5060", "[::1]:5060" or a bare address (port 0).
std::optional<Endpoint> parseEndpoint(std::string_view text);
// Parses an IP literal, with or without the brackets of an IPv6 reference (RFC 3261 §25.1).
std::optional<boost::asio::ip::address> parseIpLiteral(std::string_view host);
// An address as a Via host or URI host: IPv6 gets its brackets (RFC 3261 §25.1 IPv6reference).
std::string hostText(const boost::asio::ip::address& address);

using ConnectionId = std::uint64_t;  // 0: no connection (UDP)
using SendId = std::uint64_t;        // names one send() for a later onSendFailed()

// Where a message came from and which of our sockets took it in.
struct Source {
  Protocol protocol = Protocol::kUdp;
  Endpoint remote;
  Endpoint local;               // our socket (the bound address for a wildcard UDP socket)
  ConnectionId connection = 0;  // TCP and TLS only
};

// Where a request we originate should go. No NAPTR/SRV (RFC 3263) yet: a host name is resolved
// to A/AAAA records and the first address is used.
struct Destination {
  Protocol protocol = Protocol::kUdp;
  std::string host;        // IP literal (IPv6 with or without brackets) or host name
  std::uint16_t port = 0;  // 0: the protocol's default port
};

// What the layer above writes as sent-by in its Via (RFC 3261 §18.1.1): our address and the
// listening port, so that responses and new connections reach a socket we hold.
struct SentBy {
  std::string transport;  // "UDP", "TCP", "TLS"
  std::string host;
  std::uint16_t port = 0;

  // "host:port", ready for "SIP/2.0/<transport> <hostPort>".
  [[nodiscard]] std::string hostPort() const;
};

}  // namespace confab::transport
