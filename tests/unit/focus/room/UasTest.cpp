// The focus as UAS: room calls, transactions and dialogs through the real layers, with time
// moved by hand.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "focus/sdp/SessionDescription.hpp"
#include "tests/unit/focus/room/UasHarness.hpp"

namespace confab::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string toTagOf(const sip::Message& response) {
  return response.to()->tag();
}

TEST(UasCall, InviteToRoomIsAnsweredWithSdpAndHeldUntilBye) {
  UasHarness h;
  h.receive(request("INVITE", "c1", 1, "i1", {}, {}, kOfferPcmu));
  ASSERT_EQ(h.lastStatus(), 200);
  const sip::Message ok = h.lastResponse();
  EXPECT_FALSE(toTagOf(ok).empty());
  EXPECT_EQ(ok.contentType(), "application/sdp");
  auto answer = sdp::SessionDescription::parse(ok.body);
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->media.size(), 1u);
  EXPECT_NE(answer->media[0].port, 0);
  EXPECT_NE(ok.header("Contact")->find("isfocus"), std::string::npos);
  EXPECT_TRUE(ok.hasToken("Allow", "BYE"));
  EXPECT_EQ(h.uas().callCount(), 1u);

  h.receive(request("ACK", "c1", 1, "a1", toTagOf(ok)));
  h.timers.advance(seconds(40));
  EXPECT_EQ(h.countStatus(200), 1u) << "no 2xx retransmission after the ACK";
  EXPECT_TRUE(h.wire.requests.empty()) << "no BYE from us";
  EXPECT_EQ(h.uas().callCount(), 1u);

  h.receive(request("BYE", "c1", 2, "b1", toTagOf(ok)));
  EXPECT_EQ(h.lastStatus(), 200);
  EXPECT_EQ(h.lastResponse().cseq()->method, "BYE");
  h.timers.advance(milliseconds(1));
  EXPECT_EQ(h.uas().callCount(), 0u);
}

TEST(UasCall, TwoHundredIsRetransmittedUntilAckThenByeAfterTimeout) {
  UasHarness h;
  h.receive(request("INVITE", "c2", 1, "i2", {}, {}, kOfferPcmu));
  ASSERT_EQ(h.countStatus(200), 1u);
  // RFC 3261 §13.3.1.4: T1, then doubling to T2 (500, 1000, 2000, 4000, 4000 ms ...).
  h.timers.advance(milliseconds(500));
  EXPECT_EQ(h.countStatus(200), 2u);
  h.timers.advance(milliseconds(1000));
  EXPECT_EQ(h.countStatus(200), 3u);
  h.timers.advance(milliseconds(2000));
  EXPECT_EQ(h.countStatus(200), 4u);
  h.timers.advance(milliseconds(4000));
  EXPECT_EQ(h.countStatus(200), 5u);
  h.timers.advance(milliseconds(4000));
  EXPECT_EQ(h.countStatus(200), 6u);
  // No ACK within 64*T1 = 32 s: BYE.
  h.timers.advance(seconds(20) + milliseconds(600));
  ASSERT_EQ(h.wire.requests.size(), 1u);
  const sip::Message& bye = h.wire.requests[0].first;
  EXPECT_EQ(bye.method, "BYE");
  EXPECT_EQ(bye.callId(), "c2");
  EXPECT_EQ(bye.to()->tag(), "peer-c2");
  EXPECT_EQ(h.wire.requests[0].second.port, 5070);
  // The peer answers the BYE; the call goes.
  std::string okToBye = "SIP/2.0 200 OK\r\nVia: " + *bye.header("Via") +
                        "\r\nFrom: " + *bye.header("From") + "\r\nTo: " + *bye.header("To") +
                        "\r\nCall-ID: c2\r\nCSeq: " + *bye.header("CSeq") +
                        "\r\nContent-Length: 0\r\n\r\n";
  h.receive(okToBye);
  h.timers.advance(milliseconds(1));
  EXPECT_EQ(h.uas().callCount(), 0u);
}

TEST(UasCall, InviteRetransmissionIsAbsorbed) {
  UasHarness h;
  const std::string invite = request("INVITE", "c3", 1, "i3", {}, {}, kOfferPcmu);
  h.receive(invite);
  h.receive(invite);
  h.receive(invite);
  EXPECT_EQ(h.countStatus(200), 1u);
  EXPECT_EQ(h.uas().callCount(), 1u);
}

TEST(UasCall, UnknownRoomIs404) {
  UasHarness h;
  h.receive(request("INVITE", "c4", 1, "i4", {}, {}, kOfferPcmu, "sip:nosuchroom@127.0.0.1"));
  EXPECT_EQ(h.lastStatus(), 404);
  EXPECT_FALSE(toTagOf(h.lastResponse()).empty());
  // The 404 is retransmitted (Timer G) until the ACK comes.
  h.timers.advance(milliseconds(500));
  EXPECT_EQ(h.countStatus(404), 2u);
  h.receive(
      request("ACK", "c4", 1, "i4", toTagOf(h.lastResponse()), {}, {}, "sip:nosuchroom@127.0.0.1"));
  h.timers.advance(seconds(10));
  EXPECT_EQ(h.countStatus(404), 2u);
  EXPECT_EQ(h.layer().serverTransactions(), 0u);
}

