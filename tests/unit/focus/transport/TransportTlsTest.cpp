// SIP over TLS on loopback: the self-signed identity generated at first start (and reused), a
// client handshake against it, a request and its response over the same connection, and an
// outbound TLS connection of ours with SNI.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "focus/transport/TlsIdentity.hpp"
#include "focus/transport/TransportLayer.hpp"
#include "tests/unit/focus/transport/TransportTestSupport.hpp"

namespace confab::transport {
namespace {

using namespace test;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};

std::unique_ptr<X509, X509Free> loadCertificate(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) {
    return nullptr;
  }
  std::unique_ptr<X509, X509Free> certificate(PEM_read_X509(file, nullptr, nullptr, nullptr));
  std::fclose(file);
  return certificate;
}

TEST(TransportTlsIdentity, GeneratedOnceThenReused) {
  TransportConfig config;
  config.dataDirectory = scratchDirectory("identity") + "/nested";
  config.hostName = "conf.example.org";
  const TlsIdentity first = ensureTlsIdentity(config);
  ASSERT_TRUE(std::filesystem::exists(first.certificateFile));
  ASSERT_TRUE(std::filesystem::exists(first.privateKeyFile));
  const auto keyPermissions = std::filesystem::status(first.privateKeyFile).permissions();
  EXPECT_EQ(keyPermissions & std::filesystem::perms::others_read, std::filesystem::perms::none);
  const std::string certificatePem = readAll(first.certificateFile);

  const TlsIdentity second = ensureTlsIdentity(config);
  EXPECT_EQ(second.certificateFile, first.certificateFile);
  EXPECT_EQ(readAll(second.certificateFile), certificatePem);

  auto certificate = loadCertificate(first.certificateFile);
  ASSERT_TRUE(certificate);
  char commonName[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(certificate.get()), NID_commonName, commonName,
                            sizeof commonName);
  EXPECT_STREQ(commonName, "conf.example.org");
  EXPECT_EQ(X509_check_host(certificate.get(), "conf.example.org", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(certificate.get(), "other.example.org", 0, 0, nullptr), 0);
  // The contexts accept what was generated.
  EXPECT_NO_THROW(makeServerContext(first));
}

TEST(TransportTlsIdentity, DefaultNameAndHalfConfiguredFilesAreRefused) {
  TransportConfig config;
  config.dataDirectory = scratchDirectory("default-name");
  const TlsIdentity identity = ensureTlsIdentity(config);
  auto certificate = loadCertificate(identity.certificateFile);
  ASSERT_TRUE(certificate);
  EXPECT_EQ(X509_check_host(certificate.get(), "confab.local", 0, 0, nullptr), 1);

  TransportConfig half;
  half.tlsCertificateFile = identity.certificateFile;
  EXPECT_THROW(ensureTlsIdentity(half), std::runtime_error);
}

class TransportTlsTest : public ::testing::Test {
 protected:
  void startLayer(TransportConfig config) {
    config.dataDirectory = scratchDirectory("tls-layer");
    layer_ = std::make_unique<TransportLayer>(io_, std::move(config), listener_);
    layer_->start();
  }
  void TearDown() override { layer_.reset(); }

  asio::io_context io_;
  RecordingListener listener_;
  std::unique_ptr<TransportLayer> layer_;
};

TEST_F(TransportTlsTest, RequestAndResponseOverOneTlsConnection) {
  startLayer(loopbackConfig({Protocol::kTls}));
  const auto server = layer_->boundEndpoint(Protocol::kTls);
  ASSERT_TRUE(server);
  EXPECT_EQ(layer_->sentBy(Protocol::kTls)->transport, "TLS");

  ssl::context clientContext(ssl::context::tls_client);
  clientContext.set_verify_mode(ssl::verify_none);
  ssl::stream<tcp::socket> client(io_, clientContext);
  client.next_layer().connect(tcp::endpoint(server->address, server->port));
  bool handshaken = false;
  client.async_handshake(ssl::stream_base::client, [&](const boost::system::error_code& ec) {
    EXPECT_FALSE(ec) << ec.message();
    handshaken = true;
  });
  ASSERT_TRUE(runUntil(io_, [&] { return handshaken; }));

  listener_.onReceived = [&](const sip::Message& request, const Source& source) {
    ASSERT_TRUE(layer_->sendResponse(okFor(request), source).ok());
  };
  const std::string request =
      requestText("SIP/2.0/TLS client.example.com:5061;alias;branch=z9hG4bKt", "OPTIONS");
  bool written = false;
  asio::async_write(client, asio::buffer(request),
                    [&](const boost::system::error_code& ec, std::size_t) { written = !ec; });
  StreamReader reader;
  reader.start(client);
  ASSERT_TRUE(runUntil(io_, [&] { return reader.data.find("\r\n\r\n") != std::string::npos; }));
  EXPECT_TRUE(written);
  ASSERT_EQ(listener_.messages.size(), 1U);
  EXPECT_EQ(listener_.messages[0].source.protocol, Protocol::kTls);
  EXPECT_NE(listener_.messages[0].source.connection, 0U);
  EXPECT_EQ(reader.data.rfind("SIP/2.0 200 OK\r\n", 0), 0U);
  EXPECT_NE(reader.data.find("received=127.0.0.1"), std::string::npos);
  EXPECT_EQ(layer_->connectionCount(), 1U);
}

TEST_F(TransportTlsTest, OutboundTlsConnectsToAnotherLayer) {
  // Two layers on one io_context: ours sends a NOTIFY by TLS to the other's listener.
  startLayer(loopbackConfig({Protocol::kTls}));
  RecordingListener peerListener;
  TransportConfig peerConfig = loopbackConfig({Protocol::kTls});
  peerConfig.dataDirectory = scratchDirectory("tls-peer");
  TransportLayer peer(io_, peerConfig, peerListener);
  peer.start();
  const auto peerEndpoint = peer.boundEndpoint(Protocol::kTls);
  ASSERT_TRUE(peerEndpoint);

  const auto notify = parsed(requestText(
      "SIP/2.0/TLS " + layer_->sentBy(Protocol::kTls)->hostPort() + ";branch=z9hG4bKn", "NOTIFY"));
  ASSERT_TRUE(
      layer_->send(notify, Destination{Protocol::kTls, "127.0.0.1", peerEndpoint->port}).ok());
  ASSERT_TRUE(runUntil(io_, [&] { return !peerListener.messages.empty(); }));
  EXPECT_EQ(peerListener.messages[0].message.method, "NOTIFY");
  EXPECT_EQ(peerListener.messages[0].source.protocol, Protocol::kTls);

  // The answer comes back over the connection we opened.
  ASSERT_TRUE(
      peer.sendResponse(okFor(peerListener.messages[0].message), peerListener.messages[0].source)
          .ok());
  ASSERT_TRUE(runUntil(io_, [&] { return !listener_.messages.empty(); }));
  EXPECT_EQ(listener_.messages[0].message.status, 200);
  EXPECT_EQ(layer_->connectionCount(), 1U);
  EXPECT_TRUE(listener_.sendFailures.empty());
}

// With verification on, our outgoing TLS connection goes through only to a certificate that the
// CA file trusts and that names the address we dialled (RFC 5922 §7.2, an IP subjectAltName for
// an address literal); otherwise the send fails and the peer hears nothing.
TEST_F(TransportTlsTest, VerifiedOutboundTlsNeedsATrustedCertificateForThatAddress) {
  // Peers whose generated certificates name 127.0.0.1 and 127.0.0.2, both listening on 127.0.0.1.
  // Each peer's certificate file doubles as the CA file that trusts it (it is self-signed).
  std::string rightCa;
  std::string wrongNameCa;
  auto makePeer = [&](const char* name, RecordingListener& listener, std::string& certificate) {
    TransportConfig config = loopbackConfig({Protocol::kTls});
    config.hostName = name;
    config.dataDirectory = scratchDirectory(std::string("tls-verify-") + name);
    certificate = ensureTlsIdentity(config).certificateFile;
    auto peer = std::make_unique<TransportLayer>(io_, config, listener);
    peer->start();
    return peer;
  };
  RecordingListener rightListener;
  RecordingListener wrongNameListener;
  auto right = makePeer("127.0.0.1", rightListener, rightCa);
  auto wrongName = makePeer("127.0.0.2", wrongNameListener, wrongNameCa);

  struct Case {
    const char* what;
    TransportLayer* peer;
    RecordingListener* peerListener;
    std::string caFile;
    bool connects;
  };
  const std::vector<Case> cases = {
      {"trusted, names the address", right.get(), &rightListener, rightCa, true},
      {"trusted by nobody we trust", right.get(), &rightListener, wrongNameCa, false},
      {"trusted, but names another address", wrongName.get(), &wrongNameListener, wrongNameCa,
       false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    RecordingListener ours;
    TransportConfig config = loopbackConfig({Protocol::kTls});
    config.dataDirectory = scratchDirectory("tls-verify-us");
    config.tlsVerifyPeer = true;
    config.tlsCaFile = c.caFile;
    TransportLayer layer(io_, config, ours);
    layer.start();
    const std::size_t before = c.peerListener->messages.size();
    const auto notify = parsed(requestText(
        "SIP/2.0/TLS " + layer.sentBy(Protocol::kTls)->hostPort() + ";branch=z9hG4bKv", "NOTIFY"));
    ASSERT_TRUE(layer
                    .send(notify, Destination{Protocol::kTls, "127.0.0.1",
                                              c.peer->boundEndpoint(Protocol::kTls)->port})
                    .ok());
    ASSERT_TRUE(runUntil(io_, [&] {
      return c.peerListener->messages.size() > before || !ours.sendFailures.empty();
    }));
    EXPECT_EQ(c.peerListener->messages.size() > before, c.connects);
    EXPECT_EQ(ours.sendFailures.empty(), c.connects)
        << (ours.sendFailures.empty() ? "" : ours.sendFailures.front().second);
    layer.stop();
  }
}

TEST_F(TransportTlsTest, AnUnreadableCaFileStopsTheStart) {
  TransportConfig config = loopbackConfig({Protocol::kUdp});
  config.dataDirectory = scratchDirectory("tls-verify-missing");
  config.tlsVerifyPeer = true;
  config.tlsCaFile = config.dataDirectory + "/no-such-ca.pem";
  TransportLayer layer(io_, config, listener_);
  EXPECT_THROW(layer.start(), std::runtime_error);
}

TEST_F(TransportTlsTest, HandshakeTimeoutClosesASilentClient) {
  TransportConfig config = loopbackConfig({Protocol::kTls});
  config.handshakeTimeout = 200ms;
  startLayer(config);
  const auto server = layer_->boundEndpoint(Protocol::kTls);
  tcp::socket silent(io_);
  silent.connect(tcp::endpoint(server->address, server->port));
  StreamReader reader;
  reader.start(silent);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(runUntil(
      io_, [&] { return reader.closed; }, 2s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
  ASSERT_TRUE(runUntil(io_, [&] { return layer_->connectionCount() == 0; }));
}

}  // namespace
}  // namespace confab::transport
