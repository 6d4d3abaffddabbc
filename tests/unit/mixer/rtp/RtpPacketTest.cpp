// RTP packet view, RFC 8285 extensions, audio levels, builder and demultiplexing, on golden
// bytes written out by hand.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "mixer/rtp/RtpPacket.hpp"
#include "tests/unit/mixer/rtp/HexBytes.hpp"

namespace confab::rtp {
namespace {

using test::fromHex;

std::vector<uint8_t> pcmuPacket() {
  // PCMU (PT 0), marker set on the first packet of a talkspurt, 20 ms = 160 samples of µ-law
  // silence (0xFF).
  auto bytes = fromHex("80 80 1f 40  00 00 a0 00  12 34 56 78");
  bytes.insert(bytes.end(), 160, 0xFF);
  return bytes;
}

TEST(RtpPacket, ParsesPcmu) {
  auto bytes = pcmuPacket();
  ASSERT_EQ(RtpPacket::validate(bytes), RtpError::kOk);
  const auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->marker());
  EXPECT_EQ(p->payloadType(), 0);
  EXPECT_EQ(p->sequenceNumber(), 0x1f40);
  EXPECT_EQ(p->timestamp(), 0xa000U);
  EXPECT_EQ(p->ssrc(), 0x12345678U);
  EXPECT_EQ(p->csrcCount(), 0U);
  EXPECT_FALSE(p->hasExtension());
  EXPECT_EQ(p->extensionForm(), ExtensionForm::kNone);
  EXPECT_EQ(p->extensionProfile(), 0);
  EXPECT_TRUE(p->extensionBlock().empty());
  EXPECT_FALSE(p->hasPadding());
  EXPECT_EQ(p->paddingSize(), 0U);
  EXPECT_EQ(p->headerSize(), 12U);
  ASSERT_EQ(p->payload().size(), 160U);
  // A view, not a copy.
  EXPECT_EQ(p->payload().data(), bytes.data() + 12);
  EXPECT_FALSE(p->audioLevel(1));
}

TEST(RtpPacket, ParsesOpusWithOneByteExtensions) {
  // Opus (PT 111) as a browser sends it: ssrc-audio-level under id 1 (V=1, 41 -dBov) and a
  // 3-octet abs-send-time under id 2, two padding octets to the word.
  auto bytes = fromHex(
      "90 6f 3a 9c  00 03 c1 40  7c 1f 2a 0b"
      "be de 00 02  10 a9 22 12  34 56 00 00"
      "78 0b e4 c1  36 ec c5 80");
  const auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->marker());
  EXPECT_EQ(p->payloadType(), 111);
  EXPECT_EQ(p->sequenceNumber(), 0x3a9c);
  EXPECT_EQ(p->ssrc(), 0x7c1f2a0bU);
  EXPECT_EQ(p->extensionProfile(), 0xBEDE);
  EXPECT_EQ(p->extensionForm(), ExtensionForm::kOneByte);
  EXPECT_EQ(p->extensionBlock().size(), 8U);
  EXPECT_EQ(p->headerSize(), 24U);
  EXPECT_EQ(p->payload().size(), 8U);
  EXPECT_EQ(p->payload()[0], 0x78);

  std::vector<std::pair<uint8_t, size_t>> seen;
  for (const auto& e : p->extensions()) {
    seen.emplace_back(e.id, e.data.size());
  }
  EXPECT_EQ(seen, (std::vector<std::pair<uint8_t, size_t>>{{1, 1}, {2, 3}}));

  const auto level = p->audioLevel(1);
  ASSERT_TRUE(level);
  EXPECT_TRUE(level->voiceActivity);
  EXPECT_EQ(level->level, 41);
  const auto sendTime = p->findExtension(2);
  ASSERT_TRUE(sendTime);
  EXPECT_EQ((*sendTime)[0], 0x12);
  EXPECT_EQ((*sendTime)[2], 0x56);
  EXPECT_FALSE(p->findExtension(3));
}

TEST(RtpPacket, OneByteIdFifteenStopsTheWalk) {
  // RFC 8285 §4.2: elements before id 15 count, nothing after it.
  auto bytes = fromHex(
      "90 00 00 01  00 00 00 00  00 00 00 01"
      "be de 00 01  10 05 f0 30");
  const auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->findExtension(1));
  EXPECT_FALSE(p->findExtension(3));
}

