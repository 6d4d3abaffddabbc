#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "mixer/dsp/JitterBuffer.hpp"

namespace confab::dsp {
namespace {

using Outcome = JitterBuffer::Outcome;
constexpr uint32_t kFrame = 960;  // 20 ms at 48 kHz

// A small deterministic generator, so every run sees the same jitter.
class Lcg {
 public:
  explicit Lcg(uint32_t seed) : state_(seed) {}
  // Uniform in [low, high].
  int next(int low, int high) {
    state_ = state_ * 1664525U + 1013904223U;
    return low + static_cast<int>((state_ >> 8) % static_cast<uint32_t>(high - low + 1));
  }

 private:
  uint32_t state_;
};

std::array<uint8_t, 4> payloadFor(uint16_t sequence) {
  return {static_cast<uint8_t>(sequence >> 8), static_cast<uint8_t>(sequence), 0xAB, 0xCD};
}

uint16_t sequenceIn(std::span<const uint8_t> payload) {
  return static_cast<uint16_t>((payload[0] << 8) | payload[1]);
}

struct Played {
  std::vector<uint16_t> sequences;  // in playout order
  std::vector<Outcome> outcomes;
  uint32_t maxDelayMs = 0;
};

// Packet i is sent at 20 i ms and arrives baseMs + jitter later (jitter uniform in
// [-jitterMs, jitterMs]); the mixer ticks every 20 ms at an offset. Time advances in 1 ms steps.
Played simulate(JitterBuffer& buffer,
                int packets,
                int jitterMs,
                uint32_t seed,
                uint32_t firstTimestamp = 1000,
                int lossEvery = 0) {
  Lcg random(seed);
  struct InFlight {
    int arrivalMs;
    uint16_t sequence;
  };
  std::vector<InFlight> flight;
  for (int i = 0; i < packets; ++i) {
    if (lossEvery > 0 && i % lossEvery == lossEvery - 1) {
      continue;
    }
    flight.push_back(
        {20 * i + jitterMs + random.next(-jitterMs, jitterMs), static_cast<uint16_t>(i)});
  }
  std::stable_sort(flight.begin(), flight.end(),
                   [](const InFlight& a, const InFlight& b) { return a.arrivalMs < b.arrivalMs; });
  Played played;
  std::size_t next = 0;
  const int endMs = 20 * packets + 2 * jitterMs + 400;
  for (int now = 0; now < endMs; ++now) {
    while (next < flight.size() && flight[next].arrivalMs <= now) {
      const uint16_t seq = flight[next].sequence;
      buffer.put(seq, firstTimestamp + seq * kFrame, payloadFor(seq));
      ++next;
    }
    if (now % 20 == 7) {
      const auto frame = buffer.get();
      played.outcomes.push_back(frame.outcome);
      if (frame.outcome == Outcome::Packet) {
        EXPECT_EQ(sequenceIn(frame.payload), frame.sequence);
        EXPECT_EQ(frame.timestamp, firstTimestamp + frame.sequence * kFrame);
        played.sequences.push_back(frame.sequence);
      }
      played.maxDelayMs = std::max(played.maxDelayMs, buffer.targetDelayMs());
    }
  }
  return played;
}

bool consecutive(const std::vector<uint16_t>& sequences, int count) {
  if (sequences.size() != static_cast<std::size_t>(count)) {
    return false;
  }
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    if (sequences[i] != i) {
      return false;
    }
  }
  return true;
}

TEST(DspJitterBuffer, JitterOf15MsLosesNothing) {
  for (const uint32_t seed : {1U, 2U, 3U, 4U}) {
    JitterBuffer buffer;
    const Played played = simulate(buffer, 500, 15, seed);
    EXPECT_TRUE(consecutive(played.sequences, 500)) << "seed " << seed;
    EXPECT_EQ(buffer.stats().missing, 0U);
    EXPECT_EQ(buffer.stats().late, 0U);
    EXPECT_EQ(buffer.stats().played, 500U);
    EXPECT_LE(buffer.targetDelayMs(), 60U);
  }
}

TEST(DspJitterBuffer, ReorderedPacketsComeOutInOrder) {
  JitterBuffer buffer;
  // Each pair arrives swapped, two per tick.
  std::vector<uint16_t> sequences;
  for (uint16_t pair = 0; pair < 20; ++pair) {
    const auto first = static_cast<uint16_t>(2 * pair + 1);
    const auto second = static_cast<uint16_t>(2 * pair);
    buffer.put(first, first * kFrame, payloadFor(first));
    buffer.put(second, second * kFrame, payloadFor(second));
    for (int tick = 0; tick < 2; ++tick) {
      const auto frame = buffer.get();
      if (frame.outcome == Outcome::Packet) {
        sequences.push_back(frame.sequence);
      } else {
        EXPECT_EQ(frame.outcome, Outcome::Empty);  // the initial delay
      }
    }
  }
  for (int tick = 0; tick < 5; ++tick) {
    const auto frame = buffer.get();
    if (frame.outcome == Outcome::Packet) {
      sequences.push_back(frame.sequence);
    }
  }
  EXPECT_TRUE(consecutive(sequences, 40));
  EXPECT_EQ(buffer.stats().missing, 0U);
}

TEST(DspJitterBuffer, LostPacketIsMissingExactlyOnce) {
  JitterBuffer buffer;
  std::vector<JitterBuffer::Frame> frames;
  for (uint16_t seq = 0; seq < 30; ++seq) {
    if (seq != 7) {
      buffer.put(seq, 5000 + seq * kFrame, payloadFor(seq));
    }
    frames.push_back(buffer.get());
  }
  for (int tick = 0; tick < 5; ++tick) {
    frames.push_back(buffer.get());
  }
  int missing = 0;
  for (const auto& frame : frames) {
    if (frame.outcome == Outcome::Missing) {
      ++missing;
      EXPECT_EQ(frame.timestamp, 5000 + 7 * kFrame);
    }
  }
  EXPECT_EQ(missing, 1);
  EXPECT_EQ(buffer.stats().missing, 1U);
  EXPECT_EQ(buffer.stats().played, 29U);
}

TEST(DspJitterBuffer, LatePacketIsDroppedAndCounted) {
  JitterBuffer buffer;  // 40 ms initial delay: two frames
  std::vector<Outcome> outcomes;
  for (uint16_t seq = 0; seq < 30; ++seq) {
    if (seq != 5) {
      buffer.put(seq, seq * kFrame, payloadFor(seq));
    }
    if (seq == 9) {
      // Packet 5 shows up four frames after it was sent: its frame was due after two.
      EXPECT_FALSE(buffer.put(5, 5 * kFrame, payloadFor(5)));
    }
    outcomes.push_back(buffer.get().outcome);
  }
  EXPECT_EQ(buffer.stats().late, 1U);
  EXPECT_EQ(buffer.stats().missing, 1U);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), Outcome::Missing), 1);
  // Lateness makes the buffer deeper at once, by a hold (an inserted frame).
  EXPECT_EQ(buffer.stats().inserted, 2U);
  EXPECT_EQ(buffer.targetDelayMs(), 80U);
}