TEST(UasCall, CancelWhileRingingGets487) {
  room::UasSettings settings;
  settings.answerDelay = milliseconds(3000);
  UasHarness h(settings);
  h.receive(request("INVITE", "c5", 1, "i5", {}, {}, kOfferPcmu));
  EXPECT_EQ(h.lastStatus(), 180);
  std::string cancel = request("CANCEL", "c5", 1, "i5");
  h.receive(cancel);
  EXPECT_EQ(h.countStatus(200), 1u);  // the CANCEL's
  EXPECT_EQ(h.countStatus(487), 1u);
  h.timers.advance(seconds(5));
  EXPECT_EQ(h.countStatus(200), 1u) << "the cancelled INVITE is never answered 200";
  EXPECT_EQ(h.uas().callCount(), 0u);
}

TEST(UasCall, CancelForUnknownTransactionIs481) {
  UasHarness h;
  h.receive(request("CANCEL", "c6", 1, "nothing"));
  EXPECT_EQ(h.lastStatus(), 481);
}

TEST(UasCall, MergedRequestIsRefusedWith482) {
  UasHarness h;
  h.receive(request("INVITE", "c7", 1, "i7a", {}, {}, kOfferPcmu));
  h.receive(request("INVITE", "c7", 1, "i7b", {}, {}, kOfferPcmu));
  EXPECT_EQ(h.lastStatus(), 482);
  EXPECT_EQ(h.uas().callCount(), 1u);
}

TEST(UasCall, HoldAndResumeByReInvite) {
  UasHarness h;
  h.receive(request("INVITE", "c8", 1, "i8", {}, {}, kOfferPcmu));
  const std::string tag = toTagOf(h.lastResponse());
  h.receive(request("ACK", "c8", 1, "a8", tag));
  std::string hold = kOfferPcmu;
  hold.replace(hold.find("a=sendrecv"), 10, "a=sendonly");
  h.receive(request("INVITE", "c8", 2, "i8b", tag, {}, hold));
  ASSERT_EQ(h.lastStatus(), 200);
  auto answer = sdp::SessionDescription::parse(h.lastResponse().body);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->directionOf(answer->media[0]), sdp::Direction::kRecvOnly);
  ASSERT_TRUE(h.uas().findCall("c8")->media());
  EXPECT_TRUE(h.uas().findCall("c8")->media()->onHold);
  const auto holdVersion = answer->origin.sessionVersion;
  h.receive(request("ACK", "c8", 2, "a8b", tag));
  h.receive(request("INVITE", "c8", 3, "i8c", tag, {}, kOfferPcmu));
  ASSERT_EQ(h.lastStatus(), 200);
  auto resumed = sdp::SessionDescription::parse(h.lastResponse().body);
  EXPECT_EQ(resumed->directionOf(resumed->media[0]), sdp::Direction::kSendRecv);
  EXPECT_GT(resumed->origin.sessionVersion, holdVersion);
  EXPECT_EQ(resumed->media[0].port, answer->media[0].port) << "same media port across re-INVITEs";
  EXPECT_FALSE(h.uas().findCall("c8")->media()->onHold);
}

TEST(UasCall, TheSdpVersionGoesUpOnlyWhenTheAnsweredSessionChanges) {
  // RFC 3264 §8 (issue 10 item 11): a refused offer changes nothing, the same session keeps its
  // version, a changed one is one higher.
  UasHarness h;
  h.receive(request("INVITE", "c13", 1, "i13", {}, {}, kOfferPcmu));
  ASSERT_EQ(h.lastStatus(), 200);
  const std::string tag = toTagOf(h.lastResponse());
  const std::string first = h.lastResponse().body;
  const auto version = [&] {
    auto sd = sdp::SessionDescription::parse(h.lastResponse().body);
    EXPECT_TRUE(sd);
    return sd ? std::stoull(sd->origin.sessionVersion) : 0;
  };
  const auto v1 = version();
  h.receive(request("ACK", "c13", 1, "a13", tag));
  const std::string g729 =
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      "m=audio 6000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n";
  h.receive(request("INVITE", "c13", 2, "i13b", tag, {}, g729));
  ASSERT_EQ(h.lastStatus(), 488);
  h.receive(request("ACK", "c13", 2, "i13b", tag));
  h.receive(request("INVITE", "c13", 3, "i13c", tag, {}, kOfferPcmu));  // a refresh
  ASSERT_EQ(h.lastStatus(), 200);
  EXPECT_EQ(version(), v1) << "same session, same version";
  EXPECT_EQ(h.lastResponse().body, first);
  h.receive(request("ACK", "c13", 3, "a13c", tag));
  std::string hold = kOfferPcmu;
  hold.replace(hold.find("a=sendrecv"), 10, "a=sendonly");
  h.receive(request("INVITE", "c13", 4, "i13d", tag, {}, hold));
  ASSERT_EQ(h.lastStatus(), 200);
  EXPECT_EQ(version(), v1 + 1) << "one higher, not two: the refused offer counted nothing";
}

