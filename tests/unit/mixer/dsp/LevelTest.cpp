#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "mixer/dsp/Level.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"

namespace confab::dsp {
namespace {

TEST(DspLevel, Rfc6464Levels) {
  std::array<int16_t, 160> square{};
  for (std::size_t i = 0; i < square.size(); ++i) {
    square[i] = i % 2 == 0 ? 32767 : -32767;
  }
  EXPECT_EQ(levelDbov(square), 0);  // 0 dBov: a full-scale square wave (RFC 6464 §4)
  const std::array<int16_t, 160> silence{};
  EXPECT_EQ(levelDbov(silence), 127);
  EXPECT_EQ(levelDbov({}), 127);
  EXPECT_EQ(levelDbov(test::sine(1000.0, 32767.0, 8000, 160)), 3);  // a sine is 3 dB below
  EXPECT_EQ(levelDbov(test::sine(1000.0, 3276.7, 8000, 160)), 23);
  const std::array<int16_t, 4> tiny{1, 0, 0, 0};
  EXPECT_EQ(levelDbov(tiny), 96);
  EXPECT_NEAR(dbov(test::sine(1000.0, 32767.0, 8000, 160)), -3.01, 0.02);
}

}  // namespace
}  // namespace confab::dsp
