#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <vector>

#include "mixer/codec/G711.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"

namespace confab::codec {
namespace {

// Expected decoder outputs derived from the segment end points of G.711 Tables 2a/1a rather than
// from the implementation's formula. Scale: ours is 16-bit (µ-law 14-bit x 4, A-law 13-bit x 8).
int expectedMulaw(uint8_t code) {
  const int u = static_cast<uint8_t>(~code);  // bits are inverted on the line
  const int segment = (u >> 4) & 7;
  const int step = 2 << segment;  // 14-bit units: 2, 4, ..., 256
  // Segment s spans decision values 32 * 2^s - 33 .. 64 * 2^s - 33 (-1, 31, 95, 223, ... 8159);
  // the output is the middle of each interval.
  const int start = 32 * (1 << segment) - 33;
  const int magnitude14 = start + step * (u & 0x0F) + step / 2;
  return ((u & 0x80) != 0 ? -magnitude14 : magnitude14) * 4;
}

int expectedAlaw(uint8_t code) {
  const int a = code ^ 0x55;  // even bits are inverted on the line
  const int segment = (a >> 4) & 7;
  // 13-bit magnitude: segments 0 and 1 both have step 2; segment s >= 1 starts at 16 * 2^s.
  const int step = segment == 0 ? 2 : 1 << segment;
  const int start = segment == 0 ? 0 : 16 << segment;
  const int magnitude13 = start + step * (a & 0x0F) + step / 2;
  return ((a & 0x80) != 0 ? magnitude13 : -magnitude13) * 8;  // sign bit 1 = positive
}

TEST(CodecG711, MulawDecodesEveryCodeAsInTable2) {
  for (int code = 0; code < 256; ++code) {
    EXPECT_EQ(mulaw::decodeSample(static_cast<uint8_t>(code)),
              expectedMulaw(static_cast<uint8_t>(code)))
        << "code " << code;
  }
}

TEST(CodecG711, AlawDecodesEveryCodeAsInTable1) {
  for (int code = 0; code < 256; ++code) {
    EXPECT_EQ(alaw::decodeSample(static_cast<uint8_t>(code)),
              expectedAlaw(static_cast<uint8_t>(code)))
        << "code " << code;
  }
}

TEST(CodecG711, KnownPoints) {
  EXPECT_EQ(mulaw::decodeSample(0xFF), 0);
  EXPECT_EQ(mulaw::decodeSample(0x7F), 0);  // negative zero
  EXPECT_EQ(mulaw::decodeSample(0x80), 8031 * 4);
  EXPECT_EQ(mulaw::decodeSample(0x00), -8031 * 4);
  EXPECT_EQ(alaw::decodeSample(0xD5), 8);  // +1 in 13 bits: the middle of [0, 2)
  EXPECT_EQ(alaw::decodeSample(0x55), -8);
  EXPECT_EQ(alaw::decodeSample(0xAA), 4032 * 8);
  EXPECT_EQ(alaw::decodeSample(0x2A), -4032 * 8);
  EXPECT_EQ(mulaw::encodeSample(0), 0xFF);
  EXPECT_EQ(mulaw::encodeSample(32767), 0x80);
  EXPECT_EQ(mulaw::encodeSample(-32768), 0x00);
  EXPECT_EQ(alaw::encodeSample(0), 0xD5);
  EXPECT_EQ(alaw::encodeSample(-1), 0x55);
  EXPECT_EQ(alaw::encodeSample(32767), 0xAA);
  EXPECT_EQ(alaw::encodeSample(-32768), 0x2A);
}

TEST(CodecG711, EncodeOfDecodeIsIdentity) {
  for (int code = 0; code < 256; ++code) {
    const auto c = static_cast<uint8_t>(code);
    const uint8_t expectedMu = c == 0x7F ? 0xFF : c;  // µ-law's negative zero encodes as +0
    EXPECT_EQ(mulaw::encodeSample(mulaw::decodeSample(c)), expectedMu) << "code " << code;
    EXPECT_EQ(alaw::encodeSample(alaw::decodeSample(c)), c) << "code " << code;
  }
}

TEST(CodecG711, QuantisationIsMonotonicAndWithinHalfAStep) {
  int previousMu = -40000;
  int previousA = -40000;
  for (int x = -32768; x <= 32767; ++x) {
    const auto sample = static_cast<int16_t>(x);
    const int mu = mulaw::decodeSample(mulaw::encodeSample(sample));
    const int a = alaw::decodeSample(alaw::encodeSample(sample));
    ASSERT_GE(mu, previousMu) << x;
    ASSERT_GE(a, previousA) << x;
    previousMu = mu;
    previousA = a;
    // Steps grow with the magnitude: at most 1/16 of it (plus the smallest step), beyond the
    // clipping points (µ-law 32124, A-law 32256).
    const int bound = std::abs(x) / 16 + 16;
    if (std::abs(x) <= 32000) {
      ASSERT_LE(std::abs(mu - x), bound) << x;
      ASSERT_LE(std::abs(a - x), bound) << x;
    }
  }
}

TEST(CodecG711, SineKeepsOver35DbSnr) {
  const auto tone = test::sine(1000.0, 10000.0, 8000, 8000);
  std::vector<uint8_t> coded(tone.size());
  std::vector<int16_t> decoded(tone.size());
  for (const bool useMulaw : {true, false}) {
    if (useMulaw) {
      ASSERT_EQ(mulaw::encode(tone, coded), tone.size());
      ASSERT_EQ(mulaw::decode(coded, decoded), tone.size());
    } else {
      ASSERT_EQ(alaw::encode(tone, coded), tone.size());
      ASSERT_EQ(alaw::decode(coded, decoded), tone.size());
    }
    EXPECT_GT(test::snrDb(tone, decoded), 35.0) << (useMulaw ? "mu-law" : "A-law");
    EXPECT_TRUE(test::hasTone(decoded, 1000.0, 8000, -0.5));
  }
}

TEST(CodecG711, SpansOfDifferentLengthsCodeTheShorter) {
  const std::array<int16_t, 4> pcm{0, 100, -100, 1000};
  std::array<uint8_t, 2> out{};
  EXPECT_EQ(mulaw::encode(pcm, out), 2U);
  std::array<int16_t, 8> back{};
  EXPECT_EQ(alaw::decode(out, back), 2U);
}

}  // namespace
}  // namespace confab::codec
