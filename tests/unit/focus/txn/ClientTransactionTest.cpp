// Client transactions (RFC 3261 §17.1) through the real layer, a recording wire and manual time.
#include <gtest/gtest.h>

#include "focus/dialog/Dialog.hpp"
#include "tests/unit/focus/room/UasHarness.hpp"

namespace confab::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct RecordingUser final : txn::ClientTransaction::User {
  void onResponse(txn::ClientTransaction&, const sip::Message& response) override {
    statuses.push_back(response.status);
  }
  void onTimeout(txn::ClientTransaction&) override { ++timeouts; }
  std::vector<int> statuses;
  int timeouts = 0;
};

sip::Message outgoing(const std::string& method) {
  sip::Message m = sip::Message::request(method, *sip::Uri::parse("sip:alice@127.0.0.1:5070"));
  m.add("Max-Forwards", "70");
  m.add("From", "<sip:1000@127.0.0.1>;tag=focus1");
  m.add("To", "<sip:alice@127.0.0.1>");
  m.add("Call-ID", "uac-1");
  m.add("CSeq", "7 " + method);
  m.add("Contact", "<sip:1000@127.0.0.1:5060>");
  return m;
}

std::string responseTo(const sip::Message& request, int status, const std::string& toTag = "a1") {
  std::string r = "SIP/2.0 " + std::to_string(status) + " X\r\n";
  r += "Via: " + *request.header("Via") + "\r\n";
  r += "From: " + *request.header("From") + "\r\n";
  r += "To: " + *request.header("To") + ";tag=" + toTag + "\r\n";
  r += "Call-ID: " + request.callId() + "\r\n";
  r += "CSeq: " + *request.header("CSeq") + "\r\n";
  r += "Contact: <sip:alice@127.0.0.1:5072>\r\n";
  r += "Record-Route: <sip:p1.example.com;lr>\r\nRecord-Route: <sip:p2.example.com;lr>\r\n";
  r += "Content-Length: 0\r\n\r\n";
  return r;
}

std::size_t countMethod(const RecordingWire& wire, const std::string& method) {
  std::size_t n = 0;
  for (const auto& [m, d] : wire.requests) {
    n += m.method == method ? 1u : 0u;
  }
  return n;
}

const transport::Destination kPeer{transport::Protocol::kUdp, "127.0.0.1", 5070};

TEST(ClientTransaction, NonInviteRetransmitsUpToT2AndTimesOut) {
  UasHarness h;
  RecordingUser user;
  h.layer().sendRequest(outgoing("OPTIONS"), kPeer, &user);
  ASSERT_EQ(countMethod(h.wire, "OPTIONS"), 1u);
  const sip::Message& sent = h.wire.requests[0].first;
  EXPECT_EQ(sent.topVia()->branch().rfind("z9hG4bK", 0), 0u);
  EXPECT_NE(sent.topVia()->param("rport"), nullptr);
  // Timer E: 500, 1000, 2000, 4000, 4000 ... (RFC 3261 §17.1.2.2).
  h.timers.advance(milliseconds(500));
  EXPECT_EQ(countMethod(h.wire, "OPTIONS"), 2u);
  h.timers.advance(milliseconds(1000));
  EXPECT_EQ(countMethod(h.wire, "OPTIONS"), 3u);
  h.timers.advance(milliseconds(2000));
  EXPECT_EQ(countMethod(h.wire, "OPTIONS"), 4u);
  h.timers.advance(milliseconds(4000));
  EXPECT_EQ(countMethod(h.wire, "OPTIONS"), 5u);
  h.timers.advance(milliseconds(4000));
  EXPECT_EQ(countMethod(h.wire, "OPTIONS"), 6u);
  EXPECT_EQ(user.timeouts, 0);
  h.timers.advance(seconds(21));  // Timer F at 64*T1 = 32 s
  EXPECT_EQ(user.timeouts, 1);
  EXPECT_TRUE(user.statuses.empty());
  h.timers.advance(seconds(1));
  EXPECT_EQ(h.layer().clientTransactions(), 0u);
}

TEST(ClientTransaction, FinalResponseStopsRetransmissionAndIsPassedUpOnce) {
  UasHarness h;
  RecordingUser user;
  h.layer().sendRequest(outgoing("OPTIONS"), kPeer, &user);
  const sip::Message sent = h.wire.requests[0].first;
  h.receive(responseTo(sent, 200));
  h.receive(responseTo(sent, 200));  // retransmission: absorbed
  h.timers.advance(seconds(10));
  EXPECT_EQ(countMethod(h.wire, "OPTIONS"), 1u);
  EXPECT_EQ(user.statuses, std::vector<int>{200});
  EXPECT_EQ(h.layer().clientTransactions(), 0u);  // Timer K (T4) ran out
}

