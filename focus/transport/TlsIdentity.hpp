// Our TLS certificate and key (RFC 3261 §26.3.1: a SIP server presents a certificate naming its
// domain), generated self-signed at first start when none is configured, and the OpenSSL contexts
// the transport layer runs TLS with. The one place that talks to OpenSSL directly.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <string>

#include "focus/transport/TransportConfig.hpp"

namespace confab::transport {

struct TlsIdentity {
  std::string certificateFile;  // PEM
  std::string privateKeyFile;   // PEM
};

// The configured files, or "<dataDirectory>/tls-certificate.pem" and "tls-private-key.pem",
// generated (EC P-256, SHA-256, ten years, CN and subjectAltName = hostName or "confab.local")
// when they do not exist yet. Start-up code: throws std::runtime_error on failure.
TlsIdentity ensureTlsIdentity(const TransportConfig& config);

// Writes a new self-signed certificate and key for 'name' to the two paths (key mode 0600).
void writeSelfSignedIdentity(const std::string& name,
                             const std::string& certificateFile,
                             const std::string& privateKeyFile);

// TLS 1.2 or later. The server context presents 'identity' and does not ask for client
// certificates; the client context verifies the peer only when 'verifyPeer' is set.
boost::asio::ssl::context makeServerContext(const TlsIdentity& identity);
// 'caFile' (PEM) replaces the system's trust store when set. Throws std::runtime_error when it
// cannot be read.
boost::asio::ssl::context makeClientContext(bool verifyPeer, const std::string& caFile = {});
// The REST API's HTTPS: makeServerContext, and no TLS compression (CRIME) and no session tickets
// (RFC 5077: a ticket key lives as long as the process and is never rotated, so a stolen one would
// open every past session; sessions resume from the server's own cache instead).
boost::asio::ssl::context makeHttpsContext(const TlsIdentity& identity);

}  // namespace confab::transport
