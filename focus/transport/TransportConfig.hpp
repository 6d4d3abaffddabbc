// Settings of the SIP transport layer: what to listen on, TLS identity, and the bounds every
// connection lives within (sizes, counts, timeouts).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "focus/sip/Message.hpp"
#include "focus/transport/Addressing.hpp"

namespace confab::transport {

struct ListenAddress {
  Protocol protocol = Protocol::kUdp;
  Endpoint endpoint;  // IPv4 or IPv6; port 0 binds an ephemeral port
};

struct TransportConfig {
  std::vector<ListenAddress> listen;

  // Our name: the sent-by host we advertise (when set) and the CN/SAN of a generated certificate.
  std::string hostName;

  // PEM files. When both are empty, a self-signed EC P-256 certificate for hostName (or
  // "confab.local") is generated into dataDirectory at first start and reused afterwards.
  std::string tlsCertificateFile;
  std::string tlsPrivateKeyFile;
  std::string dataDirectory = ".";
  // Our outgoing TLS connections (dial-out, registration, NOTIFY to a subscriber) check the
  // peer's certificate chain and that it names the host we connect to (RFC 5922 §7.2: its
  // subjectAltName, DNS for a name, IP for an address literal). Off by default: phones and PBXs
  // mostly present self-signed certificates. SNI is sent either way.
  bool tlsVerifyPeer = false;
  // PEM file of the certificate authorities trusted when verifying; empty: the system's store.
  std::string tlsCaFile;

  // A connection with no byte in either direction for this long is closed.
  std::chrono::milliseconds idleTimeout{std::chrono::seconds(120)};
  // Bound on TCP connect plus TLS handshake (outbound), and on the TLS handshake (inbound).
  std::chrono::milliseconds handshakeTimeout{std::chrono::seconds(10)};
  // Bound on an A/AAAA lookup for a Destination given by name.
  std::chrono::milliseconds resolveTimeout{std::chrono::seconds(5)};

  std::size_t maxConnectionsPerSource = 64;  // per remote IP address
  std::size_t maxConnections = 4096;
  // A peer that lets its connection's unsent bytes grow past this is dropped.
  std::size_t maxWriteQueueBytes = 1024 * 1024;

  // What a peer may send; an over-size UDP datagram is dropped, an over-size stream message
  // closes the connection (RFC 3261 §18.3).
  sip::Limits limits;
};

}  // namespace confab::transport
