// The rooms' event packages through the real focus (UAS, transaction layer, conference model,
// notifier) with time moved by hand: SUBSCRIBE, the NOTIFYs a watcher gets as people come and
// go, refresh, expiry, unsubscribe, and what is refused.
#include <gtest/gtest.h>

#include <string>

#include "focus/room/Capabilities.hpp"
#include "tests/unit/focus/room/UasHarness.hpp"

namespace confab::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string subscribe(const std::string& callId,
                      unsigned cseq,
                      const std::string& branch,
                      const std::string& event,
                      const std::string& more = {},
                      const std::string& toTag = {},
                      const std::string& ruri = "sip:1000@127.0.0.1:5060") {
  return request("SUBSCRIBE", callId, cseq, branch, toTag, "Event: " + event + "\r\n" + more, {},
                 ruri);
}

// The NOTIFYs sent so far, oldest first (a retransmission is not another).
std::vector<sip::Message> notifies(const UasHarness& h) {
  std::vector<sip::Message> out;
  for (const auto& [m, to] : h.wire.requests) {
    if (m.method == "NOTIFY" &&
        (out.empty() || out.back().cseq()->number != m.cseq()->number)) {
      out.push_back(m);
    }
  }
  return out;
}

// The subscriber's answer to one of our requests.
void answer(UasHarness& h, const sip::Message& request, int status) {
  h.receive(sip::makeResponse(request, status, {}, request.to()->tag()).serialize());
}

bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

std::string subscriptionState(const sip::Message& notify) {
  const std::string* value = notify.header("Subscription-State");
  return value != nullptr ? *value : std::string();
}

TEST(ConferencePackage, SubscribeGetsOkThenTheWholeStateAtOnce) {
  UasHarness h;
  h.receive(subscribe("w1", 1, "s1", "conference", "Expires: 600\r\n"));
  ASSERT_EQ(h.lastStatus(), 200);
  EXPECT_EQ(*h.lastResponse().header("Expires"), "600");
  EXPECT_TRUE(has(*h.lastResponse().header("Contact"), ";isfocus")) << "RFC 4579 §5";
  auto sent = notifies(h);
  ASSERT_EQ(sent.size(), 1u);
  const sip::Message& n = sent[0];
  EXPECT_EQ(*n.header("Event"), "conference");
  EXPECT_EQ(subscriptionState(n), "active;expires=600");
  EXPECT_EQ(n.contentType(), "application/conference-info+xml");
  EXPECT_EQ(n.to()->tag(), "peer-w1") << "the NOTIFY is in the subscription's dialog";
  EXPECT_TRUE(has(n.body, "state=\"full\" version=\"1\""));
  EXPECT_TRUE(has(n.body, "entity=\"sip:1000@127.0.0.1:5060\""));
  EXPECT_TRUE(has(n.body, "<user-count>0</user-count>"));
  EXPECT_TRUE(has(n.body, "<display-text>Room 1000</display-text>"));
  EXPECT_EQ(h.uas().notifier().count(), 1u);
}

