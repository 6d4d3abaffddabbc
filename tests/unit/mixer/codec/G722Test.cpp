// G.722 through our wrapper of SpanDSP's coder: what a listener hears must be the tone that went
// in, across the whole 50-7000 Hz band G.722 promises, at the level it went in, in 160 bytes per
// 20 ms.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "mixer/codec/G722.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"

namespace confab::codec {
namespace {

constexpr int kRate = kG722SampleRate;
constexpr std::size_t kFrame = 320;  // 20 ms at 16 kHz

// Encodes then decodes 'frames' frames of a tone, 20 ms at a time as a phone would.
std::vector<int16_t> roundTrip(double hz, double amplitude, int frames) {
  G722Encoder encoder;
  G722Decoder decoder;
  test::SineGenerator tone(hz, amplitude, kRate);
  std::vector<int16_t> out;
  for (int i = 0; i < frames; ++i) {
    std::array<int16_t, kFrame> pcm{};
    tone.fill(pcm);
    std::array<uint8_t, kFrame> codes{};
    const std::size_t bytes = encoder.encode(pcm, codes);
    EXPECT_EQ(bytes, kFrame / 2);  // 64 kbit/s: 160 bytes per 20 ms
    std::array<int16_t, kFrame> decoded{};
    EXPECT_EQ(decoder.decode(std::span<const uint8_t>(codes).first(bytes), decoded), kFrame);
    out.insert(out.end(), decoded.begin(), decoded.end());
  }
  return out;
}

TEST(CodecG722, TonesAcrossTheWidebandComeBackAtTheirLevel) {
  // 300 Hz and 1 kHz (the lower sub-band), 5 and 6.5 kHz (the upper one, where narrowband G.711
  // has nothing at all).
  for (double hz : {300.0, 1000.0, 5000.0, 6500.0}) {
    SCOPED_TRACE(hz);
    const auto out = roundTrip(hz, 8000.0, 50);
    const auto settled = std::span<const int16_t>(out).last(kFrame * 40);
    // The tone carries nearly all of what comes out (ADPCM noise stays 20 dB and more under it)...
    EXPECT_GT(test::tonePowerDb(settled, hz, kRate), -0.5);
    // ...at the level it went in: 8000 peak is -15.2 dBov.
    EXPECT_NEAR(test::toneDbov(settled, hz, kRate), -15.2, 1.0);
  }
}

TEST(CodecG722, QuietAndLoudVoicesBothSurvive) {
  for (double amplitude : {300.0, 30000.0}) {
    SCOPED_TRACE(amplitude);
    const auto out = roundTrip(800.0, amplitude, 50);
    const auto settled = std::span<const int16_t>(out).last(kFrame * 40);
    EXPECT_GT(test::tonePowerDb(settled, 800.0, kRate), -1.0);
    const double want = 20.0 * std::log10(amplitude / std::numbers::sqrt2 / 32767.0);
    EXPECT_NEAR(test::toneDbov(settled, 800.0, kRate), want, 1.0);
  }
}

TEST(CodecG722, SilenceStaysSilent) {
  const auto out = roundTrip(0.0, 0.0, 20);
  EXPECT_LT(test::rmsDbov(std::span<const int16_t>(out).last(kFrame * 10)), -70.0);
}

TEST(CodecG722, RefusesWhatDoesNotFit) {
  G722Encoder encoder;
  std::array<int16_t, kFrame> pcm{};
  std::array<uint8_t, kFrame / 2> codes{};
  EXPECT_EQ(encoder.encode(std::span<const int16_t>(pcm).first(kFrame - 1), codes), 0U)
      << "an odd sample count has no whole byte";
  EXPECT_EQ(encoder.encode(pcm, std::span<uint8_t>(codes).first(10)), 0U);
  G722Decoder decoder;
  std::array<int16_t, 10> small{};
  EXPECT_EQ(decoder.decode(codes, small), 0U);
}

TEST(CodecG722, ResetForgetsTheOldSource) {
  // Two decoders, one fed a loud tone first then reset: both decode a new stream the same.
  G722Encoder loudEncoder;
  G722Decoder reused;
  test::SineGenerator loud(2000.0, 30000.0, kRate);
  for (int i = 0; i < 10; ++i) {
    std::array<int16_t, kFrame> pcm{};
    loud.fill(pcm);
    std::array<uint8_t, kFrame / 2> codes{};
    loudEncoder.encode(pcm, codes);
    std::array<int16_t, kFrame> ignored{};
    reused.decode(codes, ignored);
  }
  reused.reset();
  G722Decoder fresh;
  G722Encoder encoder;
  test::SineGenerator tone(440.0, 5000.0, kRate);
  for (int i = 0; i < 5; ++i) {
    std::array<int16_t, kFrame> pcm{};
    tone.fill(pcm);
    std::array<uint8_t, kFrame / 2> codes{};
    encoder.encode(pcm, codes);
    std::array<int16_t, kFrame> a{};
    std::array<int16_t, kFrame> b{};
    reused.decode(codes, a);
    fresh.decode(codes, b);
    ASSERT_EQ(a, b) << "frame " << i;
  }
}

}  // namespace
}  // namespace confab::codec
