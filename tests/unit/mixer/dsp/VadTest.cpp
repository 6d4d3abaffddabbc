#include <gtest/gtest.h>

#include <array>

#include "mixer/dsp/Vad.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"

namespace confab::dsp {
namespace {

constexpr std::size_t kFrame = 320;  // 20 ms at 16 kHz

class DspVad : public ::testing::Test {
 protected:
  bool speak() {
    std::array<int16_t, kFrame> frame{};
    voice_.fill(frame);
    return vad_.process(frame);
  }
  bool pause(double amplitude = 0.0) {
    std::array<int16_t, kFrame> frame{};
    test::SineGenerator(300.0, amplitude, 16000).fill(frame);
    return vad_.process(frame);
  }

  Vad vad_;  // start -40 dBov, stop -46 dBov, attack 2 frames, hangover 300 ms
  test::SineGenerator voice_{300.0, 3000.0, 16000};  // about -24 dBov
};

TEST_F(DspVad, SilenceIsNotTalking) {
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(pause());
  }
  EXPECT_EQ(vad_.lastDbov(), -127.0F);
}

TEST_F(DspVad, OneLoudFrameIsAClickNotSpeech) {
  EXPECT_FALSE(speak());
  EXPECT_FALSE(pause());
  EXPECT_FALSE(speak());
  EXPECT_FALSE(pause());
}

TEST_F(DspVad, ALoudFrameBeforeTalkingIsRising) {
  EXPECT_FALSE(vad_.rising());
  EXPECT_FALSE(speak());
  EXPECT_TRUE(vad_.rising()) << "loud, the attack under way";
  EXPECT_FALSE(pause());
  EXPECT_FALSE(vad_.rising()) << "a click is over";
  speak();
  EXPECT_TRUE(speak());
  EXPECT_FALSE(vad_.rising()) << "talking now";
}

TEST_F(DspVad, TwoLoudFramesStartTalking) {
  EXPECT_FALSE(speak());
  EXPECT_TRUE(speak());
  EXPECT_NEAR(vad_.lastDbov(), 20.0 * std::log10(3000.0 / std::sqrt(2.0) / 32767.0), 0.2);
}

TEST_F(DspVad, HangoverKeepsTalkingThrough300MsOfQuiet) {
  speak();
  speak();
  for (int i = 0; i < 14; ++i) {
    EXPECT_TRUE(pause()) << i;  // 280 ms of quiet: still talking
  }
  EXPECT_FALSE(pause());  // the 15th quiet frame ends the 300 ms hangover
}

TEST_F(DspVad, TrailingOffBetweenThresholdsKeepsTalking) {
  speak();
  speak();
  // About -43 dBov: below the start threshold, above the stop threshold.
  for (int i = 0; i < 30; ++i) {
    EXPECT_TRUE(pause(330.0)) << i;
  }
  vad_.reset();
  EXPECT_FALSE(vad_.talking());
  EXPECT_FALSE(pause(330.0));
  EXPECT_FALSE(pause(330.0));
}

}  // namespace
}  // namespace confab::dsp