TEST(ConferencePackage, JoinsAndLeavesArePartialsWithVersionsInOrderThenTerminated) {
  UasHarness h;
  h.receive(subscribe("w2", 1, "s2", "conference"));
  ASSERT_EQ(notifies(h).size(), 1u);
  answer(h, notifies(h).back(), 200);

  h.receive(request("INVITE", "c2", 1, "i2", {}, {}, kOfferPcmu));
  const std::string tag = h.lastResponse().to()->tag();
  ASSERT_EQ(notifies(h).size(), 2u);
  auto joined = notifies(h).back();
  EXPECT_TRUE(has(joined.body, "state=\"partial\" version=\"2\""));
  EXPECT_TRUE(has(joined.body, "<user entity=\"sip:tester@127.0.0.1:5070\" state=\"full\">"));
  EXPECT_TRUE(has(joined.body, "<display-text>Tester</display-text>"));
  EXPECT_TRUE(has(joined.body, "<status>dialing-in</status>"));
  EXPECT_TRUE(has(joined.body, "<joining-method>dialed-in</joining-method>"));
  answer(h, joined, 200);

  h.receive(request("ACK", "c2", 1, "a2", tag));
  ASSERT_EQ(notifies(h).size(), 3u);
  auto connected = notifies(h).back();
  EXPECT_TRUE(has(connected.body, "version=\"3\""));
  EXPECT_TRUE(has(connected.body, "<status>connected</status>"));
  EXPECT_TRUE(has(connected.body, "<user-count>1</user-count>"));
  EXPECT_TRUE(has(connected.body, "<status>sendrecv</status>"));
  answer(h, connected, 200);

  h.receive(request("BYE", "c2", 2, "b2", tag));
  h.timers.advance(milliseconds(1));
  auto left = notifies(h);
  ASSERT_EQ(left.size(), 4u);
  EXPECT_TRUE(has(left.back().body, "version=\"4\""));
  EXPECT_TRUE(has(left.back().body, "<status>disconnected</status>"));
  EXPECT_TRUE(has(left.back().body, "<disconnection-method>departed</disconnection-method>"));
  EXPECT_TRUE(has(left.back().body, "<user-count>0</user-count>"));
  answer(h, left.back(), 200);

  // The conference is over: so is the subscription (RFC 6665 reason noresource).
  auto ended = notifies(h);
  ASSERT_EQ(ended.size(), 5u);
  EXPECT_EQ(subscriptionState(ended.back()), "terminated;reason=noresource");
  EXPECT_TRUE(has(ended.back().body, "state=\"full\" version=\"5\""));
  answer(h, ended.back(), 200);
  EXPECT_EQ(h.uas().notifier().count(), 0u);
}

TEST(ConferencePackage, ChangesWhileANotifyIsOutstandingComeAsOneWholeState) {
  UasHarness h;
  h.receive(subscribe("w3", 1, "s3", "conference"));
  callIn(h, "c3a");
  callIn(h, "c3b");
  // Only the first NOTIFY is out: one at a time in a dialog (RFC 6665 §4.2.2).
  ASSERT_EQ(notifies(h).size(), 1u);
  answer(h, notifies(h).back(), 200);
  auto sent = notifies(h);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(has(sent.back().body, "state=\"full\" version=\"2\""));
  EXPECT_TRUE(has(sent.back().body, "<user-count>2</user-count>"));
}

TEST(ConferencePackage, MuteAndLockShowAsTheyHappen) {
  UasHarness h;
  callIn(h, "c4");
  h.receive(subscribe("w4", 1, "s4", "conference"));
  answer(h, notifies(h).back(), 200);
  const auto* conference = h.uas().conferences().find("1000");
  ASSERT_NE(conference, nullptr);
  ASSERT_EQ(conference->participants.size(), 1u);
  const std::string id = conference->participants[0].id;
  conference::Controls muted;
  muted.muted = true;
  ASSERT_TRUE(h.uas().conferences().setControls(id, muted));
  auto n = notifies(h).back();
  EXPECT_TRUE(has(n.body, "<status>muted-via-focus</status>"));
  EXPECT_TRUE(has(n.body, "<status>recvonly</status>")) << "they hear, they are not heard";
  EXPECT_TRUE(h.uas().callOf(id)->controls().muted) << "the call's media follows the model";
  answer(h, n, 200);
  ASSERT_TRUE(h.uas().conferences().setLocked("1000", true));
  n = notifies(h).back();
  EXPECT_TRUE(has(n.body, "<locked>true</locked>"));
  EXPECT_FALSE(has(n.body, "<users")) << "a lock changes the conference state only";
}

