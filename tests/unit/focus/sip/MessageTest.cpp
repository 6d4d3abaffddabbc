// URIs, typed headers, serialization and responses.
#include <gtest/gtest.h>

#include "focus/sip/Parser.hpp"
#include "focus/sip/Response.hpp"

namespace confab::sip {
namespace {

TEST(SipUri, SipUriWithEverything) {
  auto uri = Uri::parse("sips:alice:secret@Example.COM:5061;transport=tls;lr?subject=hi&x=y");
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri->scheme, Uri::Scheme::kSips);
  EXPECT_EQ(uri->user, "alice");
  EXPECT_EQ(*uri->password, "secret");
  EXPECT_EQ(uri->host, "example.com");
  EXPECT_EQ(*uri->port, 5061);
  ASSERT_NE(uri->param("TRANSPORT"), nullptr);
  EXPECT_EQ(*uri->param("transport")->value, "tls");
  EXPECT_FALSE(uri->param("lr")->value.has_value());
  ASSERT_EQ(uri->headers.size(), 2u);
  EXPECT_EQ(uri->str(), "sips:alice:secret@example.com:5061;transport=tls;lr?subject=hi&x=y");
}

TEST(SipUri, Ipv6AndTelAndOpaque) {
  auto v6 = Uri::parse("sip:1000@[2001:db8::1]:5070;maddr=[2001:db8::2]");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "[2001:db8::1]");
  EXPECT_EQ(*v6->port, 5070);
  auto tel = Uri::parse("tel:+1-201-555-0123;phone-context=example.com");
  ASSERT_TRUE(tel);
  EXPECT_EQ(tel->scheme, Uri::Scheme::kTel);
  EXPECT_EQ(tel->user, "+1-201-555-0123");
  auto other = Uri::parse("urn:service:sos");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->scheme, Uri::Scheme::kOther);
  EXPECT_EQ(other->str(), "urn:service:sos");
}

TEST(SipUri, RefusesBrokenOnes) {
  for (const char* bad : {"sip:", "sip:@host", "sip:user@", "sip:user@ho st", "sip:u@h:99999",
                          "sip:u@[::1", "<sip:u@h>", "sip:u@h;=x", "1sip:u@h", "sip:u%4@h"}) {
    EXPECT_FALSE(Uri::parse(bad)) << bad;
  }
}

TEST(SipHeaders, ViaWithReceivedAndRport) {
  auto via = Via::parse("SIP/2.0/udp [::1]:5062;branch=z9hG4bK77;rport;received=::1");
  ASSERT_TRUE(via);
  EXPECT_EQ(via->transport, "UDP");
  EXPECT_EQ(via->host, "[::1]");
  EXPECT_EQ(*via->port, 5062);
  EXPECT_EQ(via->branch(), "z9hG4bK77");
  EXPECT_FALSE(via->param("rport")->value.has_value());
  via->setParam("rport", "40000");
  EXPECT_EQ(via->str(), "SIP/2.0/UDP [::1]:5062;branch=z9hG4bK77;rport=40000;received=::1");
}

TEST(SipHeaders, NameAddrForms) {
  auto quoted = NameAddr::parse(R"("Alice \"A\" Smith" <sip:alice@a.example>;tag=abc)");
  ASSERT_TRUE(quoted);
  EXPECT_EQ(*quoted->displayName, R"(Alice "A" Smith)");
  EXPECT_EQ(quoted->tag(), "abc");
  EXPECT_EQ(quoted->str(), R"("Alice \"A\" Smith" <sip:alice@a.example>;tag=abc)");
  auto tokens = NameAddr::parse("Bob Jones <sip:bob@b.example>");
  ASSERT_TRUE(tokens);
  EXPECT_EQ(*tokens->displayName, "Bob Jones");
  auto bare = NameAddr::parse("sip:carol@c.example;tag=9");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->tag(), "9");
  EXPECT_TRUE(bare->uri.params.empty());
  EXPECT_TRUE(NameAddr::parse("*")->star);
  EXPECT_FALSE(NameAddr::parse("Bell, Alexander <sip:a@b>"));
  EXPECT_FALSE(NameAddr::parse("\"open <sip:a@b>"));
}

TEST(SipHeaders, CSeqBounds) {
  EXPECT_EQ(CSeq::parse("4294967295 INVITE")->number, 4294967295u);
  EXPECT_FALSE(CSeq::parse("4294967296 INVITE"));
  EXPECT_FALSE(CSeq::parse("-1 INVITE"));
  EXPECT_FALSE(CSeq::parse("1INVITE"));
  EXPECT_FALSE(CSeq::parse("1"));
}

