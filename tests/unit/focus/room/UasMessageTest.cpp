// In-room text (RFC 3428 MESSAGE) through the real focus: a participant's page reaches everyone
// else in the conference, and nothing else gets through.
#include <gtest/gtest.h>

#include <set>

#include "tests/unit/focus/room/UasHarness.hpp"

namespace confab::test {
namespace {

using std::chrono::milliseconds;

std::string message(const std::string& callId, unsigned cseq, const std::string& branch,
                    const std::string& toTag, const std::string& type, const std::string& body,
                    const std::string& from = {}) {
  std::string m = request("MESSAGE", callId, cseq, branch, toTag);
  // request() writes no body for MESSAGE: put ours in, with its type.
  m = m.substr(0, m.find("Content-Length:"));
  if (!from.empty()) {
    const auto start = m.find("From: ");
    const auto end = m.find("\r\n", start);
    m.replace(start, end - start, "From: " + from);
  }
  m += "Content-Type: " + type + "\r\n";
  m += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return m;
}

// The MESSAGEs the focus sent, with the Call-ID of the dialog each went in.
std::vector<std::pair<std::string, std::string>> relayed(const UasHarness& h) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [m, to] : h.wire.requests) {
    if (m.method == "MESSAGE") {
      out.emplace_back(m.callId(), m.body);
    }
  }
  return out;
}

TEST(UasMessage, APageInTheCallReachesEveryoneElse) {
  UasHarness h;
  const std::string a = callIn(h, "ma");
  callIn(h, "mb");
  callIn(h, "mc");
  h.receive(message("ma", 2, "m1", a, "text/plain", "hello all"));
  ASSERT_EQ(h.lastStatus(), 202);
  auto sent = relayed(h);
  ASSERT_EQ(sent.size(), 2u);
  std::set<std::string> to{sent[0].first, sent[1].first};
  EXPECT_EQ(to, (std::set<std::string>{"mb", "mc"})) << "not back to the sender";
  EXPECT_EQ(sent[0].second, "Tester: hello all");
}

TEST(UasMessage, APageToTheRoomUriFromAParticipantIsRelayedTooButNotFromAStranger) {
  UasHarness h;
  callIn(h, "na");
  callIn(h, "nb");
  h.receive(message("page1", 1, "p1", {}, "text/plain", "from outside the dialog"));
  ASSERT_EQ(h.lastStatus(), 202);
  EXPECT_EQ(relayed(h).size(), 1u) << "to the participant's other call only";
  h.receive(message("page2", 1, "p2", {}, "text/plain", "let me in",
                    "<sip:mallory@127.0.0.1>;tag=m"));
  EXPECT_EQ(h.lastStatus(), 403);
  EXPECT_EQ(relayed(h).size(), 1u);
}

TEST(UasMessage, OnlyShortPlainTextIsRelayed) {
  UasHarness h;
  const std::string a = callIn(h, "oa");
  callIn(h, "ob");
  h.receive(message("oa", 2, "o1", a, "text/html", "<b>hi</b>"));
  EXPECT_EQ(h.lastStatus(), 415);
  EXPECT_EQ(*h.lastResponse().header("Accept"), "text/plain");
  h.receive(message("oa", 3, "o2", a, "text/plain", std::string(1001, 'x')));
  EXPECT_EQ(h.lastStatus(), 413);
  h.receive(message("oa", 4, "o3", a, "text/plain", {}));
  EXPECT_EQ(h.lastStatus(), 400);
  EXPECT_TRUE(relayed(h).empty());
}

}  // namespace
}  // namespace confab::test
