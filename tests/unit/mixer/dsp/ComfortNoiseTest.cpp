#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include "mixer/dsp/ComfortNoise.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"

namespace confab::dsp {
namespace {

TEST(DspComfortNoise, NoiseAtTheAnnouncedLevel) {
  ComfortNoise noise;
  std::array<int16_t, 8000> out{};
  for (const uint8_t level : {uint8_t{30}, uint8_t{50}, uint8_t{70}}) {
    noise.setLevel(level);
    EXPECT_EQ(noise.level(), level);
    noise.generate(out);
    EXPECT_NEAR(test::rmsDbov(out), -static_cast<double>(level), 0.5) << int{level};
    // White: no tone stands out.
    EXPECT_LT(test::tonePowerDb(out, 1000.0, 8000), -20.0);
  }
  // RFC 3389 §3.1: only the low 7 bits are the level; 127 is silence.
  noise.setLevel(uint8_t{0x80 | 50});
  EXPECT_EQ(noise.level(), 50);
  noise.setLevel(127);
  noise.generate(out);
  EXPECT_EQ(test::rms(out), 0.0);
}

// The noise's normalised autocorrelation at 'lag': its spectral shape in the form an all-pole
// model fixes exactly (for y[n] = x[n] - a1 y[n-1] - a2 y[n-2], Yule-Walker: rho1 = -a1 / (1 +
// a2), rho2 = -a1 rho1 - a2).
double autocorrelation(std::span<const int16_t> pcm, std::size_t lag) {
  double r0 = 0.0;
  double r = 0.0;
  for (std::size_t i = 0; i < pcm.size(); ++i) {
    r0 += static_cast<double>(pcm[i]) * pcm[i];
    if (i >= lag) {
      r += static_cast<double>(pcm[i]) * pcm[i - lag];
    }
  }
  return r / r0;
}

TEST(DspComfortNoise, TakesTheSpectralShapeThePacketDescribes) {
  // RFC 3389 §3.2: k = (N - 127) / 128. N = 12 (k1 = -0.898) is a low-pass hum, N = 242
  // (k1 = +0.898) a high-pass hiss; both at -40 dBov. Step-up: a1 = k1, so rho1 = -k1.
  ComfortNoise noise;
  std::array<int16_t, 32000> out{};
  const std::array<uint8_t, 2> lowPass{40, 12};
  noise.setParameters(lowPass);
  EXPECT_EQ(noise.level(), 40);
  EXPECT_EQ(noise.order(), 1U);
  noise.generate(out);
  EXPECT_NEAR(test::rmsDbov(out), -40.0, 1.0);
  EXPECT_NEAR(autocorrelation(out, 1), 115.0 / 128.0, 0.03) << "low-pass";
  EXPECT_GT(test::toneAmplitude(out, 300, 8000), 5 * test::toneAmplitude(out, 3500, 8000));

  const std::array<uint8_t, 2> highPass{40, 242};
  noise.setParameters(highPass);
  noise.generate(out);
  EXPECT_NEAR(test::rmsDbov(out), -40.0, 1.0);
  EXPECT_NEAR(autocorrelation(out, 1), -115.0 / 128.0, 0.03) << "high-pass";

  // Order 2: k1 = -0.898, k2 = +0.5 (N = 191): a1 = k1 (1 + k2), a2 = k2, so rho1 = -k1 and
  // rho2 = k1^2 (1 + k2) - k2.
  const std::array<uint8_t, 3> second{55, 12, 191};
  noise.setParameters(second);
  noise.generate(out);
  const double k1 = -115.0 / 128.0;
  const double k2 = 64.0 / 128.0;
  EXPECT_NEAR(test::rmsDbov(out), -55.0, 1.0);
  EXPECT_NEAR(autocorrelation(out, 1), -k1, 0.03);
  EXPECT_NEAR(autocorrelation(out, 2), k1 * k1 * (1 + k2) - k2, 0.05);

  // All coefficients at 127 (k = 0): white.
  const std::array<uint8_t, 4> flat{40, 127, 127, 127};
  noise.setParameters(flat);
  noise.generate(out);
  EXPECT_NEAR(test::rmsDbov(out), -40.0, 1.0);
  EXPECT_NEAR(autocorrelation(out, 1), 0.0, 0.03);
}

TEST(DspComfortNoise, HostileCoefficientsStayBoundedAndAtTheLevel) {
  // Every coefficient at the edge (N = 0 and 255: |k| >= 0.99) and more of them than we model:
  // the filter stays stable, the level holds.
  ComfortNoise noise;
  std::array<uint8_t, 40> payload{};
  payload[0] = 50;
  for (std::size_t i = 1; i < payload.size(); ++i) {
    payload[i] = (i % 2) != 0 ? 255 : 0;
  }
  noise.setParameters(payload);
  EXPECT_LE(noise.order(), ComfortNoise::kMaxOrder) << "at most the first 16, or none if unusable";
  std::array<int16_t, 8000> out{};
  for (int round = 0; round < 20; ++round) {
    noise.generate(out);
  }
  EXPECT_NEAR(test::rmsDbov(out), -50.0, 6.0);
  EXPECT_TRUE(
      std::all_of(out.begin(), out.end(), [](int16_t v) { return v > -32768 && v < 32767; }));
}

}  // namespace
}  // namespace confab::dsp