TEST(UasCall, OfferlessInviteGetsOfferAndTakesAnswerFromAck) {
  UasHarness h;
  h.receive(request("INVITE", "c9", 1, "i9"));
  ASSERT_EQ(h.lastStatus(), 200);
  auto offer = sdp::SessionDescription::parse(h.lastResponse().body);
  ASSERT_TRUE(offer);
  const std::string tag = toTagOf(h.lastResponse());
  EXPECT_FALSE(h.uas().findCall("c9")->media());
  std::string answer =
      "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      "m=audio 7000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
  h.receive(request("ACK", "c9", 1, "a9", tag, {}, answer));
  ASSERT_TRUE(h.uas().findCall("c9")->media());
  EXPECT_EQ(h.uas().findCall("c9")->media()->codec.name, "PCMU");
  EXPECT_EQ(h.uas().findCall("c9")->media()->remoteRtpPort, 7000);
}

TEST(UasCall, UnacceptableOfferIs488WithWarning) {
  UasHarness h;
  std::string video =
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      "m=video 6000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n";
  h.receive(request("INVITE", "c10", 1, "i10", {}, {}, video));
  EXPECT_EQ(h.lastStatus(), 488);
  // The phrase stays plain; the detail is in a Warning with RFC 3261 §20.43's code for it
  // (304 Media type not available), said once.
  EXPECT_EQ(h.lastResponse().reason, "Not Acceptable Here");
  ASSERT_NE(h.lastResponse().header("Warning"), nullptr);
  EXPECT_EQ(*h.lastResponse().header("Warning"), "304 confab \"no audio stream offered\"");
  EXPECT_EQ(h.uas().callCount(), 0u);
}

TEST(UasCall, NoCommonCodecIs488WithAWarningNamingWhatWasOffered) {
  UasHarness h;
  const std::string g729 =
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      "m=audio 6000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n";
  h.receive(request("INVITE", "c12", 1, "i12", {}, {}, g729));
  EXPECT_EQ(h.lastStatus(), 488);
  EXPECT_EQ(h.lastResponse().reason, "Not Acceptable Here");
  ASSERT_NE(h.lastResponse().header("Warning"), nullptr);
  const std::string& warning = *h.lastResponse().header("Warning");
  EXPECT_EQ(warning.rfind("305 confab \"no common audio codec", 0), 0u) << warning;
  EXPECT_NE(warning.find("G729/8000"), std::string::npos) << warning;
  EXPECT_EQ(warning.find("Not Acceptable Here"), std::string::npos) << "said once: " << warning;
}

TEST(UasCall, MalformedSdpIs400NamingIt) {
  UasHarness h;
  h.receive(request("INVITE", "c11", 1, "i11", {}, {}, "v=0\r\nm=audio banana RTP/AVP 0\r\n"));
  EXPECT_EQ(h.lastStatus(), 400);
  EXPECT_NE(h.lastResponse().reason.find("SDP"), std::string::npos) << h.lastResponse().reason;
}

TEST(UasSessionTimer, UacRefresherMissingRefreshEndsTheCall) {
  UasHarness h;
  h.receive(request("INVITE", "c12", 1, "i12", {}, "Supported: timer\r\nSession-Expires: 90\r\n",
                    kOfferPcmu));
  ASSERT_EQ(h.lastStatus(), 200);
  const sip::Message ok = h.lastResponse();
  EXPECT_EQ(*ok.header("Session-Expires"), "90;refresher=uac");
  EXPECT_TRUE(ok.hasToken("Require", "timer"));
  h.receive(request("ACK", "c12", 1, "a12", toTagOf(ok)));
  // A refresh by UPDATE at 45 s keeps the call.
  h.timers.advance(seconds(45));
  h.receive(request("UPDATE", "c12", 2, "u12", toTagOf(ok),
                    "Supported: timer\r\nSession-Expires: 90;refresher=uac\r\n"));
  EXPECT_EQ(h.lastStatus(), 200);
  h.timers.advance(seconds(59));
  EXPECT_TRUE(h.wire.requests.empty());
  // RFC 4028 §10: expiry at 90 - min(32, 30) = 60 s after the last refresh.
  h.timers.advance(milliseconds(1100));
  ASSERT_EQ(h.wire.requests.size(), 1u);
  EXPECT_EQ(h.wire.requests[0].first.method, "BYE");
}

TEST(UasSessionTimer, TooSmallIntervalIs422WithMinSe) {
  UasHarness h;
  h.receive(request("INVITE", "c13", 1, "i13", {}, "Supported: timer\r\nSession-Expires: 30\r\n",
                    kOfferPcmu));
  EXPECT_EQ(h.lastStatus(), 422);
  ASSERT_NE(h.lastResponse().header("Min-SE"), nullptr);
  EXPECT_EQ(*h.lastResponse().header("Min-SE"), "90");
}

