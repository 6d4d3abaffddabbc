#include <gtest/gtest.h>

#include <array>
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

}  // namespace
}  // namespace confab::dsp
