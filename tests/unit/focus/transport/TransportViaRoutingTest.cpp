// The Via rules without sockets: received/rport stamping (RFC 3261 §18.2.1, RFC 3581 §4) and
// response targets (RFC 3261 §18.2.2, RFC 3581 §4), plus the endpoint text helpers.
#include <gtest/gtest.h>

#include "focus/transport/Addressing.hpp"
#include "focus/transport/ViaRouting.hpp"
#include "tests/unit/focus/transport/TransportTestSupport.hpp"

namespace confab::transport {
namespace {

using test::parsed;
using test::requestText;

Endpoint endpoint(const char* address, std::uint16_t port) {
  return Endpoint{boost::asio::ip::make_address(address), port};
}

sip::Via topVia(const sip::Message& message) {
  auto via = message.topVia();
  EXPECT_TRUE(via.ok());
  return via.ok() ? *via : sip::Via{};
}

std::optional<std::string> param(const sip::Via& via, std::string_view name) {
  const sip::Param* p = via.param(name);
  if (p == nullptr) {
    return std::nullopt;
  }
  return p->value.value_or("<flag>");
}

TEST(TransportAddressing, ParsesEndpoints) {
  EXPECT_EQ(parseEndpoint("192.0.2.1:5060"), endpoint("192.0.2.1", 5060));
  EXPECT_EQ(parseEndpoint("[2001:db8::1]:5061"), endpoint("2001:db8::1", 5061));
  EXPECT_EQ(parseEndpoint("[::1]"), endpoint("::1", 0));
  EXPECT_EQ(parseEndpoint("::1"), endpoint("::1", 0));
  EXPECT_EQ(parseEndpoint("10.0.0.1"), endpoint("10.0.0.1", 0));
  EXPECT_FALSE(parseEndpoint("example.com:5060"));
  EXPECT_FALSE(parseEndpoint("10.0.0.1:"));
  EXPECT_FALSE(parseEndpoint("10.0.0.1:70000"));
  EXPECT_FALSE(parseEndpoint("[::1]x"));
  EXPECT_EQ(endpoint("2001:db8::1", 5060).str(), "[2001:db8::1]:5060");
  EXPECT_EQ(endpoint("192.0.2.1", 5060).str(), "192.0.2.1:5060");
}

TEST(TransportAddressing, ViaTokens) {
  EXPECT_EQ(viaTransport(Protocol::kTls), "TLS");
  EXPECT_EQ(protocolFromVia("tcp"), Protocol::kTcp);
  EXPECT_FALSE(protocolFromVia("SCTP"));
  EXPECT_EQ(defaultPort(Protocol::kUdp), 5060);
  EXPECT_EQ(defaultPort(Protocol::kTls), 5061);
  EXPECT_FALSE(isReliable(Protocol::kUdp));
  EXPECT_TRUE(isReliable(Protocol::kTcp));
}

TEST(TransportViaStamp, SameAddressWithoutRportIsLeftAlone) {
  auto request = parsed(requestText("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1"));
  ASSERT_TRUE(stampReceived(request, endpoint("192.0.2.1", 40000)));
  const auto via = topVia(request);
  EXPECT_FALSE(param(via, "received"));
  EXPECT_FALSE(param(via, "rport"));
}

TEST(TransportViaStamp, OtherAddressOrNameGetsReceived) {
  // RFC 3261 §18.2.1: a different IP, or a domain name, in sent-by.
  auto request = parsed(requestText("SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bK1"));
  ASSERT_TRUE(stampReceived(request, endpoint("192.0.2.1", 5060)));
  EXPECT_EQ(param(topVia(request), "received"), "192.0.2.1");

  auto named = parsed(requestText("SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1"));
  ASSERT_TRUE(stampReceived(named, endpoint("192.0.2.1", 5060)));
  EXPECT_EQ(param(topVia(named), "received"), "192.0.2.1");
}

TEST(TransportViaStamp, EmptyRportIsFilledAndReceivedAlwaysAdded) {
  // RFC 3581 §4: rport gets the source port; received is added even when it equals sent-by.
  auto request = parsed(requestText("SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK1"));
  ASSERT_TRUE(stampReceived(request, endpoint("192.0.2.1", 41234)));
  const auto via = topVia(request);
  EXPECT_EQ(param(via, "received"), "192.0.2.1");
  EXPECT_EQ(param(via, "rport"), "41234");
  EXPECT_EQ(via.branch(), "z9hG4bK1");
}

TEST(TransportViaStamp, OnlyTheTopViaChanges) {
  std::string text = requestText("SIP/2.0/UDP 10.0.0.7;rport;branch=z9hG4bK1");
  text.insert(text.find("Max-Forwards"), "Via: SIP/2.0/UDP 10.0.0.8;rport;branch=z9hG4bK2\r\n");
  auto request = parsed(text);
  ASSERT_TRUE(stampReceived(request, endpoint("192.0.2.1", 1000)));
  const auto vias = request.headers("Via");
  ASSERT_EQ(vias.size(), 2U);
  EXPECT_NE(vias[0].find("received=192.0.2.1"), std::string_view::npos);
  EXPECT_EQ(vias[1], "SIP/2.0/UDP 10.0.0.8;rport;branch=z9hG4bK2");
}

TEST(TransportViaStamp, Ipv6SourceIsWrittenWithoutBrackets) {
  auto request = parsed(requestText("SIP/2.0/UDP [2001:db8::9]:5060;rport;branch=z9hG4bK1"));
  ASSERT_TRUE(stampReceived(request, endpoint("2001:db8::1", 5070)));
  EXPECT_EQ(param(topVia(request), "received"), "2001:db8::1");
  EXPECT_EQ(param(topVia(request), "rport"), "5070");

  auto same = parsed(requestText("SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1"));
  ASSERT_TRUE(stampReceived(same, endpoint("2001:db8::1", 5070)));
  EXPECT_FALSE(param(topVia(same), "received"));
}

TEST(TransportViaStamp, ForgedReceivedIsOverwritten) {
  auto request = parsed(requestText("SIP/2.0/UDP 192.0.2.1;received=203.0.113.5;branch=z9hG4bK1"));
  ASSERT_TRUE(stampReceived(request, endpoint("192.0.2.1", 5060)));
  EXPECT_EQ(param(topVia(request), "received"), "192.0.2.1");
}

TEST(TransportResponseTarget, UnreliableUsesReceivedAndRport) {
  auto via = sip::Via::parse("SIP/2.0/UDP 10.0.0.7:5062;received=192.0.2.1;rport=40000;branch=z9");
  ASSERT_TRUE(via.ok());
  auto target = responseTarget(*via, Protocol::kUdp);
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->host, "192.0.2.1");
  EXPECT_EQ(target->port, 40000);
}

TEST(TransportResponseTarget, UnreliableWithoutRportUsesSentByPort) {
  auto via = sip::Via::parse("SIP/2.0/UDP 10.0.0.7:5062;received=192.0.2.1;branch=z9");
  auto target = responseTarget(*via, Protocol::kUdp);
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->host, "192.0.2.1");
  EXPECT_EQ(target->port, 5062);

