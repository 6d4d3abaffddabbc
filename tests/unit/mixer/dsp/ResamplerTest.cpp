#include <gtest/gtest.h>

#include <vector>

#include "mixer/dsp/Resampler.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"

namespace confab::dsp {
namespace {

// Runs 0.5 s of a tone through the resampler in 20 ms frames; returns the output after the first
// 100 ms (the filter's start-up).
std::vector<int16_t> resampleTone(Resampler& resampler, double frequency, double amplitude) {
  const auto inFrame = static_cast<std::size_t>(resampler.inRate() / 50);
  const auto outFrame = static_cast<std::size_t>(resampler.outRate() / 50);
  test::SineGenerator tone(frequency, amplitude, resampler.inRate());
  std::vector<int16_t> in(inFrame);
  std::vector<int16_t> out(outFrame);
  std::vector<int16_t> kept;
  for (int i = 0; i < 25; ++i) {
    tone.fill(in);
    EXPECT_EQ(resampler.process(in, out), outFrame);
    if (i >= 5) {
      kept.insert(kept.end(), out.begin(), out.end());
    }
  }
  return kept;
}

TEST(DspResampler, UpsamplingKeepsTheTone) {
  Resampler up(8000, 48000);
  const auto out = resampleTone(up, 1000.0, 10000.0);
  EXPECT_TRUE(test::hasTone(out, 1000.0, 48000, -0.5));
  EXPECT_NEAR(test::rms(out), 10000.0 / std::sqrt(2.0), 300.0);
  EXPECT_GT(up.outputLatency(), 0);
}

TEST(DspResampler, DownsamplingKeepsInBandTones) {
  for (const int rate : {8000, 16000}) {
    Resampler down(48000, rate);
    const auto out = resampleTone(down, 1000.0, 10000.0);
    EXPECT_TRUE(test::hasTone(out, 1000.0, rate, -0.5)) << rate;
  }
}

TEST(DspResampler, DownsamplingRemovesToneAboveNyquist) {
  Resampler down(48000, 8000);
  const auto out = resampleTone(down, 6000.0, 10000.0);
  // A 6 kHz tone would alias to 2 kHz at 8 kHz; the anti-aliasing filter must remove it.
  EXPECT_LT(test::rmsDbov(out), test::rmsDbov(test::sine(6000.0, 10000.0, 48000, 960)) - 40.0);
  EXPECT_LT(test::toneDbov(out, 2000.0, 8000), -60.0);
}

TEST(DspResampler, WrongFrameSizeIsRefused) {
  Resampler up(8000, 48000, 3);
  std::vector<int16_t> in(160);
  std::vector<int16_t> out(900);
  EXPECT_EQ(up.process(in, out), 0U);
  Resampler moved(std::move(up));
  out.resize(960);
  EXPECT_EQ(moved.process(in, out), 960U);
  moved.reset();
  EXPECT_THROW(Resampler(8000, 48000, 11), std::invalid_argument);
}

}  // namespace
}  // namespace confab::dsp