TEST(UasSessionTimer, UasRefresherSendsRefresh) {
  UasHarness h;
  h.receive(request("INVITE", "c14", 1, "i14", {},
                    "Supported: timer\r\nSession-Expires: 120;refresher=uas\r\n"
                    "Allow: INVITE, ACK, BYE, CANCEL, UPDATE\r\n",
                    kOfferPcmu));
  ASSERT_EQ(h.lastStatus(), 200);
  EXPECT_EQ(*h.lastResponse().header("Session-Expires"), "120;refresher=uas");
  h.receive(request("ACK", "c14", 1, "a14", toTagOf(h.lastResponse())));
  h.timers.advance(seconds(59));
  EXPECT_TRUE(h.wire.requests.empty());
  h.timers.advance(milliseconds(1100));
  ASSERT_EQ(h.wire.requests.size(), 1u);
  EXPECT_EQ(h.wire.requests[0].first.method, "UPDATE");
  // We send it, so we are its UAC, and we stay the refresher (RFC 4028 §7.4).
  ASSERT_NE(h.wire.requests[0].first.header("Session-Expires"), nullptr);
  EXPECT_EQ(*h.wire.requests[0].first.header("Session-Expires"), "120;refresher=uac");
}

TEST(UasRequests, OptionsAdvertisesCapabilities) {
  UasHarness h;
  h.receive(request("OPTIONS", "c15", 1, "o15", {}, {}, {}, "sip:127.0.0.1"));
  ASSERT_EQ(h.lastStatus(), 200);
  EXPECT_TRUE(h.lastResponse().hasToken("Allow", "INVITE"));
  EXPECT_TRUE(h.lastResponse().hasToken("Accept", "application/sdp"));
  EXPECT_TRUE(h.lastResponse().hasToken("Supported", "timer"));
}

TEST(UasRequests, UnsupportedRequireIs420) {
  UasHarness h;
  h.receive(request("INVITE", "c16", 1, "i16", {}, "Require: 100rel, foo\r\n", kOfferPcmu));
  EXPECT_EQ(h.lastStatus(), 420);
  EXPECT_TRUE(h.lastResponse().hasToken("Unsupported", "100rel"));
  EXPECT_TRUE(h.lastResponse().hasToken("Unsupported", "foo"));
}

TEST(UasRequests, UnsupportedMethodsGetAllow) {
  UasHarness h;
  h.receive(request("REGISTER", "c17", 1, "r17"));
  EXPECT_EQ(h.lastStatus(), 405);
  EXPECT_TRUE(h.lastResponse().hasToken("Allow", "INVITE"));
  h.receive(request("FROBNICATE", "c18", 1, "f18"));
  EXPECT_EQ(h.lastStatus(), 501);
  EXPECT_NE(h.lastResponse().header("Allow"), nullptr);
}

TEST(UasRequests, InDialogRequestsNeedTheDialog) {
  UasHarness h;
  h.receive(request("BYE", "c19", 2, "b19", "nosuchtag"));
  EXPECT_EQ(h.lastStatus(), 481);
}

TEST(UasRequests, OutOfOrderCSeqIs500) {
  UasHarness h;
  h.receive(request("INVITE", "c20", 5, "i20", {}, {}, kOfferPcmu));
  const std::string tag = toTagOf(h.lastResponse());
  h.receive(request("ACK", "c20", 5, "a20", tag));
  h.receive(request("INFO", "c20", 3, "n20", tag));
  EXPECT_EQ(h.lastStatus(), 500);
  h.receive(request("INFO", "c20", 6, "n20b", tag));
  EXPECT_EQ(h.lastStatus(), 200);
}

TEST(UasRequests, NonInviteRetransmissionGetsTheSameResponse) {
  UasHarness h;
  const std::string options = request("OPTIONS", "c21", 1, "o21");
  h.receive(options);
  h.receive(options);
  EXPECT_EQ(h.countStatus(200), 2u);
  EXPECT_EQ(h.wire.responses[0].first.to()->tag(), h.wire.responses[1].first.to()->tag());
  h.timers.advance(seconds(33));
  EXPECT_EQ(h.layer().serverTransactions(), 0u);
}

TEST(UasRequests, RoomLimitIsEnforced) {
  UasHarness h;
  h.rooms.put(policy::Room{"small", "Small", 1});
  h.receive(request("INVITE", "c22", 1, "i22", {}, {}, kOfferPcmu, "sip:small@127.0.0.1"));
  EXPECT_EQ(h.lastStatus(), 200);
  h.receive(request("INVITE", "c23", 1, "i23", {}, {}, kOfferPcmu, "sip:small@127.0.0.1"));
  EXPECT_EQ(h.lastStatus(), 486);
}

TEST(UasRequests, RoomLimitHoldsUnderABurstOfCallsStillBeingSetUp) {
  // Issue 10 item 6: 50 INVITEs at once to a room of 10, answered after a ring (the calls are
  // still being set up when the next ones arrive): exactly 10 get in, 40 get 486.
  room::UasSettings settings;
  settings.answerDelay = std::chrono::milliseconds(500);
  settings.abuse.invitesPerSecond = 0;  // one source here: only the room's limit is tested
  settings.abuse.maxCallsPerSource = 0;
  UasHarness h(settings);
  h.rooms.put(policy::Room{"ten", "Ten", 10});
  for (int i = 0; i < 50; ++i) {
    const std::string id = "burst" + std::to_string(i);
    h.receive(request("INVITE", id, 1, "b" + id, {}, {}, kOfferPcmu, "sip:ten@127.0.0.1"));
  }
  EXPECT_EQ(h.countStatus(180), 10u);
  EXPECT_EQ(h.countStatus(486), 40u);
  h.timers.advance(std::chrono::milliseconds(600));
  EXPECT_EQ(h.countStatus(200), 10u);
  EXPECT_EQ(h.uas().callsIn("ten").size(), 10u);
}

}  // namespace
}  // namespace confab::test