TEST(DspJitterBuffer, DelayGrowsUnderHeavyJitterAndThenStopsLosing) {
  JitterBuffer buffer;
  const uint32_t initial = buffer.targetDelayMs();
  const Played played = simulate(buffer, 1500, 45, 7);
  EXPECT_GT(buffer.targetDelayMs(), initial);
  EXPECT_LE(buffer.targetDelayMs(), 200U);
  EXPECT_GT(buffer.stats().late, 0U);
  // Lates happen while learning; the last half of the call loses almost nothing.
  const auto half =
      played.outcomes.begin() + static_cast<std::ptrdiff_t>(played.outcomes.size() / 2);
  EXPECT_LE(std::count(half, played.outcomes.end(), Outcome::Missing), 3);
  EXPECT_EQ(buffer.stats().played + buffer.stats().late + buffer.stats().shrinkDropped, 1500U);
}

TEST(DspJitterBuffer, DelayShrinksSlowlyWhenJitterGoesAway) {
  JitterBufferConfig config;
  config.initialDelayMs = 160;
  JitterBuffer buffer(config);
  simulate(buffer, 250, 0, 1);  // 5 s with no jitter at all
  EXPECT_LT(buffer.targetDelayMs(), 160U);
  EXPECT_GE(buffer.targetDelayMs(), 100U);  // one frame per 2 s at most
  EXPECT_EQ(buffer.stats().missing, 0U);
}