TEST(ConferencePackage, RefreshGetsTheStateAgainAndExpiresZeroEndsIt) {
  UasHarness h;
  h.receive(subscribe("w5", 1, "s5", "conference", "Expires: 120\r\n"));
  const std::string tag = h.lastResponse().to()->tag();
  answer(h, notifies(h).back(), 200);
  h.receive(subscribe("w5", 2, "s5b", "conference", "Expires: 300\r\n", tag));
  ASSERT_EQ(h.lastStatus(), 200);
  EXPECT_EQ(*h.lastResponse().header("Expires"), "300");
  ASSERT_EQ(notifies(h).size(), 2u);
  EXPECT_EQ(subscriptionState(notifies(h).back()), "active;expires=300");
  EXPECT_TRUE(has(notifies(h).back().body, "state=\"full\" version=\"2\""));
  answer(h, notifies(h).back(), 200);
  h.receive(subscribe("w5", 3, "s5c", "conference", "Expires: 0\r\n", tag));
  ASSERT_EQ(h.lastStatus(), 200);
  ASSERT_EQ(notifies(h).size(), 3u);
  EXPECT_EQ(subscriptionState(notifies(h).back()), "terminated;reason=timeout");
  answer(h, notifies(h).back(), 200);
  EXPECT_EQ(h.uas().notifier().count(), 0u);
  // The dialog is gone with it.
  h.receive(subscribe("w5", 4, "s5d", "conference", "Expires: 300\r\n", tag));
  EXPECT_EQ(h.lastStatus(), 481);
}

TEST(ConferencePackage, ASubscriptionNotRefreshedExpires) {
  UasHarness h;
  h.receive(subscribe("w6", 1, "s6", "conference", "Expires: 60\r\n"));
  answer(h, notifies(h).back(), 200);
  h.timers.advance(seconds(59));
  EXPECT_EQ(notifies(h).size(), 1u);
  h.timers.advance(seconds(2));
  ASSERT_EQ(notifies(h).size(), 2u);
  EXPECT_EQ(subscriptionState(notifies(h).back()), "terminated;reason=timeout");
}

TEST(ConferencePackage, ANotifyRefusedOrUnansweredDropsTheSubscriber) {
  UasHarness h;
  h.receive(subscribe("w7", 1, "s7", "conference"));
  answer(h, notifies(h).back(), 481);
  EXPECT_EQ(h.uas().notifier().count(), 0u);
  callIn(h, "c7");
  EXPECT_EQ(notifies(h).size(), 1u) << "nothing more to a dropped subscriber";

  h.receive(subscribe("w7b", 1, "s7b", "conference"));
  EXPECT_EQ(h.uas().notifier().count(), 1u);
  // No answer at all: Timer F (64*T1) is a 408 (RFC 6665 §4.2.2).
  h.timers.advance(seconds(33));
  EXPECT_EQ(h.uas().notifier().count(), 0u);
}

TEST(ConferencePackage, ANotifyTheTransportCannotDeliverDropsTheSubscriber) {
  UasHarness h;
  h.receive(subscribe("w12", 1, "s12", "conference"));
  ASSERT_EQ(h.uas().notifier().count(), 1u);
  // The subscriber's TCP connection is gone, say: RFC 3261 §18.4, a 503 to the transaction.
  const sip::Message notify = notifies(h).back();
  h.layer().transportFailed(notify.topVia()->branch(), "NOTIFY", "connection reset");
  EXPECT_EQ(h.uas().notifier().count(), 0u);
}

TEST(ConferencePackage, ShortExpiresIs423WithMinExpires) {
  UasHarness h;
  h.receive(subscribe("w8", 1, "s8", "conference", "Expires: 5\r\n"));
  ASSERT_EQ(h.lastStatus(), 423);
  EXPECT_EQ(*h.lastResponse().header("Min-Expires"), "60");
  EXPECT_TRUE(notifies(h).empty());
}

TEST(EventPackages, UnknownPackageIs489WithTheOnesWeServe) {
  UasHarness h;
  h.receive(subscribe("w9", 1, "s9", "message-summary"));
  ASSERT_EQ(h.lastStatus(), 489);
  EXPECT_EQ(h.lastResponse().headers("Allow-Events"),
            (std::vector<std::string_view>{"conference", "presence", "dialog"}));
  h.receive(request("SUBSCRIBE", "w9b", 1, "s9b"));
  EXPECT_EQ(h.lastStatus(), 400) << "no Event header";
  h.receive(subscribe("w9c", 1, "s9c", "conference", {}, {}, "sip:4711@127.0.0.1:5060"));
  EXPECT_EQ(h.lastStatus(), 404) << "no such room";
  EXPECT_EQ(h.uas().notifier().count(), 0u);
}