namespace confab::test {
namespace {

TEST(UasAddresses, WildcardSocketUsesTheAddressThePeerDialled) {
  UasHarness h;
  h.source.local = {boost::asio::ip::make_address("0.0.0.0"), 5060};
  h.receive(request("INVITE", "w1", 1, "w1", {}, {}, kOfferPcmu, "sip:1000@192.0.2.10"));
  ASSERT_EQ(h.lastStatus(), 200);
  EXPECT_NE(h.lastResponse().header("Contact")->find("sip:1000@192.0.2.10:5060"), std::string::npos)
      << *h.lastResponse().header("Contact");
  EXPECT_NE(h.lastResponse().body.find("c=IN IP4 192.0.2.10"), std::string::npos);
}

TEST(UasAddresses, ConfiguredMediaAddressWins) {
  room::UasSettings settings;
  settings.mediaAddress = "198.51.100.7";
  UasHarness h(settings);
  h.receive(request("INVITE", "w2", 1, "w2", {}, {}, kOfferPcmu));
  ASSERT_EQ(h.lastStatus(), 200);
  EXPECT_NE(h.lastResponse().body.find("c=IN IP4 198.51.100.7"), std::string::npos);
}

}  // namespace
}  // namespace confab::test

namespace confab::test {
namespace {

TEST(UasMedia, AnsweredCallJoinsTheRoomMixAndLeavesIt) {
  UasHarness h;
  h.receive(request("INVITE", "m1", 1, "m1", {}, {}, kOfferPcmu));
  ASSERT_EQ(h.lastStatus(), 200);
  const room::Call* call = h.uas().findCall("m1");
  ASSERT_NE(call, nullptr);
  EXPECT_TRUE(call->inMix());
  h.receive(request("BYE", "m1", 2, "m1b", h.lastResponse().to()->tag()));
  h.timers.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(h.uas().callCount(), 0u);
  // The ports went back: the range can be walked again from the start.
  EXPECT_TRUE(h.mixer().reserve().has_value());
}

TEST(UasMedia, NoRtpFromTheCallerEndsTheCallWithBye) {
  UasHarness h({}, transport::Protocol::kUdp, std::chrono::milliseconds(300));
  h.receive(request("INVITE", "m2", 1, "m2", {}, {}, kOfferPcmu));
  ASSERT_EQ(h.lastStatus(), 200);
  h.receive(request("ACK", "m2", 1, "m2a", h.lastResponse().to()->tag()));
  // The mixer thread's descriptor also wakes for its once-a-second statistics, which can come
  // first: events are delivered until the BYE goes out, for at most 3 s.
  const auto deadline = std::chrono::steady_clock::now() + seconds(3);
  while (h.wire.requests.empty() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{h.mixer().eventFd(), POLLIN, 0};
    if (::poll(&p, 1, 100) == 1) {
      h.mixer().deliverEvents(h.uas());
    }
  }
  ASSERT_EQ(h.wire.requests.size(), 1u) << "no BYE after the RTP timeout";
  EXPECT_EQ(h.wire.requests[0].first.method, "BYE");
}

}  // namespace
}  // namespace confab::test