TEST(DspJitterBuffer, AFirstPacketLateAcrossATickDoesNotCostEveryLaterOneATick) {
  // At the minimum delay (one tick), every packet arrives just before a tick, except the first,
  // which came just after one: the buffer's time, set by that first packet, puts every later
  // packet a tick further back than it needs. Within a few seconds without jitter, the margins
  // must take that tick back.
  JitterBufferConfig config;
  config.initialDelayMs = 20;
  JitterBuffer buffer(config);
  ASSERT_EQ(buffer.get().outcome, Outcome::Empty);  // tick 0, before packet 0
  buffer.put(0, 0, payloadFor(0));                  // packet 0, late
  uint16_t lastPlayed = 0;
  int missing = 0;
  for (uint16_t k = 1; k < 300; ++k) {         // 6 s
    buffer.put(k, k * kFrame, payloadFor(k));  // just before tick k
    const auto frame = buffer.get();
    if (frame.outcome == Outcome::Packet) {
      lastPlayed = sequenceIn(frame.payload);
    }
    missing += frame.outcome == Outcome::Missing ? 1 : 0;
  }
  EXPECT_EQ(lastPlayed, 298) << "played one tick after it came, not two";
  EXPECT_EQ(buffer.targetDelayMs(), 20U);
  EXPECT_EQ(missing, 0);
  EXPECT_LE(buffer.stats().shrinkDropped, 1U) << "one frame given up for the tick, at most";
}

// A steady stream, each packet put 'untilTickMs' before the get() of its tick (0: not told), with
// minDelayMs 0. Returns how many ticks after its put the last packet was played.
struct ZeroFloorRun {
  int ticksAfterPut = -1;
  int missing = 0;
  uint32_t targetMs = 0;
};
ZeroFloorRun steadyStream(uint32_t untilTickMs, int ticks) {
  JitterBufferConfig config;
  config.minDelayMs = 0;
  JitterBuffer buffer(config);
  ZeroFloorRun run;
  std::map<uint16_t, int> putAt;
  for (int tick = 0; tick < ticks; ++tick) {
    const auto k = static_cast<uint16_t>(tick);
    buffer.put(k, k * kFrame, payloadFor(k), 0, 0, 0, untilTickMs * kFrame / 20);
    putAt[k] = tick;
    const auto frame = buffer.get();
    if (frame.outcome == Outcome::Packet) {
      run.ticksAfterPut = tick - putAt[sequenceIn(frame.payload)];
    }
    run.missing += frame.outcome == Outcome::Missing ? 1 : 0;
  }
  run.targetMs = buffer.targetDelayMs();
  return run;
}

TEST(DspJitterBuffer, AStreamWellBeforeTheTickIsPlayedWithoutAWholeTickOfDelay) {
  // Packets 10 ms before each tick: after the start-up (40 ms, down a tick per clean 2 s) each is
  // played at the very next tick.
  const ZeroFloorRun early = steadyStream(10, 350);
  EXPECT_EQ(early.ticksAfterPut, 0);
  EXPECT_EQ(early.targetMs, 0U);
  EXPECT_EQ(early.missing, 0);
  // 2 ms before the tick is under the 5 ms guard: one tick of delay stays.
  const ZeroFloorRun grazing = steadyStream(2, 350);
  EXPECT_EQ(grazing.ticksAfterPut, 1);
  EXPECT_EQ(grazing.missing, 0);
  // Not told when packets come: one tick, as before.
  const ZeroFloorRun unknown = steadyStream(0, 350);
  EXPECT_EQ(unknown.ticksAfterPut, 1);
  EXPECT_EQ(unknown.targetMs, 20U);
}