TEST(RtpPacket, ParsesTwoByteExtensions) {
  // RFC 8285 §4.3: profile 0x1000 (appbits 0), id 1 with one octet (audio level, V=0, level
  // 5), a padding octet, id 5 with two octets, then a zero-length id 7.
  auto bytes = fromHex(
      "90 6f 00 01  00 00 00 a0  00 00 00 01"
      "10 00 00 03  01 01 05 00  05 02 aa bb  07 00 00 00"
      "de ad");
  const auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->extensionForm(), ExtensionForm::kTwoByte);
  std::vector<std::pair<uint8_t, size_t>> seen;
  for (const auto& e : p->extensions()) {
    seen.emplace_back(e.id, e.data.size());
  }
  EXPECT_EQ(seen, (std::vector<std::pair<uint8_t, size_t>>{{1, 1}, {5, 2}, {7, 0}}));
  const auto level = p->audioLevel(1);
  ASSERT_TRUE(level);
  EXPECT_FALSE(level->voiceActivity);
  EXPECT_EQ(level->level, 5);
  // Zero-length element: present, but no level in it.
  EXPECT_TRUE(p->findExtension(7));
  EXPECT_FALSE(p->audioLevel(7));
  EXPECT_EQ(p->payload().size(), 2U);
}

TEST(RtpPacket, TwoByteAppBitsAreStillTwoByteForm) {
  auto bytes = fromHex("90 00 00 01  00 00 00 00  00 00 00 01  10 0f 00 01  03 01 7f 00");
  const auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->extensionForm(), ExtensionForm::kTwoByte);
  ASSERT_TRUE(p->audioLevel(3));
  EXPECT_EQ(p->audioLevel(3)->level, 127);
}

TEST(RtpPacket, OtherExtensionProfilesAreOpaque) {
  auto bytes = fromHex("90 00 00 01  00 00 00 00  00 00 00 01  ab cd 00 01  10 20 30 40");
  const auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->extensionForm(), ExtensionForm::kOther);
  EXPECT_EQ(p->extensionBlock().size(), 4U);
  EXPECT_TRUE(p->extensions().begin() == std::default_sentinel);
  EXPECT_FALSE(p->findExtension(1));
  EXPECT_TRUE(p->payload().empty());
}

TEST(RtpPacket, ExtensionElementOverrunningTheBlockEndsTheWalk) {
  // id 1 claims 4 octets but only 3 remain in the block.
  auto bytes = fromHex("90 00 00 01  00 00 00 00  00 00 00 01  be de 00 01  13 aa bb cc  ff");
  const auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->findExtension(1));
  EXPECT_EQ(p->payload().size(), 1U);
}

TEST(RtpPacket, ParsesPadding) {
  // P set: 4 payload octets then 3 octets of padding, the last one counting them.
  auto bytes = fromHex("a0 00 00 05  00 00 03 20  00 00 00 09  01 02 03 04  00 00 03");
  const auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->hasPadding());
  EXPECT_EQ(p->paddingSize(), 3U);
  ASSERT_EQ(p->payload().size(), 4U);
  EXPECT_EQ(p->payload()[3], 0x04);
}

TEST(RtpPacket, PaddingCanTakeTheWholeBody) {
  auto bytes = fromHex("a0 00 00 05  00 00 03 20  00 00 00 09  00 00 00 04");
  const auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->payload().empty());
  EXPECT_EQ(p->paddingSize(), 4U);
}

TEST(RtpPacket, ParsesCsrcs) {
  // A mixer's PCMA (PT 8) packet naming two contributing sources.
  auto bytes = fromHex(
      "82 08 00 07  00 00 05 00  aa aa aa aa"
      "00 00 00 11  00 00 00 22"
      "d5 d5 d5 d5");
  const auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->payloadType(), 8);
  ASSERT_EQ(p->csrcCount(), 2U);
  EXPECT_EQ(p->csrc(0), 0x11U);
  EXPECT_EQ(p->csrc(1), 0x22U);
  EXPECT_EQ(p->headerSize(), 20U);
  EXPECT_EQ(p->payload().size(), 4U);
}