namespace confab::test {
namespace {

TEST(UasMedia, RoomRequiringSrtpRefusesPlainRtpAndTakesSdes) {
  UasHarness h;
  h.rooms.put(policy::Room{"secure", "Secure", 0, true});
  h.receive(request("INVITE", "s1", 1, "s1", {}, {}, kOfferPcmu, "sip:secure@127.0.0.1"));
  EXPECT_EQ(h.lastStatus(), 488);
  std::string sdes = kOfferPcmu;
  sdes.replace(sdes.find("RTP/AVP"), 7, "RTP/SAVP");
  sdes += "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
  h.receive(request("INVITE", "s2", 1, "s2", {}, {}, sdes, "sip:secure@127.0.0.1"));
  ASSERT_EQ(h.lastStatus(), 200);
  EXPECT_NE(h.lastResponse().body.find("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"),
            std::string::npos);
  ASSERT_NE(h.uas().findCall("s2"), nullptr);
  EXPECT_TRUE(h.uas().findCall("s2")->media()->srtp.has_value());
  EXPECT_TRUE(h.uas().findCall("s2")->inMix());
}

TEST(UasMedia, ANewSuiteInAReinviteGetsANewKeyOfOurs) {
  // RFC 4568 §7.1.4: the same key under the same suite is kept across re-INVITEs (one SRTP
  // context for the call); under another suite it would derive the keystream already used
  // (RFC 3711 §9.1), so the answer carries a new key, and the call stays in the mix.
  UasHarness h;
  std::string sdes = kOfferPcmu;
  sdes.replace(sdes.find("RTP/AVP"), 7, "RTP/SAVP");
  const std::string key = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
  const auto offer = [&](const char* suite) {
    return sdes + "a=crypto:1 " + suite + " inline:" + key + "\r\n";
  };
  const auto ourKey = [&] {
    const std::string& body = h.lastResponse().body;
    const auto at = body.find("inline:");
    return at == std::string::npos ? std::string() : body.substr(at + 7, 40);
  };
  h.receive(request("INVITE", "k1", 1, "k1a", {}, {}, offer("AES_CM_128_HMAC_SHA1_80")));
  ASSERT_EQ(h.lastStatus(), 200);
  const std::string tag = toTagOf(h.lastResponse());
  const std::string first = ourKey();
  ASSERT_FALSE(first.empty());
  h.receive(request("ACK", "k1", 1, "k1b", tag));
  h.receive(request("INVITE", "k1", 2, "k1c", tag, {}, offer("AES_CM_128_HMAC_SHA1_80")));
  ASSERT_EQ(h.lastStatus(), 200);
  EXPECT_EQ(ourKey(), first) << "the same suite keeps our key";
  h.receive(request("ACK", "k1", 2, "k1d", tag));
  h.receive(request("INVITE", "k1", 3, "k1e", tag, {}, offer("AES_CM_128_HMAC_SHA1_32")));
  ASSERT_EQ(h.lastStatus(), 200);
  EXPECT_NE(h.lastResponse().body.find("AES_CM_128_HMAC_SHA1_32"), std::string::npos);
  EXPECT_NE(ourKey(), first) << "another suite gets a new key";
  EXPECT_TRUE(h.uas().findCall("k1")->inMix());
}

}  // namespace
TEST(UasAbuse, AnInviteFloodFromOneAddressGets503WhileAnotherAddressGetsIn) {
  // Issue 11 item 5: one source sending INVITEs as fast as it can (and never ACKing) gets its
  // burst, then 503 with Retry-After; its calls are capped; a caller elsewhere is not affected.
  UasHarness h;
  for (int i = 0; i < 200; ++i) {
    const std::string id = "flood" + std::to_string(i);
    h.receive(request("INVITE", id, 1, "f" + id, {}, {}, kOfferPcmu));
  }
  EXPECT_EQ(h.countStatus(200), 20u) << "the burst, and no more calls than one source may hold";
  EXPECT_EQ(h.countStatus(503), 180u);
  const sip::Message& refused = h.lastResponse();
  ASSERT_NE(refused.header("Retry-After"), nullptr);
  EXPECT_GE(std::stoi(*refused.header("Retry-After")), 1);
  ASSERT_NE(refused.header("Warning"), nullptr);
  EXPECT_EQ(h.uas().callCount(), 20u);
  // Two seconds later its rate allows more INVITEs, but it holds 20 calls already: 503 again.
  h.timers.advance(std::chrono::seconds(2));
  h.receive(request("INVITE", "flood-later", 1, "fl", {}, {}, kOfferPcmu));
  EXPECT_EQ(h.lastStatus(), 503);
  EXPECT_NE(h.lastResponse().header("Warning")->find("calls"), std::string::npos);
  // Someone else calls meanwhile: answered.
  h.source.remote = {boost::asio::ip::make_address("127.0.0.2"), 5070};
  h.receive(request("INVITE", "other", 1, "o1", {}, {}, kOfferPcmu));
  EXPECT_EQ(h.lastStatus(), 200);
  EXPECT_EQ(h.uas().abuseCounters().invitesRateLimited, 180u);
  EXPECT_EQ(h.uas().abuseCounters().callsOverSourceLimit, 1u);
}

TEST(UasAbuse, ATrustedProxyIsNotLimitedAsOneCaller) {
  room::UasSettings settings;
  settings.trustedSources = {"127.0.0.1"};
  UasHarness h(settings);
  for (int i = 0; i < 60; ++i) {
    const std::string id = "proxy" + std::to_string(i);
    h.receive(request("INVITE", id, 1, "p" + id, {}, {}, kOfferPcmu));
  }
  EXPECT_EQ(h.countStatus(200), 60u);
  EXPECT_EQ(h.countStatus(503), 0u);
}

// Every room has the participant PIN 1234 (as the policy store would say).
class PinRooms final : public policy::RoomSource {
 public:
  std::optional<policy::Room> find(std::string_view user, std::string_view) const override {
    policy::Room room{std::string(user), std::string(user)};
    room.key = room.id;
    room.participantPin = true;
    return room;
  }
  std::optional<policy::Role> checkPin(const policy::Room&, std::string_view pin) const override {
    return pin == "1234" ? std::optional(policy::Role::kParticipant) : std::nullopt;
  }
};

TEST(UasAbuse, WrongPinsFromOneAddressLockItOutWith403) {
  room::UasSettings settings;
  settings.abuse.wrongPinsPerSource = 3;
  PinRooms rooms;
  UasHarness h(settings, transport::Protocol::kUdp, std::chrono::seconds(60), &rooms);
  h.receive(request("INVITE", "g1", 1, "i1", {}, {}, kOfferPcmu));
  ASSERT_EQ(h.lastStatus(), 200);
  const std::string tag = h.lastResponse().to()->tag();
  h.receive(request("ACK", "g1", 1, "a1", tag));
  h.timers.advance(std::chrono::milliseconds(600));
  unsigned cseq = 2;
  for (int attempt = 0; attempt < 3; ++attempt) {
    for (char key : std::string("9999#")) {
      h.receive(request("INFO", "g1", cseq, "k" + std::to_string(cseq), tag,
                        "Content-Type: application/dtmf\r\n", std::string(1, key)));
      ++cseq;
    }
    h.timers.advance(std::chrono::milliseconds(10));
  }
  ASSERT_FALSE(h.wire.requests.empty());
  EXPECT_EQ(h.wire.requests[0].first.method, "BYE");
  // The guesser's next call: 403 before anything is spent on it.
  h.receive(request("INVITE", "g2", 1, "i2", {}, {}, kOfferPcmu));
  EXPECT_EQ(h.lastStatus(), 403);
  ASSERT_NE(h.lastResponse().header("Warning"), nullptr);
  EXPECT_NE(h.lastResponse().header("Warning")->find("PIN"), std::string::npos);
  // Another address keys the right PIN and gets in.
  h.source.remote = {boost::asio::ip::make_address("127.0.0.3"), 5070};
  h.receive(request("INVITE", "g3", 1, "i3", {}, {}, kOfferPcmu));
  ASSERT_EQ(h.lastStatus(), 200);
  const std::string tag3 = h.lastResponse().to()->tag();
  h.receive(request("ACK", "g3", 1, "a3", tag3));
  h.timers.advance(std::chrono::milliseconds(600));
  for (char key : std::string("1234#")) {
    h.receive(request("INFO", "g3", cseq, "k" + std::to_string(cseq), tag3,
                      "Content-Type: application/dtmf\r\n", std::string(1, key)));
    ++cseq;
  }
  h.timers.advance(std::chrono::milliseconds(10));
  EXPECT_EQ(h.uas().callsIn("1000").size(), 1u);
  // After the lockout (15 minutes) the first address may call again.
  h.source.remote = {boost::asio::ip::make_address("127.0.0.1"), 5070};
  h.timers.advance(std::chrono::minutes(15));
  h.receive(request("INVITE", "g4", 1, "i4", {}, {}, kOfferPcmu));
  EXPECT_EQ(h.lastStatus(), 200);
}

TEST(UasAbuse, PinsAreCheckedOffTheSipThreadAndALateAnswerForAGoneCallerIsDropped) {
  PinRooms rooms;
  UasHarness h({}, transport::Protocol::kUdp, std::chrono::seconds(60), &rooms);
  std::mutex mutex;
  std::vector<std::function<void()>> inbox;  // the SIP thread's queue: run when drained below
  room::PinChecker checker(
      [&rooms](const policy::Room& r, const std::string& pin) { return rooms.checkPin(r, pin); },
      [&](std::function<void()> result) {
        std::lock_guard lock(mutex);
        inbox.push_back(std::move(result));
      });
  h.uas().usePinChecker(&checker);
  const auto drain = [&](std::size_t expected) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mutex);
        if (inbox.size() >= expected) {
          break;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::vector<std::function<void()>> now;
    {
      std::lock_guard lock(mutex);
      now.swap(inbox);
    }
    for (auto& f : now) {
      f();
    }
  };
  unsigned cseq = 2;
  const auto keys = [&](const std::string& callId, const std::string& tag, const std::string& ks) {
    for (char key : ks) {
      h.receive(request("INFO", callId, cseq, "k" + std::to_string(cseq), tag,
                        "Content-Type: application/dtmf\r\n", std::string(1, key)));
      ++cseq;
    }
  };
  // A right PIN: nothing happens until the answer is delivered on "our" thread.
  h.receive(request("INVITE", "q1", 1, "i1", {}, {}, kOfferPcmu));
  const std::string tag1 = h.lastResponse().to()->tag();
  h.receive(request("ACK", "q1", 1, "a1", tag1));
  h.timers.advance(std::chrono::milliseconds(600));
  keys("q1", tag1, "1234#");
  EXPECT_TRUE(h.uas().callsIn("1000").empty()) << "in the room before the PIN was checked";
  drain(1);
  h.timers.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(h.uas().callsIn("1000").size(), 1u);
  // A caller who hangs up while their PIN is being checked: the late answer finds no entry.
  h.receive(request("INVITE", "q2", 1, "i2", {}, {}, kOfferPcmu));
  const std::string tag2 = h.lastResponse().to()->tag();
  h.receive(request("ACK", "q2", 1, "a2", tag2));
  h.timers.advance(std::chrono::milliseconds(600));
  keys("q2", tag2, "1234#");
  h.receive(request("BYE", "q2", cseq++, "b2", tag2));
  h.timers.advance(std::chrono::milliseconds(1));
  drain(1);
  h.timers.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(h.uas().callsIn("1000").size(), 1u) << "only the first caller";
  EXPECT_EQ(h.uas().callCount(), 1u);
}

