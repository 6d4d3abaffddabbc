// The way in over the UAS with injected time: the lobby asks for the meeting number (keys by SIP
// INFO here; RFC 4733 keys take the same path from the mixer), a right number takes the caller
// into the room, unanswered questions end the call, and a DTMF INFO that cannot be read is 400.
#include <gtest/gtest.h>

#include "tests/unit/focus/room/UasHarness.hpp"

namespace confab::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string toTagOf(const sip::Message& response) { return response.to()->tag(); }

room::UasSettings withLobby() {
  room::UasSettings settings;
  settings.lobbyUser = "lobby";
  return settings;  // no sounds folder: every prompt is skipped, the questions still asked
}

std::string keyInfo(const std::string& callId,
                    unsigned cseq,
                    const std::string& toTag,
                    char key,
                    const std::string& type = "application/dtmf-relay") {
  const std::string body = type == "application/dtmf"
                               ? std::string(1, key)
                               : "Signal=" + std::string(1, key) + "\r\nDuration=160\r\n";
  return request("INFO", callId, cseq, "k" + std::to_string(cseq), toTag,
                 "Content-Type: " + type + "\r\n", body, "sip:lobby@127.0.0.1:5060");
}

TEST(UasEntry, TheLobbyTakesTheMeetingNumberAndPutsTheCallerInTheRoom) {
  UasHarness h(withLobby());
  h.receive(request("INVITE", "l1", 1, "i1", {}, {}, kOfferPcmu, "sip:lobby@127.0.0.1:5060"));
  ASSERT_EQ(h.lastStatus(), 200);
  const std::string tag = toTagOf(h.lastResponse());
  h.receive(request("ACK", "l1", 1, "a1", tag, {}, {}, "sip:lobby@127.0.0.1:5060"));
  h.timers.advance(milliseconds(600));  // the first question
  const room::Call* call = h.uas().findCall("l1");
  ASSERT_NE(call, nullptr);
  EXPECT_EQ(call->stage(), room::Call::Stage::kEntering);
  EXPECT_TRUE(h.uas().callsIn("1000").empty()) << "not in the room while in the lobby";
  unsigned cseq = 2;
  for (char key : std::string("1000#")) {
    h.receive(keyInfo("l1", cseq++, tag, key,
                      key == '#' ? "application/dtmf" : "application/dtmf-relay"));
    EXPECT_EQ(h.lastStatus(), 200);
  }
  h.timers.advance(milliseconds(10));
  EXPECT_EQ(call->stage(), room::Call::Stage::kIn);
  EXPECT_EQ(call->roomId(), "1000");
  ASSERT_EQ(h.uas().callsIn("1000").size(), 1u);
  EXPECT_TRUE(h.uas().mixOf("1000").has_value());
  EXPECT_TRUE(h.wire.requests.empty()) << "no BYE";
}

TEST(UasEntry, AnUnknownMeetingNumberThreeTimesEndsTheCall) {
  UasHarness h(withLobby());
  h.receive(request("INVITE", "l2", 1, "i1", {}, {}, kOfferPcmu, "sip:lobby@127.0.0.1:5060"));
  const std::string tag = toTagOf(h.lastResponse());
  h.receive(request("ACK", "l2", 1, "a1", tag, {}, {}, "sip:lobby@127.0.0.1:5060"));
  h.timers.advance(milliseconds(600));
  unsigned cseq = 2;
  for (int attempt = 0; attempt < 3; ++attempt) {
    EXPECT_TRUE(h.wire.requests.empty()) << "BYE before the third wrong answer";
    for (char key : std::string("999#")) {
      h.receive(keyInfo("l2", cseq++, tag, key));
    }
    h.timers.advance(milliseconds(10));
  }
  h.timers.advance(milliseconds(10));
  ASSERT_EQ(h.wire.requests.size(), 1u);
  EXPECT_EQ(h.wire.requests[0].first.method, "BYE");
  EXPECT_TRUE(h.uas().callsIn("1000").empty());
}

TEST(UasEntry, SilenceCountsAsAWrongAnswer) {
  UasHarness h(withLobby());
  h.receive(request("INVITE", "l3", 1, "i1", {}, {}, kOfferPcmu, "sip:lobby@127.0.0.1:5060"));
  const std::string tag = toTagOf(h.lastResponse());
  h.receive(request("ACK", "l3", 1, "a1", tag, {}, {}, "sip:lobby@127.0.0.1:5060"));
  h.timers.advance(milliseconds(600));
  h.timers.advance(seconds(25));
  EXPECT_TRUE(h.wire.requests.empty()) << "two unanswered questions leave one more try";
  h.timers.advance(seconds(6));
  ASSERT_GE(h.wire.requests.size(), 1u);  // the BYE, and its retransmissions (no answer here)
  for (const auto& [sent, to] : h.wire.requests) {
    EXPECT_EQ(sent.method, "BYE");
  }
}

TEST(UasEntry, ADtmfInfoThatCannotBeReadIs400NamingWhy) {
  UasHarness h(withLobby());
  h.receive(request("INVITE", "l4", 1, "i1", {}, {}, kOfferPcmu, "sip:lobby@127.0.0.1:5060"));
  const std::string tag = toTagOf(h.lastResponse());
  h.receive(request("ACK", "l4", 1, "a1", tag, {}, {}, "sip:lobby@127.0.0.1:5060"));
  h.receive(request("INFO", "l4", 2, "k2", tag, "Content-Type: application/dtmf-relay\r\n",
                    "Duration=160\r\n", "sip:lobby@127.0.0.1:5060"));
  EXPECT_EQ(h.lastStatus(), 400);
  EXPECT_NE(h.lastResponse().reason.find("Signal"), std::string::npos) << h.lastResponse().reason;
  // Other INFO bodies are still accepted as before (RFC 6086 §9 legacy use).
  h.receive(request("INFO", "l4", 3, "k3", tag, "Content-Type: text/plain\r\n", "hello",
                    "sip:lobby@127.0.0.1:5060"));
  EXPECT_EQ(h.lastStatus(), 200);
}

}  // namespace
}  // namespace confab::test