TEST(RtpPacket, RefusesMalformed) {
  // Truncated fixed header.
  EXPECT_EQ(RtpPacket::validate(fromHex("80 00 00 01  00 00 00 00  00 00 00")),
            RtpError::kTooShort);
  EXPECT_EQ(RtpPacket::validate({}), RtpError::kTooShort);
  // Version 1 and version 0.
  EXPECT_EQ(RtpPacket::validate(fromHex("40 00 00 01  00 00 00 00  00 00 00 01")),
            RtpError::kBadVersion);
  EXPECT_EQ(RtpPacket::validate(fromHex("00 00 00 01  00 00 00 00  00 00 00 01")),
            RtpError::kBadVersion);
  // CC = 3, one CSRC present.
  EXPECT_EQ(RtpPacket::validate(fromHex("83 00 00 01  00 00 00 00  00 00 00 01  00 00 00 11")),
            RtpError::kCsrcBeyondEnd);
  // X set, extension header itself cut short.
  EXPECT_EQ(RtpPacket::validate(fromHex("90 00 00 01  00 00 00 00  00 00 00 01  be de")),
            RtpError::kExtensionBeyondEnd);
  // Extension says 2 words, 1 present.
  EXPECT_EQ(RtpPacket::validate(
                fromHex("90 00 00 01  00 00 00 00  00 00 00 01  be de 00 02  10 05 00 00")),
            RtpError::kExtensionBeyondEnd);
  // Padding count 0.
  EXPECT_EQ(RtpPacket::validate(fromHex("a0 00 00 01  00 00 00 00  00 00 00 01  01 02 00")),
            RtpError::kBadPadding);
  // Padding count larger than the body.
  EXPECT_EQ(RtpPacket::validate(fromHex("a0 00 00 01  00 00 00 00  00 00 00 01  01 02 04")),
            RtpError::kBadPadding);
  // P set on a header-only packet: no octet to count with that is not the header.
  EXPECT_EQ(RtpPacket::validate(fromHex("a0 00 00 01  00 00 00 00  00 00 00 0c")),
            RtpError::kBadPadding);

  auto bad = fromHex("83 00 00 01  00 00 00 00  00 00 00 01  00 00 00 11");
  EXPECT_FALSE(RtpPacket::parse(bad));
}

TEST(RtpPacket, EveryTruncationOfAGoodPacketIsRefusedOrShorter) {
  // Cutting the Opus packet anywhere inside its header must be refused, never over-read.
  auto full = fromHex(
      "92 6f 3a 9c  00 03 c1 40  7c 1f 2a 0b  00 00 00 01  00 00 00 02"
      "be de 00 02  10 a9 22 12  34 56 00 00  78 0b");
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    if (n < 32) {
      EXPECT_FALSE(RtpPacket::parse(cut)) << n;
    } else {
      EXPECT_TRUE(RtpPacket::parse(cut)) << n;
    }
  }
}

TEST(RtpPacket, SettersRewriteInPlace) {
  auto bytes = pcmuPacket();
  auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p);
  p->setMarker(false);
  p->setPayloadType(96);
  p->setSequenceNumber(0xfffe);
  p->setTimestamp(0xdeadbeef);
  p->setSsrc(0xcafef00d);
  EXPECT_EQ(bytes[0], 0x80);
  EXPECT_EQ(bytes[1], 96);
  EXPECT_FALSE(p->marker());
  EXPECT_EQ(p->payloadType(), 96);
  p->setMarker(true);
  EXPECT_EQ(bytes[1], 0x80 | 96);
  EXPECT_EQ(p->payloadType(), 96);
  EXPECT_EQ(p->sequenceNumber(), 0xfffe);
  EXPECT_EQ(p->timestamp(), 0xdeadbeefU);
  EXPECT_EQ(p->ssrc(), 0xcafef00dU);
  EXPECT_EQ(fromHex("80 e0 ff fe  de ad be ef  ca fe f0 0d"),
            std::vector<uint8_t>(bytes.begin(), bytes.begin() + 12));
}

TEST(RtpBuilder, WritesPlainHeader) {
  std::array<uint8_t, 64> out{};
  RtpHeader h;
  h.marker = true;
  h.payloadType = 0;
  h.sequenceNumber = 0x1f40;
  h.timestamp = 0xa000;
  h.ssrc = 0x12345678;
  const std::array<uint8_t, 4> payload{0xff, 0xff, 0xff, 0xff};
  const size_t n = writeRtpPacket(out, h, payload);
  ASSERT_EQ(n, 16U);
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 16),
            fromHex("80 80 1f 40  00 00 a0 00  12 34 56 78  ff ff ff ff"));
}

TEST(RtpBuilder, RoundTripsCsrcsAndLevels) {
  const std::array<uint32_t, 3> csrcs{0x11, 0x22, 0x33};
  const std::array<uint8_t, 3> levels{10, 127, 0xC5};  // the top bit is reserved: sent as 0
  RtpHeader h;
  h.payloadType = 111;
  h.sequenceNumber = 65535;
  h.timestamp = 0xfffffff0;
  h.ssrc = 0xabcdef01;
  h.csrcs = csrcs;
  h.audioLevelId = 1;
  h.audioLevel = {true, 30};
  h.csrcLevelsId = 3;
  h.csrcLevels = levels;
  const std::array<uint8_t, 5> payload{1, 2, 3, 4, 5};
  std::array<uint8_t, 128> out{};
  const size_t n = writeRtpPacket(out, h, payload);
  // 12 + 12 CSRC + 4 extension header + (2 + 4 element octets, padded to 8) + 5.
  ASSERT_EQ(n, 41U);

  auto p = RtpPacket::parse(std::span(out).first(n));
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->marker());
  EXPECT_EQ(p->payloadType(), 111);
  EXPECT_EQ(p->sequenceNumber(), 65535);
  EXPECT_EQ(p->timestamp(), 0xfffffff0U);
  EXPECT_EQ(p->ssrc(), 0xabcdef01U);
  ASSERT_EQ(p->csrcCount(), 3U);
  EXPECT_EQ(p->csrc(2), 0x33U);
  EXPECT_EQ(p->extensionForm(), ExtensionForm::kOneByte);
  EXPECT_EQ(p->audioLevel(1), (AudioLevel{true, 30}));
  const auto csrcLevels = p->findExtension(3);
  ASSERT_TRUE(csrcLevels);
  ASSERT_EQ(csrcLevels->size(), 3U);
  EXPECT_EQ((*csrcLevels)[0], 10);
  EXPECT_EQ((*csrcLevels)[1], 127);
  EXPECT_EQ((*csrcLevels)[2], 0x45);
  ASSERT_EQ(p->payload().size(), 5U);
  EXPECT_EQ(p->payload()[4], 5);
}

