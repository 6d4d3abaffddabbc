// When a new SSRC from the latched address takes the stream over: the rule of
// mixer/rtp/SourceChange.hpp with time injected, packet by packet.
#include <gtest/gtest.h>

#include "mixer/rtp/SourceChange.hpp"

namespace confab::rtp {
namespace {

using std::chrono::milliseconds;
using TimePoint = SourceChange::TimePoint;

class SourceChangeTest : public ::testing::Test {
 protected:
  // The current source sends one packet every 20 ms from t0 for 'packets' packets.
  void current(int packets) {
    for (int i = 0; i < packets; ++i) {
      change.onCurrent(now);
      now += milliseconds(20);
    }
  }
  SourceChange change;
  TimePoint now = TimePoint{} + std::chrono::hours(1);
};

TEST_F(SourceChangeTest, ANewSourceTakesOverOnItsThirdPacketOnceTheOldOneStopped) {
  current(50);
  // The phone restarts: the old SSRC stops, a new one begins 20 ms later.
  EXPECT_FALSE(change.onOther(0xBEEF, 7000, now));
  now += milliseconds(20);
  EXPECT_FALSE(change.onOther(0xBEEF, 7001, now));
  now += milliseconds(20);
  EXPECT_TRUE(change.onOther(0xBEEF, 7002, now)) << "3 in sequence, 60 ms since the old one";
}

TEST_F(SourceChangeTest, StrayPacketsOfAnotherSsrcNeverTakeOver) {
  current(5);
  // Single packets of random SSRCs and sequence numbers, however long the old source is quiet.
  for (uint32_t i = 0; i < 100; ++i) {
    EXPECT_FALSE(change.onOther(0x1000 + i, static_cast<uint16_t>(i * 7919), now));
    now += milliseconds(20);
  }
  // One SSRC, but not in sequence.
  for (int seq : {10, 12, 14, 9, 20, 22}) {
    EXPECT_FALSE(change.onOther(0xABC, static_cast<uint16_t>(seq), now)) << seq;
    now += milliseconds(20);
  }
}

TEST_F(SourceChangeTest, TwoLiveSourcesOnOneAddressLeaveTheCurrentOnePlayed) {
  current(5);
  // A forger (or a confused phone) interleaves a second SSRC in sequence with the real stream.
  for (uint16_t i = 0; i < 200; ++i) {
    change.onCurrent(now);
    now += milliseconds(10);
    EXPECT_FALSE(change.onOther(0xF00D, static_cast<uint16_t>(500 + i), now)) << i;
    now += milliseconds(10);
  }
}

TEST_F(SourceChangeTest, ANewSourceWaitsUntilTheOldOneHasBeenQuietFor60Ms) {
  current(5);
  // The new source starts right as the old one sends its last packets.
  EXPECT_FALSE(change.onOther(0x77, 1, now));
  change.onCurrent(now);
  now += milliseconds(20);
  EXPECT_FALSE(change.onOther(0x77, 2, now));
  now += milliseconds(20);
  EXPECT_FALSE(change.onOther(0x77, 3, now)) << "the old source spoke 40 ms ago";
  now += milliseconds(20);
  EXPECT_TRUE(change.onOther(0x77, 4, now));
  // After the switch the new source is current: the caller calls onCurrent for it from now on,
  // and the old SSRC coming back is another change, under the same rule.
  change.onCurrent(now);
  now += milliseconds(20);
  EXPECT_FALSE(change.onOther(0x11, 100, now));
}

}  // namespace
}  // namespace confab::rtp
