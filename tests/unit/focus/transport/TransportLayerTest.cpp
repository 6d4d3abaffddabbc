// The transport layer over real loopback sockets: UDP with received/rport and symmetric
// responses, TCP framing at every byte boundary, pipelining, framing errors, keep-alives,
// connection reuse, idle timeout and connection limits. Every test bounds its run time.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/write.hpp>
#include <memory>

#include "focus/sip/Response.hpp"
#include "focus/transport/Stun.hpp"
#include "focus/transport/TransportLayer.hpp"
#include "tests/unit/focus/transport/TransportTestSupport.hpp"

namespace confab::transport {
namespace {

using namespace test;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

class TransportLayerTest : public ::testing::Test {
 protected:
  void startLayer(TransportConfig config) {
    layer_ = std::make_unique<TransportLayer>(io_, std::move(config), listener_);
    layer_->start();
  }
  void TearDown() override { layer_.reset(); }

  Endpoint bound(Protocol protocol, bool ipv6 = false) {
    auto endpoint = layer_->boundEndpoint(protocol, ipv6);
    EXPECT_TRUE(endpoint.has_value());
    return endpoint.value_or(Endpoint{});
  }
  tcp::endpoint tcpEndpoint(Protocol protocol) {
    const Endpoint e = bound(protocol);
    return tcp::endpoint(e.address, e.port);
  }
  // A client stream connected to our TCP listener (the kernel completes it before accept()).
  tcp::socket connectClient() {
    tcp::socket socket(io_);
    socket.connect(tcpEndpoint(Protocol::kTcp));
    socket.set_option(tcp::no_delay(true));
    return socket;
  }
  bool messagesArrived(std::size_t count) {
    return runUntil(io_, [&] { return listener_.messages.size() >= count; });
  }

