#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <vector>

#include "mixer/dsp/SoftLimiter.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"

namespace confab::dsp {
namespace {

constexpr std::size_t kFrame = 960;

TEST(DspSoftLimiter, FourFullScaleTalkersNeitherClipNorJump) {
  SoftLimiter limiter;
  std::vector<test::SineGenerator> talkers{{440.0, 32767.0, 48000},
                                           {554.0, 32767.0, 48000},
                                           {659.0, 32767.0, 48000},
                                           {880.0, 32767.0, 48000}};
  int largestJump = 0;
  int largestInputJump = 0;
  int peak = 0;
  int atFullScale = 0;
  int16_t previous = 0;
  int32_t previousIn = 0;
  for (int frameIndex = 0; frameIndex < 50; ++frameIndex) {
    std::array<int32_t, kFrame> mix{};
    for (auto& talker : talkers) {
      talker.add(mix);
    }
    std::array<int16_t, kFrame> out{};
    ASSERT_TRUE(limiter.process(mix, out));
    for (std::size_t i = 0; i < kFrame; ++i) {
      // Without look-ahead the first milliseconds pass while the envelope rises (the knee still
      // bounds them); judge the limiter once it has heard the mix.
      if (frameIndex > 0) {
        largestJump = std::max(largestJump, std::abs(out[i] - previous));
        largestInputJump = std::max(largestInputJump, std::abs(mix[i] - previousIn));
        atFullScale += std::abs(static_cast<int>(out[i])) >= 32767 ? 1 : 0;
      }
      peak = std::max(peak, std::abs(static_cast<int>(out[i])));
      // Never a sign flip: wrap-around would show as one.
      if (std::abs(mix[i]) > 1000) {
        ASSERT_EQ(out[i] > 0, mix[i] > 0);
      }
      previous = out[i];
      previousIn = mix[i];
    }
  }
  EXPECT_LE(peak, 32767);
  EXPECT_EQ(atFullScale, 0);  // the knee approaches full scale but never sits on it
  EXPECT_LT(largestJump, 4000);
  EXPECT_LT(largestJump, largestInputJump / 2);
  EXPECT_LT(limiter.gain(), 0.5F);
}

TEST(DspSoftLimiter, QuietSignalsPassUntouched) {
  SoftLimiter limiter;
  test::SineGenerator talker(1000.0, 16000.0, 48000);  // -6 dBFS peak
  std::array<int32_t, kFrame> mix{};
  talker.add(mix);
  std::array<int16_t, kFrame> out{};
  ASSERT_TRUE(limiter.process(mix, out));
  for (std::size_t i = 0; i < kFrame; ++i) {
    ASSERT_EQ(out[i], mix[i]);
  }
  EXPECT_EQ(limiter.gain(), 1.0F);
}

TEST(DspSoftLimiter, GainRecoversAfterALoudBurst) {
  SoftLimiter limiter;
  test::SineGenerator loud(500.0, 100000.0, 48000);
  std::array<int32_t, kFrame> mix{};
  std::array<int16_t, kFrame> out{};
  for (int i = 0; i < 10; ++i) {
    mix.fill(0);
    loud.add(mix);
    limiter.process(mix, out);
  }
  EXPECT_LT(limiter.gain(), 0.5F);
  mix.fill(1000);
  for (int i = 0; i < 50; ++i) {  // 1 s of quiet: the release (100 ms) has long finished
    limiter.process(mix, out);
  }
  EXPECT_EQ(limiter.gain(), 1.0F);
  EXPECT_EQ(out.back(), 1000);
  std::array<int16_t, 10> wrongSize{};
  EXPECT_FALSE(limiter.process(mix, wrongSize));
}

}  // namespace
}  // namespace confab::dsp