// /metrics counts SIP transactions by side, method and final status once they end: a timeout
// counts as 408, and a method nobody knows as "other" (a peer cannot grow the table).
TEST(ClientTransaction, EndedTransactionsAreCountedBySideMethodAndStatus) {
  UasHarness h;
  RecordingUser user;
  h.layer().sendRequest(outgoing("OPTIONS"), kPeer, &user);
  h.receive(responseTo(h.wire.requests[0].first, 200));
  h.layer().sendRequest(outgoing("INVITE"), kPeer, &user);  // never answered: Timer B
  h.receive(request("OPTIONS", "in-1", 1, "o1"));
  h.receive(request("FROBNICATE", "in-2", 1, "f1"));
  h.receive(request("FROBNICATE", "in-3", 1, "f2"));
  EXPECT_TRUE(h.layer().counts().empty()) << "nothing has ended yet (Timers K and J run)";
  h.timers.advance(seconds(40));
  using End = txn::TransactionEnd;
  const txn::TransactionCounts expected{{End{false, "INVITE", 408}, 1},
                                        {End{false, "OPTIONS", 200}, 1},
                                        {End{true, "OPTIONS", 200}, 1},
                                        {End{true, "other", 501}, 2}};
  EXPECT_EQ(h.layer().counts(), expected);
}

TEST(ClientTransaction, InviteErrorIsAckedInsideTheTransaction) {
  UasHarness h;
  RecordingUser user;
  h.layer().sendRequest(outgoing("INVITE"), kPeer, &user);
  const sip::Message invite = h.wire.requests[0].first;
  h.timers.advance(milliseconds(500));  // Timer A
  EXPECT_EQ(countMethod(h.wire, "INVITE"), 2u);
  h.receive(responseTo(invite, 180));
  h.timers.advance(seconds(4));
  EXPECT_EQ(countMethod(h.wire, "INVITE"), 2u) << "no retransmission once proceeding";
  h.receive(responseTo(invite, 486));
  ASSERT_EQ(countMethod(h.wire, "ACK"), 1u);
  const sip::Message& ack = h.wire.requests.back().first;
  // RFC 3261 §17.1.1.3: same branch, To from the response, CSeq number with ACK.
  EXPECT_EQ(ack.topVia()->branch(), invite.topVia()->branch());
  EXPECT_EQ(ack.to()->tag(), "a1");
  EXPECT_EQ(ack.cseq()->number, 7u);
  EXPECT_EQ(ack.cseq()->method, "ACK");
  h.receive(responseTo(invite, 486));  // retransmitted final: ACK again, not passed up
  EXPECT_EQ(countMethod(h.wire, "ACK"), 2u);
  EXPECT_EQ(user.statuses, (std::vector<int>{180, 486}));
}

TEST(ClientTransaction, InviteTimesOutWithTimerB) {
  UasHarness h;
  RecordingUser user;
  h.layer().sendRequest(outgoing("INVITE"), kPeer, &user);
  h.timers.advance(seconds(31));
  // Timer A doubles without cap: 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s.
  EXPECT_EQ(countMethod(h.wire, "INVITE"), 6u);
  h.timers.advance(seconds(2));
  EXPECT_EQ(user.timeouts, 1);
}

TEST(ClientTransaction, ReliableTransportIsNotRetransmitted) {
  UasHarness h;
  RecordingUser user;
  h.layer().sendRequest(outgoing("OPTIONS"),
                        transport::Destination{transport::Protocol::kTcp, "127.0.0.1", 5070},
                        &user);
  h.timers.advance(seconds(20));
  EXPECT_EQ(countMethod(h.wire, "OPTIONS"), 1u);
  EXPECT_EQ(h.wire.requests[0].first.topVia()->transport, "UDP") << "sentBy of the fake wire";
}

TEST(DialogUac, BuiltFromTheTwoHundredWithReversedRouteSet) {
  UasHarness h;
  RecordingUser user;
  h.layer().sendRequest(outgoing("INVITE"), kPeer, &user);
  const sip::Message invite = h.wire.requests[0].first;
  auto parsed = sip::parseMessage(responseTo(invite, 200, "remote9"), true);
  const auto& ok = std::get<sip::Message>(parsed);
  auto d = dialog::Dialog::asUac(invite, ok, kPeer);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->remoteTag(), "remote9");
  EXPECT_EQ(d->localTag(), "focus1");
  sip::Message bye = d->makeRequest("BYE");
  EXPECT_EQ(bye.requestUri.str(), "sip:alice@127.0.0.1:5072");
  EXPECT_EQ(bye.cseq()->number, 8u);
  auto routes = bye.headers("Route");
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0], "<sip:p2.example.com;lr>");
  EXPECT_EQ(d->destination().host, "p2.example.com");
  EXPECT_EQ(d->makeAck(7).cseq()->str(), "7 ACK");
}

TEST(DialogUas, RefusesTwoContactsAndTakesFromWhenNone) {
  auto twoContacts = sip::parseMessage(
      "INVITE sip:1000@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
      "From: <sip:a@h>;tag=1\r\nTo: <sip:1000@h>\r\nCall-ID: d1\r\nCSeq: 1 INVITE\r\n"
      "Contact: <sip:a@h>\r\nContact: <sip:b@h>\r\nContent-Length: 0\r\n\r\n",
      true);
  ASSERT_TRUE(std::holds_alternative<sip::Message>(twoContacts));
  EXPECT_FALSE(dialog::Dialog::asUas(std::get<sip::Message>(twoContacts), "t", {}));
}

}  // namespace
}  // namespace confab::test
