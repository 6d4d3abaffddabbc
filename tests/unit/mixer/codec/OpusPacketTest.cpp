#include <gtest/gtest.h>

#include <array>

#include "mixer/codec/OpusPacket.hpp"

namespace confab::codec {
namespace {

uint8_t toc(int config, bool stereo, int code) {
  return static_cast<uint8_t>((config << 3) | (stereo ? 4 : 0) | code);
}

TEST(CodecOpusPacket, TocFieldsPerRfc6716Table2) {
  const OpusToc silk = parseToc(toc(1, false, 0));
  EXPECT_EQ(silk.config, 1);
  EXPECT_FALSE(silk.stereo);
  EXPECT_EQ(silk.mode(), OpusMode::Silk);
  EXPECT_EQ(silk.frameSamples48k(), 960U);
  EXPECT_EQ(silk.bandwidthHz(), 8000U);
  EXPECT_EQ(parseToc(toc(11, false, 0)).frameSamples48k(), 2880U);  // SILK WB 60 ms
  EXPECT_EQ(parseToc(toc(9, false, 0)).bandwidthHz(), 16000U);

  const OpusToc hybrid = parseToc(toc(15, true, 1));
  EXPECT_EQ(hybrid.mode(), OpusMode::Hybrid);
  EXPECT_TRUE(hybrid.stereo);
  EXPECT_EQ(hybrid.frameCountCode, 1);
  EXPECT_EQ(hybrid.frameSamples48k(), 960U);
  EXPECT_EQ(hybrid.bandwidthHz(), 48000U);
  EXPECT_EQ(parseToc(toc(12, false, 0)).bandwidthHz(), 24000U);

  const OpusToc celt = parseToc(toc(28, false, 0));
  EXPECT_EQ(celt.mode(), OpusMode::Celt);
  EXPECT_EQ(celt.frameSamples48k(), 120U);  // 2.5 ms
  EXPECT_EQ(celt.bandwidthHz(), 48000U);
  EXPECT_EQ(parseToc(toc(31, false, 0)).frameSamples48k(), 960U);
  EXPECT_EQ(parseToc(toc(16, false, 0)).bandwidthHz(), 8000U);
}

TEST(CodecOpusPacket, FrameCountsAndDurations) {
  const std::array<uint8_t, 1> one{toc(1, false, 0)};
  EXPECT_EQ(opusFrameCount(one), 1U);
  EXPECT_EQ(opusPacketSamples48k(one), 960U);
  const std::array<uint8_t, 3> two{toc(1, false, 1), 0, 0};
  EXPECT_EQ(opusFrameCount(two), 2U);
  EXPECT_EQ(opusPacketSamples48k(two), 1920U);
  const std::array<uint8_t, 2> three{toc(1, false, 3), 3};
  EXPECT_EQ(opusFrameCount(three), 3U);
  EXPECT_EQ(opusPacketSamples48k(three), 2880U);
  // RFC 6716 §3.2.5: M = 0 is invalid, and a packet may not exceed 120 ms.
  const std::array<uint8_t, 2> none{toc(1, false, 3), 0};
  EXPECT_FALSE(opusFrameCount(none));
  const std::array<uint8_t, 2> tooLong{toc(3, false, 3), 3};  // 3 x 60 ms
  EXPECT_FALSE(opusPacketSamples48k(tooLong));
  EXPECT_FALSE(opusFrameCount({}));
  const std::array<uint8_t, 1> truncated{toc(1, false, 3)};
  EXPECT_FALSE(opusFrameCount(truncated));
}

TEST(CodecOpusPacket, DtxPacketsAreAtMostTwoBytes) {
  const std::array<uint8_t, 1> tocOnly{toc(1, false, 0)};
  const std::array<uint8_t, 3> real{toc(1, false, 0), 0x12, 0x34};
  EXPECT_TRUE(isDtxOrComfortNoise(tocOnly));
  EXPECT_FALSE(isDtxOrComfortNoise(real));
}

}  // namespace
}  // namespace confab::codec