TEST(RtpBuilder, FailsRatherThanOverflows) {
  const std::array<uint32_t, 2> csrcs{1, 2};
  const std::array<uint8_t, 2> levels{1, 2};
  RtpHeader h;
  h.csrcs = csrcs;
  h.audioLevelId = 1;
  h.csrcLevelsId = 2;
  h.csrcLevels = levels;
  const std::array<uint8_t, 20> payload{};
  std::array<uint8_t, 128> big{};
  const size_t full = writeRtpPacket(big, h, payload);
  ASSERT_EQ(full, 12U + 8U + 4U + 8U + 20U);
  for (size_t size = 0; size < full; ++size) {
    // Guard octets past the span must stay untouched.
    std::vector<uint8_t> out(size + 8, 0xEE);
    EXPECT_EQ(writeRtpPacket(std::span(out).first(size), h, payload), 0U) << size;
    for (size_t i = size; i < out.size(); ++i) {
      EXPECT_EQ(out[i], 0xEE) << size << " " << i;
    }
  }
}

TEST(RtpBuilder, RefusesFieldsOutOfRange) {
  std::array<uint8_t, 128> out{};
  RtpHeader h;
  h.payloadType = 128;
  EXPECT_EQ(writeRtpHeader(out, h), 0U);
  h.payloadType = 0;
  h.audioLevelId = 15;
  EXPECT_EQ(writeRtpHeader(out, h), 0U);
  h.audioLevelId = 0;
  const std::array<uint32_t, 16> tooMany{};
  h.csrcs = tooMany;
  EXPECT_EQ(writeRtpHeader(out, h), 0U);
  const std::array<uint32_t, 2> two{};
  const std::array<uint8_t, 1> one{};
  h.csrcs = two;
  h.csrcLevelsId = 4;
  h.csrcLevels = one;  // must match the CSRC count
  EXPECT_EQ(writeRtpHeader(out, h), 0U);
}

TEST(Demultiplex, SortsByFirstOctets) {
  const auto rtp = pcmuPacket();
  EXPECT_EQ(classifyPacket(rtp), PacketKind::kRtp);
  EXPECT_FALSE(looksLikeRtcp(rtp));
  // SR (200) and RR (201), and PT 72 with the marker set, which is how an RTP parser would
  // misread 200: RFC 5761 §4 calls them all RTCP.
  EXPECT_EQ(classifyPacket(fromHex("80 c8 00 06")), PacketKind::kRtcp);
  EXPECT_EQ(classifyPacket(fromHex("81 c9 00 07")), PacketKind::kRtcp);
  EXPECT_TRUE(looksLikeRtcp(fromHex("80 c8")));
  EXPECT_TRUE(looksLikeRtcp(fromHex("80 df")));
  EXPECT_FALSE(looksLikeRtcp(fromHex("80 e0")));  // PT 96 with marker
  EXPECT_FALSE(looksLikeRtcp(fromHex("80 bf")));  // PT 63 with marker
  // STUN binding request, DTLS handshake, TURN channel data, ZRTP.
  EXPECT_EQ(classifyPacket(fromHex("00 01 00 00 21 12 a4 42")), PacketKind::kStun);
  EXPECT_EQ(classifyPacket(fromHex("16 fe fd 00")), PacketKind::kDtls);
  EXPECT_EQ(classifyPacket(fromHex("40 00 00 10")), PacketKind::kTurnChannel);
  EXPECT_EQ(classifyPacket(fromHex("10 00 00 00")), PacketKind::kZrtp);
  EXPECT_EQ(classifyPacket(fromHex("c0 00")), PacketKind::kUnknown);
  EXPECT_EQ(classifyPacket(fromHex("80")), PacketKind::kUnknown);
  EXPECT_EQ(classifyPacket({}), PacketKind::kUnknown);
}

}  // namespace
}  // namespace confab::rtp