TEST(DspJitterBuffer, AtZeroDelayALatePacketBuysTheTickBackAtOnce) {
  JitterBufferConfig config;
  config.minDelayMs = 0;
  JitterBuffer buffer(config);
  uint16_t k = 0;
  auto tick = [&](bool late) {
    if (!late) {
      buffer.put(k, k * kFrame, payloadFor(k), 0, 0, 0, kFrame / 2);
    }
    const auto frame = buffer.get();
    if (late) {
      EXPECT_FALSE(buffer.put(k, k * kFrame, payloadFor(k), 0, 0, 0, kFrame - 1));
    }
    ++k;
    return frame;
  };
  for (int i = 0; i < 300; ++i) {
    tick(false);
  }
  ASSERT_EQ(buffer.targetDelayMs(), 0U);
  EXPECT_EQ(tick(true).outcome, Outcome::Empty) << "its tick went by without it";
  EXPECT_EQ(buffer.stats().late, 1U);
  EXPECT_EQ(tick(false).outcome, Outcome::Insert) << "the buffer deepens by the tick it missed";
  EXPECT_EQ(buffer.targetDelayMs(), 20U);
  int missing = 0;
  for (int i = 0; i < 50; ++i) {
    missing += tick(false).outcome == Outcome::Missing ? 1 : 0;
  }
  EXPECT_EQ(missing, 0);
}

TEST(DspJitterBuffer, NeverExceedsMaximumDelay) {
  JitterBuffer buffer;
  const Played played = simulate(buffer, 800, 150, 3);
  EXPECT_LE(played.maxDelayMs, 200U);
}

TEST(DspJitterBuffer, DuplicatesTooLargeAndTimestampWrap) {
  JitterBufferConfig config;
  config.maxPayload = 8;
  JitterBuffer buffer(config);
  const uint32_t start = 0xFFFFFFFFU - 3 * kFrame;  // wraps after three frames
  std::vector<uint16_t> sequences;
  for (uint16_t seq = 0; seq < 10; ++seq) {
    const uint32_t timestamp = start + seq * kFrame;
    EXPECT_TRUE(buffer.put(seq, timestamp, payloadFor(seq)));
    EXPECT_FALSE(buffer.put(seq, timestamp, payloadFor(seq)));
    const auto frame = buffer.get();
    if (frame.outcome == Outcome::Packet) {
      sequences.push_back(frame.sequence);
    }
  }
  const std::array<uint8_t, 9> big{};
  EXPECT_FALSE(buffer.put(10, start + 10 * kFrame, big));
  EXPECT_EQ(buffer.stats().duplicate, 10U);
  EXPECT_EQ(buffer.stats().tooLarge, 1U);
  EXPECT_TRUE(consecutive(sequences, 8));
}

TEST(DspJitterBuffer, TimestampJumpResyncs) {
  JitterBuffer buffer;
  for (uint16_t seq = 0; seq < 5; ++seq) {
    buffer.put(seq, seq * kFrame, payloadFor(seq));
    buffer.get();
  }
  // A new source (or a restart) with unrelated timestamps.
  EXPECT_TRUE(buffer.put(5, 0x80000000U, payloadFor(5)));
  EXPECT_EQ(buffer.stats().resyncs, 1U);
  EXPECT_EQ(buffer.get().outcome, Outcome::Empty);  // the initial delay again
  EXPECT_EQ(buffer.get().outcome, Outcome::Empty);
  EXPECT_EQ(buffer.get().outcome, Outcome::Packet);
}

TEST(DspJitterBuffer, EmptyBeforeFirstPacketAndDuringSilence) {
  JitterBuffer buffer;
  EXPECT_EQ(buffer.get().outcome, Outcome::Empty);
  buffer.put(0, 0, payloadFor(0));
  EXPECT_EQ(buffer.get().outcome, Outcome::Empty);
  EXPECT_EQ(buffer.get().outcome, Outcome::Empty);
  EXPECT_EQ(buffer.get().outcome, Outcome::Packet);
  // The sender stops (DTX): nothing buffered is not a loss.
  EXPECT_EQ(buffer.get().outcome, Outcome::Empty);
  EXPECT_EQ(buffer.stats().missing, 0U);
  EXPECT_THROW(JitterBuffer(JitterBufferConfig{.frameDuration = 0}), std::invalid_argument);
}

