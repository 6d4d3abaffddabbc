#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "mixer/dsp/Preprocessor.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"

namespace confab::dsp {
namespace {

constexpr std::size_t kFrame = 320;  // 20 ms at 16 kHz

// White noise from a fixed-seed generator.
void fillNoise(std::span<int16_t> frame, uint32_t& state, int amplitude) {
  for (auto& sample : frame) {
    state = state * 1664525U + 1013904223U;
    sample = static_cast<int16_t>(
        static_cast<int>((state >> 16) % static_cast<uint32_t>(2 * amplitude + 1)) - amplitude);
  }
}

TEST(DspPreprocessor, NoiseSuppressionLowersSteadyNoise) {
  Preprocessor preprocessor(kFrame, 16000);
  uint32_t state = 12345;
  std::array<int16_t, kFrame> frame{};
  double before = 0.0;
  double after = 0.0;
  for (int i = 0; i < 150; ++i) {  // 3 s: the noise estimate needs time to settle
    fillNoise(frame, state, 1000);
    if (i >= 100) {
      before += test::rms(frame);
    }
    preprocessor.process(frame);
    if (i >= 100) {
      after += test::rms(frame);
    }
  }
  EXPECT_LT(after, before / 3.0);  // at least ~10 dB less
}

TEST(DspPreprocessor, VadProbabilityRisesForATone) {
  Preprocessor preprocessor(kFrame, 16000);
  ASSERT_TRUE(preprocessor.setVad(true));
  std::array<int16_t, kFrame> frame{};
  for (int i = 0; i < 50; ++i) {
    frame.fill(0);
    preprocessor.process(frame);
  }
  const int quiet = preprocessor.speechProbability();
  test::SineGenerator voice(300.0, 8000.0, 16000);
  for (int i = 0; i < 10; ++i) {
    voice.fill(frame);
    preprocessor.process(frame);
  }
  const int loud = preprocessor.speechProbability();
  EXPECT_GE(quiet, 0);
  EXPECT_LE(loud, 100);
  EXPECT_GT(loud, quiet);
}

TEST(DspPreprocessor, ControlsAndWrongFrame) {
  Preprocessor preprocessor(kFrame, 16000);
  EXPECT_TRUE(preprocessor.setNoiseSuppression(false));
  // AGC only exists in SpeexDSP's floating-point build; either answer is honest.
  const bool agc = preprocessor.setAgc(true);
  EXPECT_EQ(preprocessor.setAgc(false), agc);
  std::array<int16_t, 100> wrong{};
  EXPECT_FALSE(preprocessor.process(wrong));
  Preprocessor moved(std::move(preprocessor));
  EXPECT_EQ(moved.frameSamples(), kFrame);
  EXPECT_THROW(Preprocessor(0, 16000), std::invalid_argument);
}

}  // namespace
}  // namespace confab::dsp