TEST(EventPackages, AFloodOfSubscribesFromOneAddressIsRefused) {
  UasHarness h;
  std::size_t refused = 0;
  for (int i = 0; i < 60; ++i) {
    const std::string id = "f" + std::to_string(i);
    h.receive(subscribe(id, 1, "b" + id, "presence"));
    refused += h.lastStatus() == 503 ? 1U : 0U;
  }
  EXPECT_GT(refused, 0u);
  EXPECT_LE(h.uas().notifier().count(), 32u) << "the per-address cap";
  EXPECT_TRUE(h.lastResponse().hasHeader("Retry-After"));
}

TEST(EventPackages, ARoomWithAPinShowsItsRosterOnlyToItsParticipants) {
  UasHarness h;
  policy::Room secret{"2000", "Board", 0};
  secret.participantPin = true;
  h.rooms.put(secret);
  h.receive(subscribe("w10", 1, "s10", "conference", {}, {}, "sip:2000@127.0.0.1:5060"));
  ASSERT_EQ(h.lastStatus(), 403);
  EXPECT_TRUE(has(*h.lastResponse().header("Warning"), "participants"));
  // Presence (in use or not) is not the roster: anyone may see it.
  h.receive(subscribe("w10b", 1, "s10b", "presence", {}, {}, "sip:2000@127.0.0.1:5060"));
  EXPECT_EQ(h.lastStatus(), 200);
}

TEST(EventPackages, APinRoomWithAPublicRosterShowsItToAnyone) {
  UasHarness h;
  policy::Room lobbyScreen{"2001", "Town hall", 0};
  lobbyScreen.participantPin = true;
  lobbyScreen.publicRoster = true;
  h.rooms.put(lobbyScreen);
  h.receive(subscribe("w11", 1, "s11", "conference", {}, {}, "sip:2001@127.0.0.1:5060"));
  EXPECT_EQ(h.lastStatus(), 200);
}

TEST(PresencePackage, OpenWithTheCountWhileInUseClosedWhenEmpty) {
  UasHarness h;
  h.receive(subscribe("p1", 1, "sp1", "presence"));
  ASSERT_EQ(h.lastStatus(), 200);
  auto n = notifies(h).back();
  EXPECT_EQ(n.contentType(), "application/pidf+xml");
  EXPECT_TRUE(has(n.body, "<basic>closed</basic>"));
  answer(h, n, 200);
  const std::string tag = callIn(h, "cp1");
  n = notifies(h).back();
  EXPECT_TRUE(has(n.body, "<basic>open</basic>"));
  EXPECT_TRUE(has(n.body, "1 participant"));
  answer(h, n, 200);
  const std::size_t before = notifies(h).size();
  h.receive(request("BYE", "cp1", 2, "bp1", tag));
  h.timers.advance(milliseconds(1));
  ASSERT_EQ(notifies(h).size(), before + 1) << "one NOTIFY for the room going empty";
  EXPECT_TRUE(has(notifies(h).back().body, "<basic>closed</basic>"));
  EXPECT_EQ(subscriptionState(notifies(h).back()).rfind("active", 0), 0u)
      << "presence outlives a conference";
}

TEST(DialogPackage, TheRoomIsOneConfirmedDialogWhileInUse) {
  UasHarness h;
  h.receive(subscribe("d1", 1, "sd1", "dialog"));
  auto n = notifies(h).back();
  EXPECT_EQ(n.contentType(), "application/dialog-info+xml");
  EXPECT_TRUE(has(n.body, "version=\"0\" state=\"full\""));
  EXPECT_FALSE(has(n.body, "<dialog "));
  answer(h, n, 200);
  callIn(h, "cd1");
  n = notifies(h).back();
  EXPECT_TRUE(has(n.body, "version=\"1\""));
  EXPECT_TRUE(has(n.body, "<state>confirmed</state>"));
}

}  // namespace
}  // namespace confab::test