  asio::io_context io_;
  RecordingListener listener_;
  std::unique_ptr<TransportLayer> layer_;
};

// ---- UDP ----

TEST_F(TransportLayerTest, UdpRequestIsStampedAndResponseFollowsRport) {
  startLayer(loopbackConfig({Protocol::kUdp}));
  const Endpoint server = bound(Protocol::kUdp);
  udp::socket client(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto clientPort = client.local_endpoint().port();

  // The sent-by names an address and port nobody listens on: only received/rport get back.
  client.send_to(asio::buffer(requestText("SIP/2.0/UDP 192.0.2.1:5099;rport;branch=z9hG4bKu1")),
                 udp::endpoint(server.address, server.port));
  ASSERT_TRUE(messagesArrived(1));
  const auto& received = listener_.messages[0];
  EXPECT_EQ(received.source.protocol, Protocol::kUdp);
  EXPECT_EQ(received.source.remote, (Endpoint{client.local_endpoint().address(), clientPort}));
  EXPECT_EQ(received.source.local, server);
  EXPECT_EQ(received.source.connection, 0U);
  auto via = received.message.topVia();
  ASSERT_TRUE(via.ok());
  ASSERT_NE(via->param("received"), nullptr);
  EXPECT_EQ(via->param("received")->value, "127.0.0.1");
  ASSERT_NE(via->param("rport"), nullptr);
  EXPECT_EQ(via->param("rport")->value, std::to_string(clientPort));

  std::array<char, 4096> buffer{};
  udp::endpoint from;
  std::size_t got = 0;
  client.async_receive_from(
      asio::buffer(buffer), from,
      [&](const boost::system::error_code& ec, std::size_t n) { got = ec ? 0 : n; });
  auto sent = layer_->sendResponse(okFor(received.message), received.source);
  ASSERT_TRUE(sent.ok()) << sent.error().reason;
  ASSERT_TRUE(runUntil(io_, [&] { return got > 0; }));
  // RFC 3581 §4: from the port the request was sent to, so the NAT binding matches.
  EXPECT_EQ(from.port(), server.port);
  auto response = parsed(std::string_view(buffer.data(), got));
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(listener_.sendFailures.empty());
}

TEST_F(TransportLayerTest, UdpResponseWithoutRportGoesToSentByPort) {
  startLayer(loopbackConfig({Protocol::kUdp}));
  const Endpoint server = bound(Protocol::kUdp);
  udp::socket listening(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  udp::socket sending(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::string via =
      "SIP/2.0/UDP 127.0.0.1:" + std::to_string(listening.local_endpoint().port()) +
      ";branch=z9hG4bKu2";
  sending.send_to(asio::buffer(requestText(via)), udp::endpoint(server.address, server.port));
  ASSERT_TRUE(messagesArrived(1));
  EXPECT_EQ(listener_.messages[0].message.topVia()->param("received"), nullptr);

  std::array<char, 4096> buffer{};
  std::size_t got = 0;
  listening.async_receive(asio::buffer(buffer), [&](const boost::system::error_code& ec,
                                                    std::size_t n) { got = ec ? 0 : n; });
  ASSERT_TRUE(
      layer_->sendResponse(okFor(listener_.messages[0].message), listener_.messages[0].source)
          .ok());
  ASSERT_TRUE(runUntil(io_, [&] { return got > 0; }));
  EXPECT_EQ(parsed(std::string_view(buffer.data(), got)).status, 200);
}

TEST_F(TransportLayerTest, OversizeDatagramIsDropped) {
  TransportConfig config = loopbackConfig({Protocol::kUdp});
  config.limits.maxMessageBytes = 300;
  startLayer(config);
  const Endpoint server = bound(Protocol::kUdp);
  udp::socket client(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::string big =
      requestText("SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKbig", "MESSAGE", std::string(400, 'x'));
  client.send_to(asio::buffer(big), udp::endpoint(server.address, server.port));
  const std::string small = requestText("SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKsmall");
  ASSERT_LE(small.size(), 300U);
  client.send_to(asio::buffer(small), udp::endpoint(server.address, server.port));
  ASSERT_TRUE(messagesArrived(1));
  runFor(io_, 20ms);
  EXPECT_EQ(listener_.messages.size(), 1U);
  EXPECT_EQ(listener_.messages[0].message.topVia()->branch(), "z9hG4bKsmall");
  EXPECT_EQ(layer_->counters().oversizeDatagrams, 1U);
}

TEST_F(TransportLayerTest, UdpGarbageIsReportedAsBadMessage) {
  startLayer(loopbackConfig({Protocol::kUdp}));
  const Endpoint server = bound(Protocol::kUdp);
  udp::socket client(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  client.send_to(asio::buffer(std::string("HELLO WORLD\r\n\r\n")),
                 udp::endpoint(server.address, server.port));
  // A bare CRLF keep-alive is not a message at all.
  client.send_to(asio::buffer(std::string("\r\n\r\n")), udp::endpoint(server.address, server.port));
  ASSERT_TRUE(runUntil(io_, [&] { return !listener_.bad.empty(); }));
  runFor(io_, 20ms);
  EXPECT_EQ(listener_.bad.size(), 1U);
  EXPECT_TRUE(listener_.messages.empty());
}

TEST_F(TransportLayerTest, RequestMissingCallIdFromAndToIsAnsweredByItsVia) {
  // RFC 4475 §3.3.1 (insuf), with rport: the failure comes up stamped like a request, and the
  // 400 built from it (as Focus::onBadMessage does) reaches the sender (RFC 3261 §18.2.2).
  startLayer(loopbackConfig({Protocol::kUdp}));
  const Endpoint server = bound(Protocol::kUdp);
  udp::socket client(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::string insuf =
      "INVITE sip:user@example.com SIP/2.0\r\n"
      "CSeq: 193942 INVITE\r\n"
      "Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf;rport\r\n"
      "Content-Length: 0\r\n\r\n";
  client.send_to(asio::buffer(insuf), udp::endpoint(server.address, server.port));
  ASSERT_TRUE(runUntil(io_, [&] { return !listener_.bad.empty(); }));
  const auto& [failure, source] = listener_.bad[0];
  ASSERT_TRUE(failure.partial.has_value()) << failure.error.reason;
  EXPECT_EQ(failure.partial->topVia()->param("received")->value, "127.0.0.1");

  std::array<char, 4096> buffer{};
  std::size_t got = 0;
  client.async_receive(asio::buffer(buffer), [&](const boost::system::error_code& ec,
                                                 std::size_t n) { got = ec ? 0 : n; });
  ASSERT_TRUE(
      layer_->sendResponse(sip::errorResponse(*failure.partial, failure.error), source).ok());
  ASSERT_TRUE(runUntil(io_, [&] { return got > 0; }));
  const std::string_view wire(buffer.data(), got);
  EXPECT_EQ(wire.substr(0, wire.find("\r\n")),
            "SIP/2.0 400 Bad Request (missing Call-ID, From, To)");
  EXPECT_NE(wire.find("branch=z9hG4bKkdj.insuf"), std::string_view::npos);
  EXPECT_NE(wire.find("CSeq: 193942 INVITE"), std::string_view::npos);
}

// RFC 5626 §4.4.2: a STUN Binding request on the SIP port (RFC 8489 §5: 20 octets of header).
std::vector<std::uint8_t> bindingRequest(std::uint8_t idSeed) {
  std::vector<std::uint8_t> bytes{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
  for (std::uint8_t i = 0; i < 12; ++i) {
    bytes.push_back(static_cast<std::uint8_t>(idSeed + i));
  }
  return bytes;
}

// Sends 'request' from 'client' and returns what came back within 'wait' (nothing: empty).
std::vector<std::uint8_t> stunExchange(asio::io_context& io,
                                       udp::socket& client,
                                       const Endpoint& server,
                                       const std::vector<std::uint8_t>& request,
                                       std::chrono::milliseconds wait = 1s) {
  std::array<std::uint8_t, 512> buffer{};
  std::size_t got = 0;
  client.async_receive(asio::buffer(buffer), [&](const boost::system::error_code& ec,
                                                 std::size_t n) { got = ec ? 0 : n; });
  client.send_to(asio::buffer(request), udp::endpoint(server.address, server.port));
  runUntil(
      io, [&] { return got > 0; }, wait);
  client.cancel();
  runFor(io, 1ms);
  return {buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(got)};
}

TEST_F(TransportLayerTest, StunBindingRequestGetsTheSourceAddressBack) {
  startLayer(loopbackConfig({Protocol::kUdp}));
  udp::socket client(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto request = bindingRequest(0x40);
  const auto response = stunExchange(io_, client, bound(Protocol::kUdp), request);
  auto message = StunMessage::parse(response);
  ASSERT_TRUE(message) << "no STUN answer (" << response.size() << " octets)";
  EXPECT_EQ(message->type(), kStunBindingSuccess);
  EXPECT_TRUE(std::equal(request.begin() + 8, request.end(), message->transactionId().begin()));
  const Endpoint local{client.local_endpoint().address(), client.local_endpoint().port()};
  EXPECT_EQ(xorMappedAddress(*message), local);
  EXPECT_EQ(layer_->counters().stunBindingRequests, 1U);
  EXPECT_TRUE(listener_.messages.empty());
  EXPECT_TRUE(listener_.bad.empty());
}

TEST_F(TransportLayerTest, StunBindingRequestOverIpv6) {
  try {
    startLayer(loopbackConfig({Protocol::kUdp}, "::1"));
  } catch (const std::exception& e) {
    GTEST_SKIP() << "cannot bind [::1]: " << e.what();
  }
  udp::socket client(io_, udp::v6());
  client.bind(udp::endpoint(asio::ip::make_address("::1"), 0));
  const auto response = stunExchange(io_, client, bound(Protocol::kUdp, true), bindingRequest(7));
  auto message = StunMessage::parse(response);
  ASSERT_TRUE(message) << "no STUN answer (" << response.size() << " octets)";
  const Endpoint local{client.local_endpoint().address(), client.local_endpoint().port()};
  EXPECT_EQ(xorMappedAddress(*message), local);
}

TEST_F(TransportLayerTest, OtherZeroByteDatagramsAreDroppedSilently) {
  startLayer(loopbackConfig({Protocol::kUdp}));
  const Endpoint server = bound(Protocol::kUdp);
  udp::socket client(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto indication = bindingRequest(1);
  indication[1] = 0x11;  // Binding indication: no response (RFC 8489 §6.3.2)
  auto classic = bindingRequest(2);
  classic[4] = 0x00;  // RFC 3489 request: no magic cookie
  auto trailing = bindingRequest(3);
  trailing.push_back(0);  // length does not match the datagram
  for (const auto& datagram :
       {indication, classic, trailing, std::vector<std::uint8_t>{0x00},
        std::vector<std::uint8_t>{0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42}}) {
    EXPECT_TRUE(stunExchange(io_, client, server, datagram, 100ms).empty());
  }
  EXPECT_EQ(layer_->counters().stunBindingRequests, 0U);
  EXPECT_EQ(layer_->counters().nonSipDatagrams, 5U);
  EXPECT_TRUE(listener_.messages.empty());
  EXPECT_TRUE(listener_.bad.empty());
  // The port still serves SIP and STUN afterwards.
  EXPECT_FALSE(stunExchange(io_, client, server, bindingRequest(4)).empty());
}

TEST_F(TransportLayerTest, UdpOverIpv6) {
  TransportConfig config = loopbackConfig({Protocol::kUdp}, "::1");
  try {
    startLayer(config);
  } catch (const std::exception& e) {
    GTEST_SKIP() << "cannot bind [::1]: " << e.what();
  }
  const Endpoint server = bound(Protocol::kUdp, true);
  udp::socket client(io_, udp::v6());
  client.bind(udp::endpoint(asio::ip::make_address("::1"), 0));
  client.send_to(asio::buffer(requestText("SIP/2.0/UDP [::1]:5099;rport;branch=z9hG4bK6")),
                 udp::endpoint(server.address, server.port));
  ASSERT_TRUE(messagesArrived(1));
  auto via = listener_.messages[0].message.topVia();
  EXPECT_EQ(via->param("received")->value, "::1");
  EXPECT_EQ(via->param("rport")->value, std::to_string(client.local_endpoint().port()));

  std::size_t got = 0;
  std::array<char, 4096> buffer{};
  client.async_receive(asio::buffer(buffer), [&](const boost::system::error_code& ec,
                                                 std::size_t n) { got = ec ? 0 : n; });
  ASSERT_TRUE(
      layer_->sendResponse(okFor(listener_.messages[0].message), listener_.messages[0].source)
          .ok());
  ASSERT_TRUE(runUntil(io_, [&] { return got > 0; }));
  const auto sentBy = layer_->sentBy(Protocol::kUdp, true);
  ASSERT_TRUE(sentBy);
  EXPECT_EQ(sentBy->hostPort(), "[::1]:" + std::to_string(server.port));
}

TEST_F(TransportLayerTest, SendRequestOverUdpAndReportSentBy) {
  startLayer(loopbackConfig({Protocol::kUdp}));
  udp::socket peer(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::array<char, 4096> buffer{};
  udp::endpoint from;
  std::size_t got = 0;
  peer.async_receive_from(
      asio::buffer(buffer), from,
      [&](const boost::system::error_code& ec, std::size_t n) { got = ec ? 0 : n; });
  const auto sentBy = layer_->sentBy(Protocol::kUdp);
  ASSERT_TRUE(sentBy);
  EXPECT_EQ(sentBy->transport, "UDP");
  EXPECT_EQ(sentBy->hostPort(), bound(Protocol::kUdp).str());
  const auto bye =
      parsed(requestText("SIP/2.0/UDP " + sentBy->hostPort() + ";branch=z9hG4bKb", "BYE"));
  auto sent =
      layer_->send(bye, Destination{Protocol::kUdp, "127.0.0.1", peer.local_endpoint().port()});
  ASSERT_TRUE(sent.ok());
  ASSERT_TRUE(runUntil(io_, [&] { return got > 0; }));
  EXPECT_EQ(from.port(), bound(Protocol::kUdp).port);
  EXPECT_EQ(parsed(std::string_view(buffer.data(), got)).method, "BYE");
}

// RFC 3261 §18.1.2: a response whose top Via is not a sent-by we insert was not meant for us
// (or is forged); it is discarded before any transaction sees it.
TEST_F(TransportLayerTest, UdpResponseToSomeoneElsesSentByIsDiscarded) {
  startLayer(loopbackConfig({Protocol::kUdp}));
  const Endpoint server = bound(Protocol::kUdp);
  const auto sentBy = layer_->sentBy(Protocol::kUdp);
  ASSERT_TRUE(sentBy);
  udp::socket peer(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const udp::endpoint to(server.address, server.port);
  auto responseVia = [](const std::string& via) {
    return okFor(parsed(requestText(via, "BYE"))).serialize();
  };
  // Another host; our address on another port; our address with no port (5060, not ours).
  peer.send_to(asio::buffer(responseVia("SIP/2.0/UDP 192.0.2.1:" + std::to_string(server.port) +
                                        ";branch=z9hG4bKf1")),
               to);
  peer.send_to(asio::buffer(responseVia("SIP/2.0/UDP 127.0.0.1:" +
                                        std::to_string(server.port ^ 1U) + ";branch=z9hG4bKf2")),
               to);
  peer.send_to(asio::buffer(responseVia("SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKf3")), to);
  // Ours, as the transaction layer writes it: delivered, and after the three foreign ones.
  peer.send_to(
      asio::buffer(responseVia("SIP/2.0/UDP " + sentBy->hostPort() + ";branch=z9hG4bKours;rport")),
      to);
  ASSERT_TRUE(messagesArrived(1));
  runFor(io_, 20ms);
  ASSERT_EQ(listener_.messages.size(), 1U);
  EXPECT_EQ(listener_.messages[0].message.topVia()->branch(), "z9hG4bKours");
  EXPECT_EQ(layer_->counters().foreignResponses, 3U);
  EXPECT_TRUE(listener_.bad.empty());
}

TEST_F(TransportLayerTest, ResponseSentByMatchesTheConfiguredHostNameInAnyCase) {
  TransportConfig config = loopbackConfig({Protocol::kUdp});
  config.hostName = "Focus.Example.COM";
  startLayer(config);
  const Endpoint server = bound(Protocol::kUdp);
  udp::socket peer(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::string via =
      "SIP/2.0/UDP focus.example.com:" + std::to_string(server.port) + ";branch=z9hG4bKh";
  peer.send_to(asio::buffer(okFor(parsed(requestText(via, "NOTIFY"))).serialize()),
               udp::endpoint(server.address, server.port));
  ASSERT_TRUE(messagesArrived(1));
  EXPECT_EQ(layer_->counters().foreignResponses, 0U);
}

TEST_F(TransportLayerTest, SendByNameResolves) {
  startLayer(loopbackConfig({Protocol::kUdp}));
  udp::socket peer(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::array<char, 4096> buffer{};
  std::size_t got = 0;
  peer.async_receive(asio::buffer(buffer),
                     [&](const boost::system::error_code& ec, std::size_t n) { got = ec ? 0 : n; });
  const auto request = parsed(requestText("SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKn"));
  ASSERT_TRUE(
      layer_->send(request, Destination{Protocol::kUdp, "localhost", peer.local_endpoint().port()})
          .ok());
  ASSERT_TRUE(runUntil(io_, [&] { return got > 0 || !listener_.sendFailures.empty(); }));
  if (got == 0) {
    // "localhost" may resolve to ::1 only on some hosts; then we have no IPv6 socket.
    GTEST_SKIP() << "localhost did not resolve to 127.0.0.1: " << listener_.sendFailures[0].second;
  }
  EXPECT_EQ(parsed(std::string_view(buffer.data(), got)).method, "OPTIONS");
}

// ---- TCP ----

TEST_F(TransportLayerTest, TcpMessageSplitAtEveryByteArrivesWhole) {
  startLayer(loopbackConfig({Protocol::kTcp}));
  tcp::socket client = connectClient();
  const std::string message =
      requestText("SIP/2.0/TCP 127.0.0.1:5090;branch=z9hG4bKs", "MESSAGE", "hello, room");
  for (std::size_t split = 1; split < message.size(); ++split) {
    asio::write(client, asio::buffer(message.data(), split));
    runFor(io_, 1ms);  // let the server read the first part on its own
    asio::write(client, asio::buffer(message.data() + split, message.size() - split));
  }
  ASSERT_TRUE(messagesArrived(message.size() - 1));
  for (const auto& received : listener_.messages) {
    EXPECT_EQ(received.message.body, "hello, room");
    EXPECT_EQ(received.source.protocol, Protocol::kTcp);
    EXPECT_EQ(received.source.connection, listener_.messages[0].source.connection);
  }
  EXPECT_TRUE(listener_.bad.empty());
}

TEST_F(TransportLayerTest, TcpMessageWrittenByteByByteArrivesOnce) {
  startLayer(loopbackConfig({Protocol::kTcp}));
  tcp::socket client = connectClient();
  const std::string message =
      requestText("SIP/2.0/TCP 127.0.0.1:5090;branch=z9hG4bKb", "MESSAGE", "byte by byte");
  for (const char& byte : message) {
    asio::write(client, asio::buffer(&byte, 1));
    runFor(io_, 1ms);
    ASSERT_TRUE(listener_.messages.empty() || &byte == &message.back());
  }
  ASSERT_TRUE(messagesArrived(1));
  EXPECT_EQ(listener_.messages[0].message.body, "byte by byte");
  // The sent-by is the source address and there is no rport: nothing to stamp.
  EXPECT_EQ(listener_.messages[0].message.topVia()->param("received"), nullptr);
}

TEST_F(TransportLayerTest, PipelinedMessagesArriveAsTwo) {
  startLayer(loopbackConfig({Protocol::kTcp}));
  tcp::socket client = connectClient();
  const std::string both =
      requestText("SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1", "MESSAGE", "one", "a@x") +
      requestText("SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK2", "MESSAGE", "two", "b@x");
  asio::write(client, asio::buffer(both));
  ASSERT_TRUE(messagesArrived(2));
  EXPECT_EQ(listener_.messages[0].message.body, "one");
  EXPECT_EQ(listener_.messages[1].message.body, "two");
}

TEST_F(TransportLayerTest, FramingErrorClosesTheConnection) {
  startLayer(loopbackConfig({Protocol::kTcp}));
  tcp::socket client = connectClient();
  StreamReader reader;
  reader.start(client);
  std::string broken = requestText("SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKf");
  broken.replace(broken.find("Content-Length: 0"), 17, "Content-Length: zero");
  asio::write(client, asio::buffer(broken));
  // RFC 3261 §18.3: the stream cannot be framed any more, so it is closed.
  ASSERT_TRUE(runUntil(io_, [&] { return reader.closed; }));
  ASSERT_EQ(listener_.bad.size(), 1U);
  EXPECT_EQ(layer_->counters().framingErrors, 1U);
  ASSERT_TRUE(runUntil(io_, [&] { return layer_->connectionCount() == 0; }));
  ASSERT_EQ(listener_.closed.size(), 1U);
}

TEST_F(TransportLayerTest, OversizeStreamMessageClosesTheConnection) {
  TransportConfig config = loopbackConfig({Protocol::kTcp});
  config.limits.maxMessageBytes = 1024;
  startLayer(config);
  tcp::socket client = connectClient();
  StreamReader reader;
  reader.start(client);
  // The Content-Length alone says it is too big: closed without waiting for the body.
  std::string header = requestText("SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKo", "MESSAGE");
  header.replace(header.find("Content-Length: 0"), 17, "Content-Length: 5000");
  asio::write(client, asio::buffer(header));
  ASSERT_TRUE(runUntil(io_, [&] { return reader.closed; }));
  EXPECT_TRUE(listener_.messages.empty());
  EXPECT_EQ(layer_->counters().framingErrors, 1U);
}

TEST_F(TransportLayerTest, UnparsableButFramedMessageKeepsTheConnection) {
  startLayer(loopbackConfig({Protocol::kTcp}));
  tcp::socket client = connectClient();
  StreamReader reader;
  reader.start(client);
  // Framed by its Content-Length, but without a CSeq: a 400 case, not a broken stream.
  std::string broken = requestText("SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKu", "OPTIONS", "", "u@x");
  broken.erase(broken.find("CSeq:"), std::string("CSeq: 1 OPTIONS\r\n").size());
  asio::write(client, asio::buffer(broken + requestText("SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKv")));
  ASSERT_TRUE(messagesArrived(1));
  EXPECT_EQ(listener_.bad.size(), 1U);
  EXPECT_EQ(listener_.bad[0].second.protocol, Protocol::kTcp);
  EXPECT_FALSE(reader.closed);
  EXPECT_EQ(layer_->connectionCount(), 1U);
}

TEST_F(TransportLayerTest, TcpOverIpv6) {
  try {
    startLayer(loopbackConfig({Protocol::kTcp}, "::1"));
  } catch (const std::exception& e) {
    GTEST_SKIP() << "cannot bind [::1]: " << e.what();
  }
  const Endpoint server = bound(Protocol::kTcp, true);
  tcp::socket client(io_);
  client.connect(tcp::endpoint(server.address, server.port));
  StreamReader reader;
  reader.start(client);
  listener_.onReceived = [&](const sip::Message& request, const Source& source) {
    ASSERT_TRUE(layer_->sendResponse(okFor(request), source).ok());
  };
  asio::write(client, asio::buffer(requestText("SIP/2.0/TCP [::1]:5090;rport;branch=z9hG4bK6")));
  ASSERT_TRUE(runUntil(io_, [&] { return reader.data.find("\r\n\r\n") != std::string::npos; }));
  EXPECT_EQ(reader.data.rfind("SIP/2.0 200 OK\r\n", 0), 0U);
  EXPECT_NE(reader.data.find("received=::1"), std::string::npos);
  EXPECT_EQ(listener_.messages[0].source.remote.address, asio::ip::make_address("::1"));
}

TEST_F(TransportLayerTest, KeepAlivePingGetsOnePong) {
  startLayer(loopbackConfig({Protocol::kTcp}));
  tcp::socket client = connectClient();
  StreamReader reader;
  reader.start(client);
  // RFC 5626 §4.4.1: CRLFCRLF ping, CRLF pong.
  asio::write(client, asio::buffer(std::string("\r\n\r\n")));
  ASSERT_TRUE(runUntil(io_, [&] { return !reader.data.empty(); }));
  runFor(io_, 20ms);
  EXPECT_EQ(reader.data, "\r\n");
  // A ping split across writes, then a message: one more pong, and the message still parses.
  asio::write(client, asio::buffer(std::string("\r\n")));
  runFor(io_, 5ms);
  asio::write(client, asio::buffer(std::string("\r\n") +
                                   requestText("SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKk")));
  ASSERT_TRUE(messagesArrived(1));
  ASSERT_TRUE(runUntil(io_, [&] { return reader.data.size() >= 4; }));
  EXPECT_EQ(reader.data, "\r\n\r\n");
  EXPECT_FALSE(reader.closed);
}

TEST_F(TransportLayerTest, TcpResponseGoesBackOnTheSameConnection) {
  startLayer(loopbackConfig({Protocol::kTcp}));
  tcp::socket client = connectClient();
  StreamReader reader;
  reader.start(client);
  listener_.onReceived = [&](const sip::Message& request, const Source& source) {
    ASSERT_TRUE(layer_->sendResponse(okFor(request), source).ok());
  };
  asio::write(client, asio::buffer(requestText("SIP/2.0/TCP 192.0.2.9:5070;branch=z9hG4bKr")));
  ASSERT_TRUE(runUntil(io_, [&] { return reader.data.find("\r\n\r\n") != std::string::npos; }));
  EXPECT_EQ(reader.data.rfind("SIP/2.0 200 OK\r\n", 0), 0U);
  EXPECT_NE(reader.data.find("received=127.0.0.1"), std::string::npos);
}

TEST_F(TransportLayerTest, TcpResponseOpensNewConnectionWhenTheOldOneIsGone) {
  startLayer(loopbackConfig({Protocol::kTcp}));
  // The client's own listener, named as sent-by (RFC 3261 §18.2.2).
  tcp::acceptor clientListener(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto listenPort = clientListener.local_endpoint().port();
  {
    tcp::socket client = connectClient();
    asio::write(client, asio::buffer(requestText("SIP/2.0/TCP 127.0.0.1:" +
                                                 std::to_string(listenPort) + ";branch=z9hG4bKg")));
    ASSERT_TRUE(messagesArrived(1));
  }
  ASSERT_TRUE(runUntil(io_, [&] { return !listener_.closed.empty(); }));
  tcp::socket accepted(io_);
  bool acceptedDone = false;
  clientListener.async_accept(accepted,
                              [&](const boost::system::error_code& ec) { acceptedDone = !ec; });
  ASSERT_TRUE(
      layer_->sendResponse(okFor(listener_.messages[0].message), listener_.messages[0].source)
          .ok());
  ASSERT_TRUE(runUntil(io_, [&] { return acceptedDone; }));
  StreamReader reader;
  reader.start(accepted);
  ASSERT_TRUE(runUntil(io_, [&] { return reader.data.find("\r\n\r\n") != std::string::npos; }));
  EXPECT_EQ(reader.data.rfind("SIP/2.0 200 OK\r\n", 0), 0U);
}

TEST_F(TransportLayerTest, SendReusesTheConnectionAPeerOpened) {
  startLayer(loopbackConfig({Protocol::kTcp}));
  tcp::socket client = connectClient();
  StreamReader reader;
  reader.start(client);
  asio::write(client, asio::buffer(requestText("SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKc")));
  ASSERT_TRUE(messagesArrived(1));
  ASSERT_EQ(layer_->connectionCount(), 1U);
  const auto local = client.local_endpoint();
  const auto bye = parsed(requestText("SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKbye", "BYE"));
  auto sent =
      layer_->send(bye, Destination{Protocol::kTcp, local.address().to_string(), local.port()});
  ASSERT_TRUE(sent.ok());
  ASSERT_TRUE(runUntil(io_, [&] { return reader.data.find("\r\n\r\n") != std::string::npos; }));
  EXPECT_EQ(reader.data.rfind("BYE sip:", 0), 0U);
  EXPECT_EQ(layer_->connectionCount(), 1U);
}

TEST_F(TransportLayerTest, SendOpensAConnectionAndReusesIt) {
  startLayer(loopbackConfig({Protocol::kTcp}));
  tcp::acceptor peer(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket accepted(io_);
  int accepts = 0;
  peer.async_accept(accepted, [&](const boost::system::error_code& ec) { accepts += ec ? 0 : 1; });
  const Destination destination{Protocol::kTcp, "127.0.0.1", peer.local_endpoint().port()};
  const std::string via = "SIP/2.0/TCP " + layer_->sentBy(Protocol::kTcp)->hostPort();
  const auto first = parsed(requestText(via + ";branch=z9hG4bK1", "NOTIFY"));
  const auto second = parsed(requestText(via + ";branch=z9hG4bK2", "NOTIFY"));
  // Both queued before the connection is up: the second must wait for, then reuse, the first.
  ASSERT_TRUE(layer_->send(first, destination).ok());
  ASSERT_TRUE(layer_->send(second, destination).ok());
  ASSERT_TRUE(runUntil(io_, [&] { return accepts == 1; }));
  StreamReader reader;
  reader.start(accepted);
  ASSERT_TRUE(runUntil(io_, [&] { return reader.data.find("z9hG4bK2") != std::string::npos; }));
  EXPECT_LT(reader.data.find("z9hG4bK1"), reader.data.find("z9hG4bK2"));
  EXPECT_EQ(layer_->connectionCount(), 1U);

  // The peer answers over the same connection; the response comes up with a stream Source.
  asio::write(accepted, asio::buffer(okFor(first).serialize()));
  ASSERT_TRUE(messagesArrived(1));
  EXPECT_EQ(listener_.messages[0].message.status, 200);
  EXPECT_EQ(listener_.messages[0].source.remote.port, peer.local_endpoint().port());
}

TEST_F(TransportLayerTest, ResponseToThePlaceholderSentByOfAnUnheardProtocolIsOurs) {
  // No TCP listener, yet a Contact may ask for TCP: the Via then carries requestSentBy()'s
  // placeholder, and the answer on the connection we opened must still reach the transactions.
  startLayer(loopbackConfig({Protocol::kUdp}));
  ASSERT_FALSE(layer_->sentBy(Protocol::kTcp));
  tcp::acceptor peer(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket accepted(io_);
  bool acceptedDone = false;
  peer.async_accept(accepted, [&](const boost::system::error_code& ec) { acceptedDone = !ec; });
  const auto bye = parsed(requestText(
      "SIP/2.0/TCP " + layer_->requestSentBy(Protocol::kTcp).hostPort() + ";branch=z9hG4bKp",
      "BYE"));
  ASSERT_TRUE(
      layer_->send(bye, Destination{Protocol::kTcp, "127.0.0.1", peer.local_endpoint().port()})
          .ok());
  ASSERT_TRUE(runUntil(io_, [&] { return acceptedDone; }));
  asio::write(accepted, asio::buffer(okFor(bye).serialize()));
  ASSERT_TRUE(messagesArrived(1));
  EXPECT_EQ(listener_.messages[0].message.status, 200);
  EXPECT_EQ(layer_->counters().foreignResponses, 0U);
}

TEST_F(TransportLayerTest, ConnectFailureIsReported) {
  startLayer(loopbackConfig({Protocol::kTcp}));
  // A port that was free a moment ago: nothing listens there.
  std::uint16_t port = 0;
  {
    tcp::acceptor probe(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  const auto request = parsed(requestText("SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKx"));
  auto sent = layer_->send(request, Destination{Protocol::kTcp, "127.0.0.1", port});
  ASSERT_TRUE(sent.ok());
  ASSERT_TRUE(runUntil(io_, [&] { return !listener_.sendFailures.empty(); }));
  EXPECT_EQ(listener_.sendFailures[0].first, *sent);
  ASSERT_TRUE(runUntil(io_, [&] { return layer_->connectionCount() == 0; }));
}

TEST_F(TransportLayerTest, KeepAlivesAloneDoNotKeepAnIdleConnectionOpen) {
  // Issue 11 item 5: a connection that only pings holds a slot of the connection cap for
  // nothing; it is idle from its last SIP message.
  TransportConfig config = loopbackConfig({Protocol::kTcp});
  config.idleTimeout = 300ms;
  startLayer(config);
  tcp::socket client = connectClient();
  StreamReader reader;
  reader.start(client);
  asio::write(client, asio::buffer(requestText("SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKi")));
  ASSERT_TRUE(messagesArrived(1));
  const auto start = std::chrono::steady_clock::now();
  // Pings every 100 ms, each answered with a pong: still idle.
  for (int i = 0; i < 8 && !reader.closed; ++i) {
    asio::write(client, asio::buffer(std::string("\r\n\r\n")));
    runFor(io_, 100ms);
  }
  ASSERT_TRUE(runUntil(
      io_, [&] { return reader.closed; }, 2s));
  const auto lasted = std::chrono::steady_clock::now() - start;
  EXPECT_GE(lasted, 250ms);
  EXPECT_LT(lasted, 750ms) << "pings kept it open";
  ASSERT_TRUE(runUntil(io_, [&] { return layer_->connectionCount() == 0; }));
  ASSERT_EQ(listener_.closed.size(), 1U);
  EXPECT_EQ(listener_.closed[0].second, "idle timeout");
}

TEST_F(TransportLayerTest, AConnectionCarryingACallStaysOpenOnKeepAlives) {
  TransportConfig config = loopbackConfig({Protocol::kTcp});
  config.idleTimeout = 200ms;
  startLayer(config);
  tcp::socket client = connectClient();
  StreamReader reader;
  reader.start(client);
  asio::write(client, asio::buffer(requestText("SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKh")));
  ASSERT_TRUE(messagesArrived(1));
  const ConnectionId connection = listener_.messages[0].source.connection;
  ASSERT_NE(connection, 0U);
  layer_->holdConnection(connection, true);  // a call was answered over it
  for (int i = 0; i < 6; ++i) {
    asio::write(client, asio::buffer(std::string("\r\n\r\n")));
    runFor(io_, 100ms);
  }
  EXPECT_FALSE(reader.closed) << "closed under a call";
  EXPECT_EQ(layer_->connectionCount(), 1U);
  // The call ends: idle from now on.
  layer_->holdConnection(connection, false);
  ASSERT_TRUE(runUntil(
      io_, [&] { return reader.closed; }, 2s));
  ASSERT_EQ(listener_.closed.size(), 1U);
  EXPECT_EQ(listener_.closed[0].second, "idle timeout");
}

TEST_F(TransportLayerTest, PerSourceLimitRefusesExtraConnections) {
  TransportConfig config = loopbackConfig({Protocol::kTcp});
  config.maxConnectionsPerSource = 2;
  startLayer(config);
  tcp::socket first = connectClient();
  tcp::socket second = connectClient();
  ASSERT_TRUE(runUntil(io_, [&] { return layer_->connectionCount() == 2; }));
  tcp::socket third = connectClient();
  StreamReader thirdReader;
  thirdReader.start(third);
  ASSERT_TRUE(runUntil(io_, [&] { return thirdReader.closed; }));
  EXPECT_EQ(layer_->connectionCount(), 2U);
  EXPECT_EQ(layer_->counters().refusedConnections, 1U);
  // The first two still work.
  asio::write(second, asio::buffer(requestText("SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKp")));
  ASSERT_TRUE(messagesArrived(1));
  // A slot frees when one closes.
  first.close();
  ASSERT_TRUE(runUntil(io_, [&] { return layer_->connectionCount() == 1; }));
  tcp::socket fourth = connectClient();
  ASSERT_TRUE(runUntil(io_, [&] { return layer_->connectionCount() == 2; }));
}

TEST_F(TransportLayerTest, TotalLimitRefusesExtraConnections) {
  TransportConfig config = loopbackConfig({Protocol::kTcp});
  config.maxConnections = 1;
  startLayer(config);
  tcp::socket first = connectClient();
  ASSERT_TRUE(runUntil(io_, [&] { return layer_->connectionCount() == 1; }));
  tcp::socket second = connectClient();
  StreamReader reader;
  reader.start(second);
  ASSERT_TRUE(runUntil(io_, [&] { return reader.closed; }));
  EXPECT_EQ(layer_->counters().refusedConnections, 1U);
}

TEST_F(TransportLayerTest, SlowReaderIsDroppedWhenItsQueueOverflows) {
  TransportConfig config = loopbackConfig({Protocol::kTcp});
  config.maxWriteQueueBytes = 64 * 1024;
  startLayer(config);
  tcp::socket client(io_);
  client.open(tcp::v4());
  client.set_option(asio::socket_base::receive_buffer_size(4096));
  client.connect(tcpEndpoint(Protocol::kTcp));
  asio::write(client, asio::buffer(requestText("SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKq")));
  ASSERT_TRUE(messagesArrived(1));
  const Source source = listener_.messages[0].source;
  const auto big = parsed(
      requestText("SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKw", "MESSAGE", std::string(30000, 'x')));
  // The client never reads: the kernel buffers fill, then our queue, then we let go.
  bool dropped = false;
  for (int i = 0; i < 2000 && !dropped; ++i) {
    dropped = !layer_->sendOnConnection(source.connection, big);
    runFor(io_, 1ms);
  }
  EXPECT_TRUE(dropped);
  ASSERT_TRUE(runUntil(io_, [&] { return !listener_.closed.empty(); }));
  EXPECT_NE(listener_.closed[0].second.find("write queue"), std::string::npos);
}

TEST_F(TransportLayerTest, StopIsQuietAndRepeatable) {
  startLayer(loopbackConfig({Protocol::kUdp, Protocol::kTcp}));
  tcp::socket client = connectClient();
  asio::write(client, asio::buffer(requestText("SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKz")));
  ASSERT_TRUE(messagesArrived(1));
  layer_->stop();
  layer_->stop();
  runFor(io_, 20ms);
  EXPECT_TRUE(listener_.closed.empty());  // no callbacks after stop()
  EXPECT_EQ(layer_->connectionCount(), 0U);
}

}  // namespace
}  // namespace confab::transport