TEST(DspJitterBuffer, LongPacketsStandForTheirWholeDuration) {
  // 60 ms packets (three ticks each): each get() hands out one packet, a 60 ms piece of audio.
  JitterBuffer buffer;
  constexpr uint32_t k60 = 3 * kFrame;
  uint32_t played = 0;
  uint32_t held = 0;  // audio the caller holds, in timestamp units
  for (uint16_t seq = 0; seq < 40; ++seq) {
    buffer.put(seq, seq * k60, payloadFor(seq), k60);
    for (int tick = 0; tick < 3; ++tick) {
      while (held < kFrame) {
        const auto frame = buffer.get();
        EXPECT_NE(frame.outcome, Outcome::Missing);
        if (frame.outcome == Outcome::Packet) {
          EXPECT_EQ(frame.duration, k60);
          EXPECT_EQ(sequenceIn(frame.payload), played);
          EXPECT_EQ(frame.timestamp, played * k60);
          ++played;
        } else {
          EXPECT_EQ(frame.duration, kFrame);
        }
        held += frame.duration;
      }
      held -= kFrame;
    }
  }
  EXPECT_GE(played, 38U);
  EXPECT_EQ(buffer.stats().missing, 0U);
  EXPECT_EQ(buffer.stats().late, 0U);
}

TEST(DspJitterBuffer, ShortPacketsAreJoined) {
  // 10 ms packets: two per tick, the caller asks twice.
  JitterBuffer buffer;
  constexpr uint32_t k10 = kFrame / 2;
  std::vector<uint16_t> sequences;
  uint16_t next = 0;
  for (int tick = 0; tick < 50; ++tick) {
    for (int i = 0; i < 2; ++i, ++next) {
      buffer.put(next, next * k10, payloadFor(next), k10);
    }
    uint32_t held = 0;
    while (held < kFrame) {
      const auto frame = buffer.get();
      EXPECT_NE(frame.outcome, Outcome::Missing);
      if (frame.outcome == Outcome::Packet) {
        EXPECT_EQ(frame.duration, k10);
        sequences.push_back(frame.sequence);
      }
      held += frame.duration;
    }
  }
  EXPECT_GE(sequences.size(), 90U);
  EXPECT_TRUE(consecutive(sequences, static_cast<int>(sequences.size())))
      << ::testing::PrintToString(sequences);
}

TEST(DspJitterBuffer, MissingCoversTheGapAndOffersTheNextPacket) {
  JitterBuffer buffer;
  // Packets 0..9 of 20 ms; 4 and 6, 7 lost. The gap before 5 is one frame, before 8 two.
  for (uint16_t seq = 0; seq < 10; ++seq) {
    if (seq != 4 && seq != 6 && seq != 7) {
      buffer.put(seq, seq * kFrame, payloadFor(seq));
    }
  }
  std::vector<JitterBuffer::Frame> missing;
  for (int i = 0; i < 12; ++i) {
    const auto frame = buffer.get();
    if (frame.outcome == Outcome::Missing) {
      missing.push_back(frame);
      ASSERT_FALSE(frame.next.empty());
      EXPECT_EQ(sequenceIn(frame.next), frame.timestamp / kFrame + frame.duration / kFrame);
    }
  }
  ASSERT_EQ(missing.size(), 2U);
  EXPECT_EQ(missing[0].timestamp, 4 * kFrame);
  EXPECT_EQ(missing[0].duration, kFrame);
  EXPECT_EQ(missing[1].timestamp, 6 * kFrame);
  EXPECT_EQ(missing[1].duration, 2 * kFrame);
  EXPECT_EQ(buffer.stats().played, 7U);
}