TEST(UasAbuse, WrongPinsForOneRoomFromAnywhereCloseItsPinEntry) {
  // A guess spread over many addresses: the room's PIN entry closes for everyone.
  room::UasSettings settings;
  settings.abuse.wrongPinsPerSource = 0;
  settings.abuse.wrongPinsPerRoom = 2;
  PinRooms rooms;
  UasHarness h(settings, transport::Protocol::kUdp, std::chrono::seconds(60), &rooms);
  unsigned cseq = 2;
  for (int caller = 0; caller < 2; ++caller) {
    const std::string id = "spread" + std::to_string(caller);
    h.source.remote = {boost::asio::ip::make_address("127.0.1." + std::to_string(caller + 1)),
                       5070};
    h.receive(request("INVITE", id, 1, "i" + id, {}, {}, kOfferPcmu));
    ASSERT_EQ(h.lastStatus(), 200);
    const std::string tag = h.lastResponse().to()->tag();
    h.receive(request("ACK", id, 1, "a" + id, tag));
    h.timers.advance(std::chrono::milliseconds(600));
    for (char key : std::string("9999#")) {
      h.receive(request("INFO", id, cseq, "k" + std::to_string(cseq), tag,
                        "Content-Type: application/dtmf\r\n", std::string(1, key)));
      ++cseq;
    }
    h.timers.advance(std::chrono::milliseconds(10));
  }
  // The second wrong PIN closed the entry: that caller, asked again, is sent away at once.
  const auto byeTo = [&](const std::string& callId) {
    return std::any_of(h.wire.requests.begin(), h.wire.requests.end(), [&](const auto& r) {
      return r.first.method == "BYE" && r.first.callId() == callId;
    });
  };
  EXPECT_FALSE(byeTo("spread0"));
  EXPECT_TRUE(byeTo("spread1"));
  // A third address, with the right PIN even: PIN entry is closed, a prompt and BYE.
  h.source.remote = {boost::asio::ip::make_address("127.0.1.9"), 5070};
  h.receive(request("INVITE", "right", 1, "ir", {}, {}, kOfferPcmu));
  ASSERT_EQ(h.lastStatus(), 200);
  h.receive(request("ACK", "right", 1, "ar", h.lastResponse().to()->tag()));
  h.timers.advance(std::chrono::milliseconds(700));
  EXPECT_TRUE(byeTo("right"));
  EXPECT_EQ(h.uas().abuseCounters().roomsLocked, 1u);
  // Five minutes later it opens again.
  h.timers.advance(std::chrono::minutes(5));
  h.receive(request("INVITE", "later", 1, "il", {}, {}, kOfferPcmu));
  const std::string tag = h.lastResponse().to()->tag();
  h.receive(request("ACK", "later", 1, "al", tag));
  h.timers.advance(std::chrono::milliseconds(600));
  for (char key : std::string("1234#")) {
    h.receive(request("INFO", "later", cseq, "k" + std::to_string(cseq), tag,
                      "Content-Type: application/dtmf\r\n", std::string(1, key)));
    ++cseq;
  }
  h.timers.advance(std::chrono::milliseconds(10));
  EXPECT_EQ(h.uas().callsIn("1000").size(), 1u);
}

