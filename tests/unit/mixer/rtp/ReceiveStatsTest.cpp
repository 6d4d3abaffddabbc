// RFC 3550 Appendix A.1/A.3/A.8 receive statistics: probation, loss, reordering, wrap,
// restarts and jitter.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

#include "mixer/rtp/ReceiveStats.hpp"

namespace confab::rtp {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kSamplesPerPacket = 160;  // 20 ms at 8 kHz

using Verdict = ReceiveStats::Verdict;

// Feeds packet `seq` with a constant 1000-unit transit time; true when it is to be played.
bool feed(ReceiveStats& s, uint16_t seq, uint32_t extraDelay = 0) {
  const uint32_t ts = uint32_t{seq} * kSamplesPerPacket;
  return s.onPacket(seq, ts, ts + 1000 + extraDelay) == Verdict::kAccept;
}

TEST(ReceiveStats, ProbationThenInOrder) {
  ReceiveStats s(0x1234);
  EXPECT_FALSE(feed(s, 1000));  // first packet: probation
  EXPECT_FALSE(s.valid());
  EXPECT_TRUE(feed(s, 1001));  // MIN_SEQUENTIAL = 2 in sequence
  EXPECT_TRUE(s.valid());
  for (uint16_t seq = 1002; seq < 1100; ++seq) {
    EXPECT_TRUE(feed(s, seq));
  }
  EXPECT_EQ(s.extendedHighestSequence(), 1099U);
  EXPECT_EQ(s.expected(), 99U);  // counting starts at the packet that ended probation
  EXPECT_EQ(s.received(), 99U);
  EXPECT_EQ(s.cumulativeLost(), 0);
  const ReportBlock r = s.makeReportBlock(std::chrono::steady_clock::time_point{});
  EXPECT_EQ(r.ssrc, 0x1234U);
  EXPECT_EQ(r.fractionLost, 0);
  EXPECT_EQ(r.cumulativeLost, 0);
  EXPECT_EQ(r.extendedHighestSequence, 1099U);
  EXPECT_EQ(r.jitter, 0U);
  EXPECT_EQ(r.lastSenderReport, 0U);
  EXPECT_EQ(r.delaySinceLastSenderReport, 0U);
}

TEST(ReceiveStats, AVettedSourceCountsFromItsFirstPacket) {
  // The media endpoint latched strictly: no A.1 probation, the first packet is played and counted.
  ReceiveStats s(0x1234, 8000, false);
  EXPECT_TRUE(feed(s, 1000));
  EXPECT_TRUE(s.valid());
  EXPECT_TRUE(feed(s, 1001));
  EXPECT_EQ(s.expected(), 2U);
  EXPECT_EQ(s.received(), 2U);
  EXPECT_EQ(s.cumulativeLost(), 0);
  s.reset(0x5678);  // a new SSRC is vetted the same way
  EXPECT_TRUE(feed(s, 7));
}

TEST(ReceiveStats, ProbationRestartsOnAGap) {
  ReceiveStats s;
  EXPECT_FALSE(feed(s, 10));
  EXPECT_FALSE(feed(s, 12));  // not in sequence: probation starts over
  EXPECT_FALSE(s.valid());
  EXPECT_TRUE(feed(s, 13));
  EXPECT_TRUE(s.valid());
}

TEST(ReceiveStats, FiveLostInAHundred) {
  ReceiveStats s;
  for (uint16_t seq = 0; seq <= 100; ++seq) {
    if (seq == 10 || seq == 30 || seq == 50 || seq == 70 || seq == 90) {
      continue;
    }
    feed(s, seq);
  }
  // Counting starts at seq 1: 100 expected, 95 received.
  EXPECT_EQ(s.expected(), 100U);
  EXPECT_EQ(s.received(), 95U);
  EXPECT_EQ(s.cumulativeLost(), 5);
  const ReportBlock r = s.makeReportBlock({});
  // 5/100 * 256 = 12.8, truncated: about 5 %.
  EXPECT_EQ(r.fractionLost, 12);
  EXPECT_EQ(r.cumulativeLost, 5);

  // Next interval: no loss, so fraction 0 while the cumulative count stays.
  for (uint16_t seq = 101; seq <= 150; ++seq) {
    feed(s, seq);
  }
  const ReportBlock next = s.makeReportBlock({});
  EXPECT_EQ(next.fractionLost, 0);
  EXPECT_EQ(next.cumulativeLost, 5);
  EXPECT_EQ(next.extendedHighestSequence, 150U);
}

TEST(ReceiveStats, ReorderingWithinMisorderIsNotLoss) {
  ReceiveStats s;
  for (uint16_t seq = 1; seq <= 50; ++seq) {
    feed(s, seq);
  }
  // 60 overtakes 51..59, which then arrive late.
  EXPECT_TRUE(feed(s, 60));
  for (uint16_t seq = 51; seq <= 59; ++seq) {
    EXPECT_TRUE(feed(s, seq));
  }
  for (uint16_t seq = 61; seq <= 100; ++seq) {
    feed(s, seq);
  }
  EXPECT_EQ(s.extendedHighestSequence(), 100U);
  EXPECT_EQ(s.cumulativeLost(), 0);
  EXPECT_EQ(s.makeReportBlock({}).fractionLost, 0);
}

TEST(ReceiveStats, DuplicatesMakeLossNegative) {
  ReceiveStats s;
  for (uint16_t seq = 1; seq <= 10; ++seq) {
    feed(s, seq);
  }
  feed(s, 9);
  feed(s, 10);
  EXPECT_EQ(s.cumulativeLost(), -2);
  const ReportBlock r = s.makeReportBlock({});
  EXPECT_EQ(r.cumulativeLost, -2);
  EXPECT_EQ(r.fractionLost, 0);  // A.3: a negative interval loss reports 0
}

TEST(ReceiveStats, SequenceWrap) {
  ReceiveStats s;
  uint16_t seq = 65530;
  uint32_t ts = 5000;  // the timestamp goes on while the sequence number wraps
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(s.onPacket(seq, ts, ts + 1000) == Verdict::kAccept, i > 0) << i;
    ++seq;  // wraps 65535 -> 0
    ts += kSamplesPerPacket;
  }
  // Valid from 65531; the last packet is 65530 + 19 = 65549 = 1 cycle + 13.
  EXPECT_EQ(s.extendedHighestSequence(), 65536U + 13U);
  EXPECT_EQ(s.expected(), 19U);
  EXPECT_EQ(s.cumulativeLost(), 0);
}

