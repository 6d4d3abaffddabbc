// TLS for the mixer control protocol (docs/mixer-protocol.md, "Encryption"). TLS 1.3 only. The
// server presents a throwaway self-signed certificate made when it starts, and the client checks
// no certificate: who is at the other end is proven by the shared-secret handshake
// (mixer/remote/Handshake.hpp), whose proofs cover this connection's TLS exporter value (RFC 8446
// §7.5). A man in the middle holds two different TLS sessions, so a proof made for one fails on
// the other: encryption needs no PKI, and TLS is only allowed together with a secret.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <string>

namespace confab::mixer::remote {

using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

// Both throw std::runtime_error when OpenSSL cannot set them up.
std::unique_ptr<boost::asio::ssl::context> makeServerTlsContext();
std::unique_ptr<boost::asio::ssl::context> makeClientTlsContext();

// 32 bytes of the connection's exporter (label "EXPORTER-confab-mixer-control", RFC 8446 §7.5)
// as 64 hex digits, the same on both ends of one TLS session; "" when it cannot be had.
std::string channelBinding(TlsStream& stream);

}  // namespace confab::mixer::remote