  auto bare = sip::Via::parse("SIP/2.0/UDP pc33.example.com;branch=z9");
  auto defaulted = responseTarget(*bare, Protocol::kUdp);
  ASSERT_TRUE(defaulted.ok());
  EXPECT_EQ(defaulted->host, "pc33.example.com");
  EXPECT_EQ(defaulted->port, 5060);
}

TEST(TransportResponseTarget, MaddrWinsOverReceived) {
  auto via = sip::Via::parse(
      "SIP/2.0/UDP 10.0.0.7;maddr=239.255.255.1;received=192.0.2.1;rport=4000;branch=z9");
  auto target = responseTarget(*via, Protocol::kUdp);
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->host, "239.255.255.1");
  EXPECT_EQ(target->port, 5060);
}

TEST(TransportResponseTarget, ReliableUsesReceivedAndSentByPortNotRport) {
  auto via = sip::Via::parse("SIP/2.0/TLS 10.0.0.7;received=192.0.2.1;rport=40000;branch=z9");
  auto target = responseTarget(*via, Protocol::kTls);
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->host, "192.0.2.1");
  EXPECT_EQ(target->port, 5061);
  auto tcp = sip::Via::parse("SIP/2.0/TCP client.example.com:5070;branch=z9");
  auto tcpTarget = responseTarget(*tcp, Protocol::kTcp);
  ASSERT_TRUE(tcpTarget.ok());
  EXPECT_EQ(tcpTarget->host, "client.example.com");
  EXPECT_EQ(tcpTarget->port, 5070);
}

}  // namespace
}  // namespace confab::transport