TEST(ReceiveStats, ProbationAcrossTheWrap) {
  // A.1's `seq == max_seq + 1` done in int would miss 65535 -> 0.
  ReceiveStats s;
  EXPECT_FALSE(feed(s, 65535));
  EXPECT_TRUE(feed(s, 0));
  EXPECT_EQ(s.extendedHighestSequence(), 0U);
  EXPECT_TRUE(feed(s, 1));
  EXPECT_EQ(s.expected(), 2U);
}

TEST(ReceiveStats, BigJumpRestartsAfterTwoInSequence) {
  ReceiveStats s;
  for (uint16_t seq = 1; seq <= 100; ++seq) {
    feed(s, seq);
  }
  // The sender restarted with the same SSRC: a jump of ~40000 is refused once...
  EXPECT_FALSE(feed(s, 40000));
  EXPECT_EQ(s.extendedHighestSequence(), 100U);
  // ...and believed when the next packet follows it: statistics restart there.
  EXPECT_TRUE(feed(s, 40001));
  EXPECT_EQ(s.extendedHighestSequence(), 40001U);
  EXPECT_EQ(s.expected(), 1U);
  EXPECT_EQ(s.received(), 1U);
  EXPECT_TRUE(feed(s, 40002));
  EXPECT_EQ(s.cumulativeLost(), 0);
}

