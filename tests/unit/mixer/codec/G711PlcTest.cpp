#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <span>

#include "mixer/codec/G711Plc.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"

namespace confab::codec {
namespace {

constexpr int kRate = 8000;
constexpr std::size_t kFrame = 160;  // 20 ms

class CodecG711Plc : public ::testing::Test {
 protected:
  // Plays good frames of a 200 Hz tone into the PLC.
  void feed(int frames) {
    for (int i = 0; i < frames; ++i) {
      std::array<int16_t, kFrame> frame{};
      tone_.fill(frame);
      plc_.received(frame);
      last_ = frame;
    }
  }

  G711Plc plc_{kRate};
  test::SineGenerator tone_{200.0, 10000.0, kRate};
  std::array<int16_t, kFrame> last_{};
};

TEST_F(CodecG711Plc, FirstLostFrameKeepsTheToneThenFadesOutBy60Ms) {
  feed(10);
  const double reference = test::rms(last_);
  std::array<std::array<int16_t, kFrame>, 4> lost{};
  for (auto& frame : lost) {
    plc_.conceal(frame);
  }
  EXPECT_EQ(plc_.pitchPeriod(), 40U);  // 200 Hz at 8 kHz
  // 0..20 ms: full level for 10 ms, then fading: most of the energy stays.
  EXPECT_GT(test::rms(lost[0]), 0.8 * reference);
  EXPECT_TRUE(test::hasTone(lost[0], 200.0, kRate, -1.0));
  // 40..60 ms: fading to nothing; its last 5 ms nearly silent.
  EXPECT_LT(test::rms(lost[2]), 0.35 * reference);
  EXPECT_LT(test::rms(std::span<const int16_t>(lost[2]).last(40)), 0.1 * reference);
  // After 60 ms: silence.
  EXPECT_EQ(test::rms(lost[3]), 0.0);
}

TEST_F(CodecG711Plc, RecoveryHasNoDiscontinuity) {
  feed(10);
  std::array<int16_t, kFrame> concealed{};
  plc_.conceal(concealed);
  tone_.fill(concealed);  // the sender's clock goes on: skip the lost frame's worth of tone
  plc_.conceal(concealed);
  tone_.fill(concealed);
  std::array<int16_t, kFrame> good{};
  tone_.fill(good);
  plc_.received(good);
  EXPECT_FALSE(plc_.concealing());

  // The largest step in a 10000-amplitude 200 Hz sine is 2 pi 200 / 8000 * 10000 = 1571.
  int largestJump = std::abs(good[0] - concealed.back());
  for (std::size_t i = 1; i < good.size(); ++i) {
    largestJump = std::max(largestJump, std::abs(good[i] - good[i - 1]));
  }
  EXPECT_LT(largestJump, 1700);
}

TEST_F(CodecG711Plc, RecoveryAfterSilenceFadesIn) {
  feed(10);
  std::array<int16_t, kFrame> concealed{};
  for (int i = 0; i < 5; ++i) {
    plc_.conceal(concealed);
    tone_.fill(concealed);
  }
  std::array<int16_t, kFrame> good{};
  tone_.fill(good);
  plc_.received(good);
  EXPECT_LT(std::abs(good[0]), 500);  // the fade-in starts near the silence it follows
  EXPECT_GT(test::rms(std::span<const int16_t>(good).last(40)), 6000.0);
}

TEST(CodecG711PlcRates, WorksAt48k) {
  G711Plc plc(48000);
  test::SineGenerator tone(300.0, 8000.0, 48000);
  std::array<int16_t, 960> frame{};
  for (int i = 0; i < 5; ++i) {
    tone.fill(frame);
    plc.received(frame);
  }
  plc.conceal(frame);
  EXPECT_TRUE(test::hasTone(frame, 300.0, 48000, -1.0));
  EXPECT_THROW(G711Plc(44100), std::invalid_argument);
}

}  // namespace
}  // namespace confab::codec
