// RFC 4579 conference control through the real focus: the conference factory, REFER to dial
// someone in (with the RFC 3515 sipfrag reports) or to remove them, and the dial-out itself:
// ringing, answer, busy, redirect, challenge.
#include <gtest/gtest.h>

#include "focus/room/Referral.hpp"
#include "tests/unit/focus/room/UasHarness.hpp"

namespace confab::test {
namespace {

using std::chrono::milliseconds;

room::UasSettings withFactory() {
  room::UasSettings settings;
  settings.factoryUser = "conference";
  return settings;
}

std::string from(std::string text, const std::string& user) {
  const auto start = text.find("From: ");
  const auto end = text.find("\r\n", start);
  text.replace(start, end - start,
               "From: \"" + user + "\" <sip:" + user + "@127.0.0.1:5070>;tag=t-" + user);
  return text;
}

// The requests the focus sent with this method, oldest first (retransmissions skipped).
std::vector<std::pair<sip::Message, transport::Destination>> sent(const UasHarness& h,
                                                                  const std::string& method) {
  std::vector<std::pair<sip::Message, transport::Destination>> out;
  for (const auto& [m, to] : h.wire.requests) {
    if (m.method == method &&
        (out.empty() || out.back().first.topVia()->branch() != m.topVia()->branch())) {
      out.emplace_back(m, to);
    }
  }
  return out;
}

void answer(UasHarness& h,
            const sip::Message& request,
            int status,
            const std::string& tag = {},
            const std::string& extra = {},
            const std::string& body = {}) {
  sip::Message r = sip::makeResponse(request, status, {}, tag.empty() ? request.to()->tag() : tag);
  if (!extra.empty()) {
    const auto colon = extra.find(':');
    r.add(extra.substr(0, colon), extra.substr(colon + 2));
  }
  if (!body.empty()) {
    r.add("Content-Type", "application/sdp");
    r.body = body;
  }
  h.receive(r.serialize());
}

std::string refer(const std::string& callId,
                  unsigned cseq,
                  const std::string& branch,
                  const std::string& toTag,
                  const std::string& referTo,
                  const std::string& ruri = "sip:1000@127.0.0.1:5060") {
  return request("REFER", callId, cseq, branch, toTag, "Refer-To: " + referTo + "\r\n", {}, ruri);
}

const char* kAnswer =
    "v=0\r\n"
    "o=bob 1 1 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 7000 RTP/AVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=sendrecv\r\n";

// A moderator in a new ad-hoc conference: INVITE to the factory, answered and ACKed.
struct Moderator {
  std::string tag;
  std::string room;  // the conference's user part, from our Contact
};

Moderator createConference(UasHarness& h, const std::string& callId) {
  h.receive(request("INVITE", callId, 1, "i" + callId, {}, {}, kOfferPcmu,
                    "sip:conference@127.0.0.1:5060"));
  EXPECT_EQ(h.lastStatus(), 200);
  Moderator m;
  m.tag = h.lastResponse().to()->tag();
  const std::string contact = *h.lastResponse().header("Contact");
  const auto start = contact.find("sip:") + 4;
  m.room = contact.substr(start, contact.find('@') - start);
  h.receive(request("ACK", callId, 1, "a" + callId, m.tag));
  return m;
}

TEST(ConferenceFactory, AnInviteToTheFactoryMakesANewConferenceNamedInContact) {
  UasHarness h(withFactory());
  const Moderator m = createConference(h, "f1");
  ASSERT_EQ(m.room.rfind("adhoc-", 0), 0u) << m.room;
  const auto* conference = h.uas().conferences().find(m.room);
  ASSERT_NE(conference, nullptr);
  ASSERT_EQ(conference->participants.size(), 1u);
  EXPECT_EQ(conference->participants[0].role, policy::Role::kModerator) << "its creator";
  // Someone else joins it by its URI.
  h.receive(
      request("INVITE", "f1b", 1, "if1b", {}, {}, kOfferPcmu, "sip:" + m.room + "@127.0.0.1:5060"));
  EXPECT_EQ(h.lastStatus(), 200);
  EXPECT_EQ(h.uas().conferences().find(m.room)->participants.size(), 2u);
  const std::string tagB = h.lastResponse().to()->tag();
  // A second factory call is a second conference.
  const Moderator other = createConference(h, "f2");
  EXPECT_NE(other.room, m.room);
  // When everyone has left, the ad-hoc conference is gone with its URI.
  h.receive(request("BYE", "f1", 2, "bf1", m.tag));
  h.receive(request("BYE", "f1b", 2, "bf1b", tagB));
  h.timers.advance(milliseconds(1));
  EXPECT_EQ(h.uas().conferences().find(m.room), nullptr);
  h.receive(
      request("INVITE", "f1c", 1, "if1c", {}, {}, kOfferPcmu, "sip:" + m.room + "@127.0.0.1:5060"));
  EXPECT_EQ(h.lastStatus(), 404);
}

TEST(Refer, AModeratorDialsSomeoneInAndHearsHowItGoes) {
  UasHarness h(withFactory());
  const Moderator m = createConference(h, "r1");
  h.receive(refer("r1", 2, "ref1", m.tag, "<sip:bob@127.0.0.1:5090>"));
  ASSERT_EQ(h.lastStatus(), 202);
  // RFC 3515 §2.4.4: the first NOTIFY says it began, in the REFER's dialog.
  auto notifies = sent(h, "NOTIFY");
  ASSERT_EQ(notifies.size(), 1u);
  EXPECT_EQ(notifies[0].first.callId(), "r1");
  EXPECT_EQ(*notifies[0].first.header("Event"), "refer;id=2");
  EXPECT_EQ(*notifies[0].first.header("Content-Type"), "message/sipfrag;version=2.0");
  EXPECT_EQ(notifies[0].first.body, "SIP/2.0 100 Trying\r\n");
  // The dial-out: our offer, from the conference, to bob's address.
  auto invites = sent(h, "INVITE");
  ASSERT_EQ(invites.size(), 1u);
  const sip::Message& invite = invites[0].first;
  EXPECT_EQ(invite.requestUri.str(), "sip:bob@127.0.0.1:5090");
  EXPECT_EQ(invites[0].second.port, 5090);
  EXPECT_NE(invite.from()->uri.str().find(m.room), std::string::npos);
  EXPECT_NE(invite.header("Contact")->find(";isfocus"), std::string::npos);
  EXPECT_NE(invite.header("Referred-By"), nullptr);
  EXPECT_EQ(invite.contentType(), "application/sdp");
  const auto* dialing = h.uas().conferences().find(m.room);
  ASSERT_EQ(dialing->participants.size(), 2u);
  EXPECT_EQ(dialing->participants[1].status, conference::EndpointStatus::kDialingOut);
  EXPECT_EQ(dialing->participants[1].joining, conference::JoiningMethod::kDialedOut);

  answer(h, notifies[0].first, 200);
  answer(h, invite, 180, "bobtag");
  EXPECT_EQ(h.uas().conferences().find(m.room)->participants[1].status,
            conference::EndpointStatus::kAlerting);
  notifies = sent(h, "NOTIFY");
  ASSERT_EQ(notifies.size(), 2u);
  EXPECT_EQ(notifies[1].first.body, "SIP/2.0 180 Ringing\r\n");
  answer(h, notifies[1].first, 200);
  answer(h, invite, 200, "bobtag", "Contact: <sip:bob@127.0.0.1:5090>", kAnswer);
  // Their 2xx is ACKed, and bob is in the conference.
  ASSERT_EQ(sent(h, "ACK").size(), 1u);
  EXPECT_EQ(sent(h, "ACK")[0].first.requestUri.str(), "sip:bob@127.0.0.1:5090");
  const auto* in = h.uas().conferences().find(m.room);
  ASSERT_EQ(in->participants.size(), 2u);
  EXPECT_EQ(in->participants[1].status, conference::EndpointStatus::kConnected);
  EXPECT_EQ(in->participants[1].media.codec, "PCMU/8000");
  EXPECT_EQ(h.uas().callCount(), 2u);
  notifies = sent(h, "NOTIFY");
  ASSERT_EQ(notifies.size(), 3u);
  EXPECT_EQ(notifies[2].first.body, "SIP/2.0 200 OK\r\n");
  EXPECT_EQ(*notifies[2].first.header("Subscription-State"), "terminated;reason=noresource");
  h.timers.advance(milliseconds(1));
  EXPECT_EQ(h.uas().dialOutCount(), 0u);

  // Bob hangs up, in the dialog the focus made (his tag, ours in his To).
  std::string bye = "BYE sip:" + m.room +
                    "@127.0.0.1:5060 SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKbye1\r\n"
                    "Max-Forwards: 70\r\n"
                    "From: <sip:bob@127.0.0.1:5090>;tag=bobtag\r\n"
                    "To: " +
                    *invite.header("From") +
                    "\r\n"
                    "Call-ID: " +
                    invite.callId() +
                    "\r\n"
                    "CSeq: 1 BYE\r\n"
                    "Content-Length: 0\r\n\r\n";
  h.receive(bye);
  EXPECT_EQ(h.lastStatus(), 200);
  h.timers.advance(milliseconds(1));
  EXPECT_EQ(h.uas().conferences().find(m.room)->participants.size(), 1u);
}

TEST(Refer, ABusyOrUnreachablePartyIsReportedAndLeaves) {
  UasHarness h(withFactory());
  const Moderator m = createConference(h, "r2");
  h.receive(refer("r2", 2, "ref2", m.tag, "<sip:carol@127.0.0.1:5091>"));
  ASSERT_EQ(h.lastStatus(), 202);
  answer(h, sent(h, "NOTIFY")[0].first, 200);
  answer(h, sent(h, "INVITE")[0].first, 486, "caroltag");
  auto notifies = sent(h, "NOTIFY");
  ASSERT_EQ(notifies.size(), 2u);
  EXPECT_EQ(notifies[1].first.body, "SIP/2.0 486 Busy Here\r\n");
  EXPECT_EQ(h.uas().conferences().find(m.room)->participants.size(), 1u);
  h.timers.advance(milliseconds(1));
  EXPECT_EQ(h.uas().dialOutCount(), 0u);
}

TEST(Refer, ARedirectIsFollowedAndAChallengeAnswered) {
  UasHarness h(withFactory());
  int asked = 0;
  std::string askedFor;
  h.uas().useDialOutAccounts([&](const policy::Room& room) {
    ++asked;
    askedFor = room.key;
    return std::optional<auth::Credentials>(auth::Credentials{"bridge", "pw", ""});
  });
  const Moderator m = createConference(h, "r3");
  h.receive(refer("r3", 2, "ref3", m.tag, "<sip:dave@127.0.0.1:5092>"));
  answer(h, sent(h, "NOTIFY")[0].first, 200);
  answer(h, sent(h, "INVITE")[0].first, 302, "x",
         "Contact: <sip:dave-desk@127.0.0.1:5093;transport=tcp>");
  auto invites = sent(h, "INVITE");
  ASSERT_EQ(invites.size(), 2u);
  EXPECT_EQ(invites[1].first.requestUri.str(), "sip:dave-desk@127.0.0.1:5093;transport=tcp");
  EXPECT_EQ(invites[1].second.protocol, transport::Protocol::kTcp);
  answer(h, invites[1].first, 407, "y", "Proxy-Authenticate: Digest realm=\"x\", nonce=\"n\"");
  invites = sent(h, "INVITE");
  ASSERT_EQ(invites.size(), 3u);
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(askedFor, m.room) << "the account is asked for the conference's room";
  EXPECT_EQ(invites[2].first.callId(), invites[1].first.callId());
  EXPECT_EQ(invites[2].first.cseq()->number, invites[1].first.cseq()->number + 1);
  const auto* authorization = invites[2].first.header("Proxy-Authorization");
  ASSERT_NE(authorization, nullptr);
  EXPECT_NE(authorization->find("username=\"bridge\""), std::string::npos) << *authorization;
  EXPECT_NE(authorization->find("nonce=\"n\""), std::string::npos) << *authorization;
  // The same nonce refused again is not answered again: the call fails with the 407.
  answer(h, invites[2].first, 407, "z", "Proxy-Authenticate: Digest realm=\"x\", nonce=\"n\"");
  EXPECT_EQ(sent(h, "INVITE").size(), 3u) << "a wrong password does not loop";
}

TEST(Refer, ADialOutTheTransportCannotSendFailsAndIsReported) {
  UasHarness h(withFactory());
  const Moderator m = createConference(h, "r9");
  h.receive(refer("r9", 2, "ref9", m.tag, "<sip:frank@127.0.0.1:5094;transport=tcp>"));
  answer(h, sent(h, "NOTIFY")[0].first, 200);
  const sip::Message invite = sent(h, "INVITE")[0].first;
  h.layer().transportFailed(invite.topVia()->branch(), "INVITE", "connection refused");
  auto notifies = sent(h, "NOTIFY");
  ASSERT_EQ(notifies.size(), 2u);
  EXPECT_EQ(notifies[1].first.body, "SIP/2.0 503 Service Unavailable\r\n");
  EXPECT_EQ(h.uas().conferences().find(m.room)->participants.size(), 1u) << "frank left, failed";
}

TEST(Refer, ByeRemovesTheParticipantItNames) {
  UasHarness h(withFactory());
  const Moderator m = createConference(h, "r4");
  h.receive(from(
      request("INVITE", "r4b", 1, "ir4b", {}, {}, kOfferPcmu, "sip:" + m.room + "@127.0.0.1:5060"),
      "erin"));
  ASSERT_EQ(h.lastStatus(), 200);
  h.receive(refer("r4", 2, "ref4", m.tag, "<sip:nobody@127.0.0.1;method=BYE>"));
  EXPECT_EQ(h.lastStatus(), 404) << "nobody by that address";
  h.receive(refer("r4", 3, "ref4b", m.tag, "<sip:erin@127.0.0.1:5070;method=BYE>"));
  ASSERT_EQ(h.lastStatus(), 202);
  auto byes = sent(h, "BYE");
  ASSERT_EQ(byes.size(), 1u);
  EXPECT_EQ(byes[0].first.callId(), "r4b");
  answer(h, byes[0].first, 200);
  h.timers.advance(milliseconds(1));
  const auto* conference = h.uas().conferences().find(m.room);
  ASSERT_EQ(conference->participants.size(), 1u);
  EXPECT_EQ(conference->participants[0].entity, "sip:tester@127.0.0.1:5070");
}

TEST(Refer, RefusedForNonModeratorsAndBadReferTo) {
  UasHarness h(withFactory());
  h.receive(request("INVITE", "r5", 1, "ir5", {}, {}, kOfferPcmu));
  const std::string tag = h.lastResponse().to()->tag();
  h.receive(refer("r5", 2, "ref5", tag, "<sip:bob@127.0.0.1:5090>"));
  EXPECT_EQ(h.lastStatus(), 403) << "a participant, not a moderator";
  EXPECT_TRUE(sent(h, "INVITE").empty());

  const Moderator m = createConference(h, "r6");
  h.receive(refer("r6", 2, "ref6", m.tag, "<http://example.com/>"));
  EXPECT_EQ(h.lastStatus(), 400);
  EXPECT_NE(h.lastResponse().header("Warning")->find("sip:"), std::string::npos);
  h.receive(refer("r6", 3, "ref6b", m.tag, "<sip:bob@127.0.0.1;method=REGISTER>"));
  EXPECT_EQ(h.lastStatus(), 400);
  h.receive(request("REFER", "r6", 4, "ref6c", m.tag));
  EXPECT_EQ(h.lastStatus(), 400) << "no Refer-To";
  // Out of any dialog, from someone who is not in the conference.
  h.receive(from(
      refer("r7", 1, "ref7", {}, "<sip:bob@127.0.0.1:5090>", "sip:" + m.room + "@127.0.0.1:5060"),
      "mallory"));
  EXPECT_EQ(h.lastStatus(), 403);
  EXPECT_TRUE(sent(h, "INVITE").empty());
}

TEST(Refer, ARoomMayLetEveryParticipantInvite) {
  UasHarness h;
  policy::Room open{"3000", "Open", 0};
  open.key = "3000";
  open.participantsInvite = true;
  h.rooms.put(open);
  h.receive(request("INVITE", "r8", 1, "ir8", {}, {}, kOfferPcmu, "sip:3000@127.0.0.1:5060"));
  ASSERT_EQ(h.lastStatus(), 200);
  const std::string tag = h.lastResponse().to()->tag();
  h.receive(refer("r8", 2, "ref8", tag, "<sip:bob@127.0.0.1:5090>"));
  EXPECT_EQ(h.lastStatus(), 202) << "the room's rule: participants invite";
  EXPECT_EQ(sent(h, "INVITE").size(), 1u);
}

TEST(Refer, ADialOutCannotPassTheRoomsLimit) {
  UasHarness h;
  policy::Room small{"3001", "Small", 2};
  small.key = "3001";
  small.participantsInvite = true;
  h.rooms.put(small);
  h.receive(request("INVITE", "r10", 1, "ir10", {}, {}, kOfferPcmu, "sip:3001@127.0.0.1:5060"));
  const std::string tag = h.lastResponse().to()->tag();
  h.receive(refer("r10", 2, "ref10", tag, "<sip:bob@127.0.0.1:5090>"));
  EXPECT_EQ(sent(h, "INVITE").size(), 1u) << "the second place";
  h.receive(refer("r10", 3, "ref10b", tag, "<sip:carol@127.0.0.1:5091>"));
  ASSERT_EQ(h.lastStatus(), 202);
  EXPECT_EQ(sent(h, "INVITE").size(), 1u) << "no third: the room holds 2";
  // Answer every report so far (each REFER's NOTIFYs go one at a time).
  for (std::size_t answered = 0; answered < sent(h, "NOTIFY").size(); ++answered) {
    answer(h, sent(h, "NOTIFY")[answered].first, 200);
  }
  bool full = false;
  for (const auto& [n, to] : sent(h, "NOTIFY")) {
    full = full || n.body == "SIP/2.0 486 the conference is full\r\n";
  }
  EXPECT_TRUE(full) << "the referrer is told why";
  // Each refused REFER's report is kept until its NOTIFY is answered, and no longer.
  for (unsigned i = 0; i < 8; ++i) {
    h.receive(refer("r10", 4 + i, "ref10-" + std::to_string(i), tag, "<sip:dan@127.0.0.1:5092>"));
    ASSERT_EQ(h.lastStatus(), 202);
    answer(h, sent(h, "NOTIFY").back().first, 200);  // 100 Trying; then the 486 goes
    const auto notifies = sent(h, "NOTIFY");
    ASSERT_EQ(notifies.back().first.body, "SIP/2.0 486 the conference is full\r\n");
    answer(h, notifies.back().first, 200);
  }
  EXPECT_LE(h.uas().referReportsKept(), 1u) << "finished reports are swept";
}

TEST(ReferTo, ParsesTargetAndMethodAndDropsEmbeddedHeaders) {
  auto plain = room::parseReferTo("<sip:bob@example.com>");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->method, room::Referral::Method::kInvite);
  auto bye = room::parseReferTo("\"Bob\" <sip:bob@example.com;method=BYE?Call-ID=x>;p=1");
  ASSERT_TRUE(bye);
  EXPECT_EQ(bye->method, room::Referral::Method::kBye);
  EXPECT_EQ(bye->target.str(), "sip:bob@example.com");
  auto injected = room::parseReferTo("<sip:bob@example.com?Route=%3Csip:evil%3E&Subject=x>");
  ASSERT_TRUE(injected);
  EXPECT_TRUE(injected->target.headers.empty());
  EXPECT_FALSE(room::parseReferTo("tel:+15551234"));
  EXPECT_FALSE(room::parseReferTo("<sip:bob@example.com;method=MESSAGE>"));
  EXPECT_FALSE(room::parseReferTo("<<sip:"));
  EXPECT_FALSE(room::parseReferTo(""));
  EXPECT_EQ(room::sipfrag(180, "Ringing\r\nX: y"), "SIP/2.0 180 Ringing  X: y\r\n");
}

}  // namespace
}  // namespace confab::test