TEST(DspJitterBuffer, AnnouncedSilenceIsNotALoss) {
  // A comfort noise packet (RFC 3389) says silence follows; a marked packet (RFC 3551 §4.1)
  // says silence came before. The gaps around them are Empty even with later packets buffered.
  JitterBufferConfig config;
  config.initialDelayMs = 200;  // everything below is buffered before it is due
  JitterBuffer buffer(config);
  buffer.put(0, 0, payloadFor(0));
  buffer.put(1, kFrame, payloadFor(1), 0, JitterBuffer::kSilenceAfter, 7);
  buffer.put(2, 5 * kFrame, payloadFor(2), 0, JitterBuffer::kTalkspurtStart);
  buffer.put(3, 6 * kFrame, payloadFor(3));
  buffer.put(4, 9 * kFrame, payloadFor(4), 0, JitterBuffer::kTalkspurtStart);
  std::vector<Outcome> outcomes;
  std::vector<uint8_t> tags;
  for (int i = 0; i < 30; ++i) {
    const auto frame = buffer.get();
    outcomes.push_back(frame.outcome);
    if (frame.outcome == Outcome::Packet) {
      tags.push_back(frame.tag);
    }
  }
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), Outcome::Missing), 0);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), Outcome::Packet), 5);
  EXPECT_EQ(tags, (std::vector<uint8_t>{0, 7, 0, 0, 0}));
  EXPECT_EQ(buffer.stats().missing, 0U);
}

TEST(DspJitterBuffer, DtxGapsAreSilenceAndLeaveTheDelayAlone) {
  // Opus DTX (RFC 7587 §3.1.3): 1 s of packets, then one every 400 ms for 3 s, then 1 s of packets
  // again, timestamps running on throughout, sequence numbers only for what is sent (and no
  // marker: the sequence numbers alone must tell). Each packet arrives when it is sent; one of
  // the last second is lost, and that one is Missing.
  JitterBuffer buffer;
  const uint32_t initial = buffer.targetDelayMs();
  int missing = 0;
  uint16_t sequence = 0;
  for (uint32_t tick = 0; tick < 250; ++tick) {
    const bool talking = tick < 50 || tick >= 200;
    if (talking || tick % 20 == 0) {
      const uint16_t seq = sequence++;
      if (tick != 220) {
        buffer.put(seq, tick * kFrame, payloadFor(seq));
      }
    }
    const auto frame = buffer.get();
    if (frame.outcome == Outcome::Missing) {
      ++missing;
      EXPECT_EQ(frame.timestamp, 220 * kFrame);
    }
  }
  EXPECT_EQ(missing, 1);
  EXPECT_EQ(buffer.stats().late, 0U);
  EXPECT_EQ(buffer.stats().inserted, 0U);
  EXPECT_LE(buffer.targetDelayMs(), initial);
  EXPECT_GE(buffer.stats().empty, 130U);
}

TEST(DspJitterBuffer, LossFoundOutAfterTheBufferRanDry) {
  // 20 ms of delay, one packet per tick, 3 and 4 lost: when 3 is due nothing newer is here, so
  // it is Empty; 5 then shows 3 and 4 were lost: the Missing for 4 says 3 was lost too.
  JitterBufferConfig config;
  config.initialDelayMs = 20;
  JitterBuffer buffer(config);
  std::vector<JitterBuffer::Frame> frames;
  for (uint16_t seq = 0; seq < 10; ++seq) {
    if (seq != 3 && seq != 4) {
      buffer.put(seq, seq * kFrame, payloadFor(seq));
    }
    frames.push_back(buffer.get());
  }
  ASSERT_EQ(frames.size(), 10U);
  EXPECT_EQ(frames[4].outcome, Outcome::Empty);    // 3 due
  EXPECT_EQ(frames[5].outcome, Outcome::Missing);  // 4 due, 5 here
  EXPECT_EQ(frames[5].lostBefore, kFrame);
  EXPECT_EQ(frames[6].outcome, Outcome::Packet);
  EXPECT_EQ(frames[6].lostBefore, 0U);
  EXPECT_EQ(buffer.stats().lostWhileEmpty, 1U);
  EXPECT_EQ(buffer.stats().missing, 1U);
}

TEST(DspJitterBuffer, FullPoolDropsTheNewest) {
  JitterBufferConfig config;
  config.capacity = 8;  // also the window: 8 frames ahead of the playout point
  JitterBuffer buffer(config);
  for (uint16_t seq = 0; seq < 8; ++seq) {
    EXPECT_TRUE(buffer.put(seq, seq * kFrame / 2, payloadFor(seq), kFrame / 2));
  }
  EXPECT_FALSE(buffer.put(8, 8 * kFrame / 2, payloadFor(8), kFrame / 2));
  EXPECT_EQ(buffer.stats().overflow, 1U);
}

}  // namespace
}  // namespace confab::dsp
