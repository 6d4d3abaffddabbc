// A stop's wait for the answers to what it sent (issue 14 item 2), through the real UAS and
// transaction layer on manual time: the BYEs go out, and the stop ends when the last is
// answered, or at its bound when a peer never answers.
#include <gtest/gtest.h>

#include <optional>

#include "focus/Drain.hpp"
#include "tests/unit/focus/room/UasHarness.hpp"

namespace confab::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Stop {
  explicit Stop(UasHarness& h) : drain(h.timers, [&h] { return h.layer().awaitingAnswers(); }) {}
  void start(milliseconds bound) {
    drain.start(bound, [this](std::size_t unanswered) {
      ++calls;
      left = unanswered;
    });
  }
  Drain drain;
  int calls = 0;
  std::optional<std::size_t> left;
};

std::vector<sip::Message> sent(const UasHarness& h, const std::string& method) {
  std::vector<sip::Message> out;
  for (const auto& [m, to] : h.wire.requests) {
    if (m.method == method) {
      out.push_back(m);
    }
  }
  return out;
}

TEST(Drain, WithNoCallsTheStopEndsAtOnce) {
  UasHarness h;
  Stop stop(h);
  h.uas().hangUpAll();
  stop.start(seconds(5));
  EXPECT_EQ(stop.calls, 1);
  EXPECT_EQ(stop.left, 0u);
}

TEST(Drain, TheStopEndsWhenTheLastByeIsAnsweredNotBefore) {
  UasHarness h;
  callIn(h, "d1");
  callIn(h, "d2");
  Stop stop(h);
  h.uas().hangUpAll();
  stop.start(seconds(5));
  const auto byes = sent(h, "BYE");
  ASSERT_EQ(byes.size(), 2u);
  h.timers.advance(milliseconds(300));
  EXPECT_EQ(stop.calls, 0);
  h.receive(answerTo(byes[0], 200));
  h.timers.advance(milliseconds(100));
  EXPECT_EQ(stop.calls, 0) << "one BYE is still unanswered";
  // 481 is a final answer too (the peer had already forgotten the call).
  h.receive(answerTo(byes[1], 481));
  h.timers.advance(milliseconds(10));
  EXPECT_EQ(stop.calls, 1);
  EXPECT_EQ(stop.left, 0u);
  // The answered transactions linger for retransmissions (Timer K): they do not hold the stop.
  EXPECT_GT(h.layer().clientTransactions(), 0u);
  h.timers.advance(seconds(10));
  EXPECT_EQ(stop.calls, 1) << "done is called once";
}

TEST(Drain, APeerThatNeverAnswersHoldsTheStopOnlyUntilTheBound) {
  UasHarness h;
  callIn(h, "d3");
  Stop stop(h);
  h.uas().hangUpAll();
  stop.start(seconds(2));
  h.timers.advance(milliseconds(1990));
  EXPECT_EQ(stop.calls, 0);
  EXPECT_GT(sent(h, "BYE").size(), 1u) << "the BYE is retransmitted meanwhile (Timer E)";
  h.timers.advance(milliseconds(20));
  EXPECT_EQ(stop.calls, 1);
  EXPECT_EQ(stop.left, 1u);
}

TEST(Drain, ASecondStartWhileOneRunsIsIgnored) {
  UasHarness h;
  callIn(h, "d4");
  Stop stop(h);
  h.uas().hangUpAll();
  stop.start(seconds(2));
  stop.start(seconds(60));
  h.receive(answerTo(sent(h, "BYE").at(0), 200));
  h.timers.advance(milliseconds(10));
  EXPECT_EQ(stop.calls, 1);
}

}  // namespace
}  // namespace confab::test