TEST(ReceiveStats, StrayJumpIsIgnored) {
  ReceiveStats s;
  for (uint16_t seq = 1; seq <= 100; ++seq) {
    feed(s, seq);
  }
  EXPECT_FALSE(feed(s, 30000));  // one stray packet
  EXPECT_TRUE(feed(s, 101));     // the stream goes on
  EXPECT_EQ(s.extendedHighestSequence(), 101U);
  EXPECT_EQ(s.cumulativeLost(), 0);
  // A very old packet (more than MAX_MISORDER behind, within MAX_DROPOUT... of the other side)
  // is also a "bad" jump, not loss.
  EXPECT_FALSE(feed(s, static_cast<uint16_t>(101 - 200)));
}

TEST(ReceiveStats, NewSsrcStartsOnProbation) {
  ReceiveStats s(1);
  for (uint16_t seq = 1; seq <= 100; ++seq) {
    feed(s, seq);
  }
  s.reset(2);
  EXPECT_EQ(s.ssrc(), 2U);
  EXPECT_FALSE(s.valid());
  EXPECT_FALSE(feed(s, 5000));
  EXPECT_TRUE(feed(s, 5001));
  EXPECT_EQ(s.expected(), 1U);
}

TEST(ReceiveStats, JitterZeroForConstantDelay) {
  ReceiveStats s;
  for (uint16_t seq = 1; seq <= 200; ++seq) {
    feed(s, seq);
  }
  EXPECT_EQ(s.jitter(), 0U);
}

TEST(ReceiveStats, JitterGrowsWithAlternatingDelay) {
  ReceiveStats s;
  for (uint16_t seq = 1; seq <= 500; ++seq) {
    // Every other packet 80 units (10 ms at 8 kHz) late: |D| is 80 each time.
    feed(s, seq, (seq % 2) * 80U);
  }
  // A.8's estimator converges on |D|.
  EXPECT_GT(s.jitter(), 70U);
  EXPECT_LE(s.jitter(), 80U);
  EXPECT_EQ(s.makeReportBlock({}).jitter, s.jitter());
}

TEST(ReceiveStats, JitterSurvivesTimestampWrap) {
  ReceiveStats s;
  uint32_t ts = 0xFFFFFF00U;
  for (uint16_t seq = 1; seq <= 50; ++seq) {
    s.onPacket(seq, ts, ts + 12345);
    ts += kSamplesPerPacket;
  }
  EXPECT_EQ(s.jitter(), 0U);
}

TEST(ReceiveStats, LastSenderReportAndDelay) {
  ReceiveStats s;
  feed(s, 1);
  feed(s, 2);
  const std::chrono::steady_clock::time_point t0{10s};
  s.onSenderReport(0xe85b1a2c4ccccccdULL, t0);
  const ReportBlock r = s.makeReportBlock(t0 + 1500ms);
  EXPECT_EQ(r.lastSenderReport, 0x1a2c4cccU);
  EXPECT_EQ(r.delaySinceLastSenderReport, 0x18000U);
}

// A talker at 8 kHz, 20 ms packets, arriving in real time; packets from elsewhere can be fed with
// any sequence number and timestamp at the current arrival time.
struct Talker {
  ReceiveStats stats{0x1234, 8000};
  uint16_t seq = 7000;
  uint32_t ts = 123456;
  uint32_t now = 999000;  // arrival clock, in the same units

  Verdict next() {
    const Verdict v = stats.onPacket(seq++, ts, now);
    ts += kSamplesPerPacket;
    now += kSamplesPerPacket;
    return v;
  }
  Verdict stray(uint16_t s, uint32_t t) { return stats.onPacket(s, t, now); }
};

TEST(ReceiveStats, RandomStrayPacketsNeverReachTheMixNorDisturbTheTalker) {
  // The attack from issue 10 item 17: the talker's SSRC, from the talker's (forged) address,
  // random sequence numbers and timestamps, between every packet of the talker.
  Talker t;
  ASSERT_EQ(t.next(), Verdict::kProbation);
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto random32 = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<uint32_t>(state >> 11);
  };
  int talkerPlayed = 0;
  int strayPlayed = 0;
  for (int i = 0; i < 20000; ++i) {
    talkerPlayed += t.next() == Verdict::kAccept ? 1 : 0;
    for (int k = 0; k < 3; ++k) {
      strayPlayed += t.stray(static_cast<uint16_t>(random32()), random32()) == Verdict::kAccept;
    }
  }
  EXPECT_EQ(talkerPlayed, 20000) << "every packet of the talker is played";
  EXPECT_EQ(strayPlayed, 0) << "of 60000 stray packets";
  EXPECT_EQ(t.stats.cumulativeLost(), 0);
}