// Rooms "a" and "b" of one tenant that may have 2 participants at once across its rooms.
class TenantRooms final : public policy::RoomSource {
 public:
  std::optional<policy::Room> find(std::string_view user, std::string_view) const override {
    policy::Room room{std::string(user), std::string(user)};
    room.key = room.id + "@t";
    room.tenantId = 7;
    room.tenantMaxParticipants = 2;
    return room;
  }
  std::optional<policy::Role> checkPin(const policy::Room&, std::string_view) const override {
    return policy::Role::kParticipant;
  }
};

TEST(UasAbuse, ATenantsParticipantLimitCountsAcrossItsRooms) {
  TenantRooms rooms;
  UasHarness h({}, transport::Protocol::kUdp, std::chrono::seconds(60), &rooms);
  h.receive(request("INVITE", "t1", 1, "i1", {}, {}, kOfferPcmu, "sip:a@127.0.0.1"));
  EXPECT_EQ(h.lastStatus(), 200);
  h.receive(request("INVITE", "t2", 1, "i2", {}, {}, kOfferPcmu, "sip:b@127.0.0.1"));
  EXPECT_EQ(h.lastStatus(), 200);
  h.receive(request("INVITE", "t3", 1, "i3", {}, {}, kOfferPcmu, "sip:b@127.0.0.1"));
  EXPECT_EQ(h.lastStatus(), 486);
  ASSERT_NE(h.lastResponse().header("Warning"), nullptr);
  EXPECT_NE(h.lastResponse().header("Warning")->find("limit"), std::string::npos);
  // One leaves: there is room again.
  h.receive(request("BYE", "t1", 2, "b1", h.wire.responses[0].first.to()->tag(), {}, {},
                    "sip:a@127.0.0.1"));
  h.timers.advance(std::chrono::milliseconds(1));
  h.receive(request("INVITE", "t4", 1, "i4", {}, {}, kOfferPcmu, "sip:b@127.0.0.1"));
  EXPECT_EQ(h.lastStatus(), 200);
}

}  // namespace confab::test