TEST(SipMessage, SerializeAndReparse) {
  const std::string text =
      "INVITE sip:1000@127.0.0.1 SIP/2.0\r\n"
      "v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-a, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-b\r\n"
      "f: \"A\" <sip:a@127.0.0.1>;tag=1\r\n"
      "t: <sip:1000@127.0.0.1>\r\n"
      "i: call-1\r\n"
      "CSeq: 1 INVITE\r\n"
      "k: timer, 100rel\r\n"
      "Max-Forwards: 70\r\n"
      "Content-Length: 0\r\n\r\n";
  auto parsed = parseMessage(text, true);
  ASSERT_TRUE(std::holds_alternative<Message>(parsed));
  const Message& m = std::get<Message>(parsed);
  EXPECT_EQ(m.headers("Via").size(), 2u);
  EXPECT_TRUE(m.hasToken("Supported", "timer"));
  EXPECT_TRUE(m.hasToken("Supported", "100rel"));
  EXPECT_FALSE(m.hasToken("Supported", "replaces"));
  auto again = parseMessage(m.serialize(), false);
  ASSERT_TRUE(std::holds_alternative<Message>(again));
  EXPECT_EQ(std::get<Message>(again).serialize(), m.serialize());
}

TEST(SipResponse, CopiesTheRightHeadersAndAddsTag) {
  auto parsed = parseMessage(
      "BYE sip:1000@127.0.0.1 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-a\r\n"
      "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-b\r\n"
      "From: <sip:a@127.0.0.1>;tag=1\r\n"
      "To: <sip:1000@127.0.0.1>\r\n"
      "Call-ID: call-2\r\n"
      "CSeq: 2 BYE\r\n"
      "User-Agent: test\r\n"
      "Content-Length: 0\r\n\r\n",
      true);
  ASSERT_TRUE(std::holds_alternative<Message>(parsed));
  Message response = makeResponse(std::get<Message>(parsed), 481, {}, "xyz");
  EXPECT_EQ(response.status, 481);
  EXPECT_EQ(response.reason, "Call/Transaction Does Not Exist");
  EXPECT_EQ(response.headers("Via").size(), 2u);
  EXPECT_EQ(response.to()->tag(), "xyz");
  EXPECT_EQ(response.header("User-Agent"), nullptr);
  Message error = errorResponse(std::get<Message>(parsed), badRequest("malformed Via"));
  EXPECT_EQ(error.reason, "Bad Request (malformed Via)");
  EXPECT_EQ(error.serialize().find("\r\n\r\n"), error.serialize().size() - 4);
}

// RFC 3261 §12.1.1: a response that makes a dialog carries the request's Record-Route values in
// their order, so the caller's in-dialog requests go through the proxy that asked; other
// responses do not.
TEST(SipResponse, DialogFormingResponsesCopyRecordRouteInOrder) {
  auto parsed = parseMessage(
      "INVITE sip:1000@127.0.0.1 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-p\r\n"
      "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-a\r\n"
      "Record-Route: <sip:127.0.0.1:5080;lr;ftag=1>\r\n"
      "Record-Route: <sip:10.0.0.9;lr>, <sip:10.0.0.8;lr;x=y>\r\n"
      "From: <sip:a@127.0.0.1>;tag=1\r\n"
      "To: <sip:1000@127.0.0.1>\r\n"
      "Call-ID: call-rr\r\n"
      "CSeq: 1 INVITE\r\n"
      "Content-Length: 0\r\n\r\n",
      true);
  ASSERT_TRUE(std::holds_alternative<Message>(parsed));
  const Message& invite = std::get<Message>(parsed);
  const auto expected = invite.headers("Record-Route");
  ASSERT_EQ(expected.size(), 3u);
  for (int status : {180, 200}) {
    Message response = makeResponse(invite, status, {}, "t1");
    EXPECT_EQ(response.headers("Record-Route"), expected) << status;
    auto again = parseMessage(response.serialize(), false);
    ASSERT_TRUE(std::holds_alternative<Message>(again));
    EXPECT_EQ(std::get<Message>(again).headers("Record-Route"), expected) << status;
  }
  for (int status : {100, 486, 503}) {
    EXPECT_TRUE(makeResponse(invite, status, {}, "t1").headers("Record-Route").empty()) << status;
  }
}

}  // namespace
}  // namespace confab::sip