TEST(ReceiveStats, AStrayInSequenceButOutOfTimeIsRefused) {
  Talker t;
  for (int i = 0; i < 10; ++i) {
    t.next();
  }
  // The next sequence number with a timestamp an hour ahead, and one an hour behind.
  EXPECT_EQ(t.stray(t.seq, t.ts + 8000 * 3600), Verdict::kTimestampJump);
  EXPECT_EQ(t.stray(t.seq, t.ts - 8000 * 3600), Verdict::kTimestampJump);
  EXPECT_EQ(t.next(), Verdict::kAccept);
  EXPECT_EQ(t.stats.extendedHighestSequence(), t.seq - 1U);
}

TEST(ReceiveStats, SilenceDtmfAndReorderingPassTheTimeline) {
  Talker t;
  for (int i = 0; i < 10; ++i) {
    t.next();
  }
  // A minute of silence (RFC 3389, DTX): the timestamp advances with real time.
  t.ts += 8000 * 60;
  t.now += 8000 * 60;
  EXPECT_EQ(t.next(), Verdict::kAccept);
  // An RFC 4733 event: 3 s of packets, all stamped with the event's start...
  const uint32_t start = t.ts;
  for (int i = 0; i < 150; ++i) {
    EXPECT_EQ(t.stats.onPacket(t.seq++, start, t.now), Verdict::kAccept);
    t.now += kSamplesPerPacket;
    t.ts += kSamplesPerPacket;
  }
  // ...then audio again, 3 s later in timestamp than the last event packet.
  EXPECT_EQ(t.next(), Verdict::kAccept);
  // A sender that stopped without advancing its clock (a hold it did not stamp) goes on.
  t.now += 8000 * 30;
  EXPECT_EQ(t.next(), Verdict::kAccept);
  // Reordered by 5 packets: 100 ms behind in timestamp.
  const uint16_t late = t.seq;
  const uint32_t lateTs = t.ts;
  t.seq += 5;
  t.ts += 5 * kSamplesPerPacket;
  EXPECT_EQ(t.next(), Verdict::kAccept);
  EXPECT_EQ(t.stats.onPacket(late, lateTs, t.now), Verdict::kAccept);
  // A sender clock 0.1 % fast for an hour (3.6 s ahead by the end) stays believed.
  int played = 0;
  for (int i = 0; i < 180000; ++i) {
    played += t.next() == Verdict::kAccept ? 1 : 0;
    t.ts += (i % 1000 == 0) ? 160 : 0;  // 160 units per 1000 packets: 0.1 %
  }
  EXPECT_EQ(played, 180000);
}

TEST(ReceiveStats, ARestartedTimelineIsBelievedOnTheNextPacket) {
  Talker t;
  for (int i = 0; i < 10; ++i) {
    t.next();
  }
  // The sender's timestamps start again elsewhere, the sequence goes on (a phone whose media
  // engine restarted): refused once, believed on the packet that follows it.
  t.ts += 0x40000000;
  EXPECT_EQ(t.next(), Verdict::kTimestampJump);
  EXPECT_EQ(t.next(), Verdict::kAccept);
  EXPECT_EQ(t.next(), Verdict::kAccept);
  // A sequence jump must also follow in time to be believed.
  t.seq += 30000;
  EXPECT_EQ(t.next(), Verdict::kSequenceJump);
  EXPECT_EQ(t.stray(t.seq, t.ts + 8000 * 100), Verdict::kSequenceJump);
  EXPECT_EQ(t.stats.extendedHighestSequence() & 0xFFFF, uint32_t{uint16_t(t.seq - 30002)});
}

}  // namespace
}  // namespace confab::rtp
