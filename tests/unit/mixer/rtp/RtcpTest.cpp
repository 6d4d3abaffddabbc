// RTCP compound validation, views and builders, on golden bytes written out by hand.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "mixer/rtp/Rtcp.hpp"
#include "tests/unit/mixer/rtp/HexBytes.hpp"

namespace confab::rtp {
namespace {

using test::fromHex;

// SR + SDES CNAME, the way a browser sends it with no remote sources yet.
std::vector<uint8_t> browserSrSdes() {
  return fromHex(
      // SR, RC 0, length 6: SSRC, NTP e85b1a2c.4ccccccd, RTP ts, 100 packets, 4000 octets.
      "80 c8 00 06  7c 1f 2a 0b  e8 5b 1a 2c  4c cc cc cd  00 03 c1 40  00 00 00 64  00 00 0f a0"
      // SDES, SC 1, length 6: CNAME of 16 characters, then two null octets.
      "81 ca 00 06  7c 1f 2a 0b  01 10 34 47 76 37 6e 57 46 76 4d 70 32 6c 51 39 70 41  00 00");
}

// RR + SDES + BYE, the way a softphone leaves a call.
std::vector<uint8_t> softphoneRrSdesBye() {
  return fromHex(
      // RR, RC 1: fraction 13, cumulative -5 (duplicates), ext. highest 0x00013a9c, jitter 42,
      // LSR 1a2c4ccc, DLSR 1.5 s.
      "81 c9 00 07  11 22 33 44"
      "7c 1f 2a 0b  0d ff ff fb  00 01 3a 9c  00 00 00 2a  1a 2c 4c cc  00 01 80 00"
      // SDES: CNAME "b@192.0.2.7" (11 octets), padded with three nulls.
      "81 ca 00 05  11 22 33 44  01 0b 62 40 31 39 32 2e 30 2e 32 2e 37  00 00 00"
      // BYE, SC 1, reason "leaving".
      "81 cb 00 03  11 22 33 44  07 6c 65 61 76 69 6e 67");
}

TEST(Rtcp, ParsesSenderReportAndCname) {
  const auto bytes = browserSrSdes();
  ASSERT_EQ(RtcpCompound::validate(bytes), RtcpError::kOk);
  const auto compound = RtcpCompound::parse(bytes);
  ASSERT_TRUE(compound);
  std::vector<uint8_t> types;
  for (const auto& packet : *compound) {
    types.push_back(packet.type);
  }
  ASSERT_EQ(types, (std::vector<uint8_t>{200, 202}));

  auto it = compound->begin();
  const auto sr = SenderReport::parse(*it);
  ASSERT_TRUE(sr);
  EXPECT_EQ(sr->ssrc(), 0x7c1f2a0bU);
  const SenderInfo info = sr->senderInfo();
  EXPECT_EQ(info.ntpTimestamp, 0xe85b1a2c4ccccccdULL);
  EXPECT_EQ(info.rtpTimestamp, 0x0003c140U);
  EXPECT_EQ(info.packetCount, 100U);
  EXPECT_EQ(info.octetCount, 4000U);
  EXPECT_EQ(sr->reportCount(), 0U);
  EXPECT_FALSE(ReceiverReport::parse(*it));

  ++it;
  const auto sdes = SourceDescription::parse(*it);
  ASSERT_TRUE(sdes);
  EXPECT_EQ(sdes->chunkCount(), 1U);
  EXPECT_EQ(sdes->cname(0x7c1f2a0b), "4Gv7nWFvMp2lQ9pA");
  EXPECT_FALSE(sdes->cname(0x11111111));
  ++it;
  EXPECT_TRUE(it == compound->end());
}

TEST(Rtcp, ParsesReceiverReportSdesAndBye) {
  const auto bytes = softphoneRrSdesBye();
  const auto compound = RtcpCompound::parse(bytes);
  ASSERT_TRUE(compound);
  int seen = 0;
  for (const auto& packet : *compound) {
    ++seen;
    if (const auto rr = ReceiverReport::parse(packet)) {
      EXPECT_EQ(rr->ssrc(), 0x11223344U);
      ASSERT_EQ(rr->reportCount(), 1U);
      const ReportBlock b = rr->reportBlock(0);
      EXPECT_EQ(b.ssrc, 0x7c1f2a0bU);
      EXPECT_EQ(b.fractionLost, 13);
      EXPECT_EQ(b.cumulativeLost, -5);
      EXPECT_EQ(b.extendedHighestSequence, 0x00013a9cU);
      EXPECT_EQ(b.jitter, 42U);
      EXPECT_EQ(b.lastSenderReport, 0x1a2c4cccU);
      EXPECT_EQ(b.delaySinceLastSenderReport, 0x00018000U);
    } else if (const auto sdes = SourceDescription::parse(packet)) {
      int chunks = 0;
      for (const auto& chunk : *sdes) {
        ++chunks;
        EXPECT_EQ(chunk.ssrc, 0x11223344U);
        int items = 0;
        for (const auto& item : chunk.items()) {
          ++items;
          EXPECT_EQ(item.type, kSdesCname);
          EXPECT_EQ(item.text, "b@192.0.2.7");
        }
        EXPECT_EQ(items, 1);
      }
      EXPECT_EQ(chunks, 1);
    } else if (const auto bye = Bye::parse(packet)) {
      ASSERT_EQ(bye->ssrcCount(), 1U);
      EXPECT_EQ(bye->ssrc(0), 0x11223344U);
      EXPECT_EQ(bye->reason(), "leaving");
    } else {
      ADD_FAILURE() << "unexpected packet type " << int{packet.type};
    }
  }
  EXPECT_EQ(seen, 3);
}

TEST(Rtcp, SkipsFeedbackAndAppPackets) {
  // Empty RR, then PSFB PLI (RFC 4585 §6.3.1), RTPFB generic NACK (§6.2.1), APP "conf",
  // then SDES with two chunks (the second one carrying NOTE before CNAME).
  const auto bytes = fromHex(
      "80 c9 00 01  00 00 00 01"
      "81 ce 00 02  00 00 00 01  00 00 00 02"
      "81 cd 00 03  00 00 00 01  00 00 00 02  3a 9c 00 05"
      "80 cc 00 02  00 00 00 01  63 6f 6e 66"
      "82 ca 00 05  00 00 00 01  01 01 61 00  00 00 00 02  07 01 6e 01  01 62 00 00");
  const auto compound = RtcpCompound::parse(bytes);
  ASSERT_TRUE(compound) << static_cast<int>(RtcpCompound::validate(bytes));
  std::vector<uint8_t> types;
  std::vector<uint8_t> counts;
  for (const auto& packet : *compound) {
    types.push_back(packet.type);
    counts.push_back(packet.count);
  }
  EXPECT_EQ(types, (std::vector<uint8_t>{201, 206, 205, 204, 202}));
  EXPECT_EQ(counts, (std::vector<uint8_t>{0, 1, 1, 0, 2}));
  auto it = compound->begin();
  for (int i = 0; i < 4; ++i) {
    ++it;
  }
  const auto sdes = SourceDescription::parse(*it);
  ASSERT_TRUE(sdes);
  EXPECT_EQ(sdes->cname(1), "a");
  EXPECT_EQ(sdes->cname(2), "b");
}

TEST(Rtcp, PaddingOnTheLastPacketIsStripped) {
  // RR then BYE with no reason and 4 octets of padding (P set, count 4).
  const auto bytes = fromHex("80 c9 00 01  00 00 00 01  a1 cb 00 02  00 00 00 01  00 00 00 04");
  const auto compound = RtcpCompound::parse(bytes);
  ASSERT_TRUE(compound);
  auto it = compound->begin();
  ++it;
  EXPECT_EQ(it->bytes.size(), 8U);
  const auto bye = Bye::parse(*it);
  ASSERT_TRUE(bye);
  EXPECT_EQ(bye->ssrcCount(), 1U);
  EXPECT_FALSE(bye->reason());
}

TEST(Rtcp, RefusesMalformed) {
  // Shorter than a header.
  EXPECT_EQ(RtcpCompound::validate(fromHex("80 c9 00")), RtcpError::kTooShort);
  EXPECT_EQ(RtcpCompound::validate({}), RtcpError::kTooShort);
  // Version 1.
  EXPECT_EQ(RtcpCompound::validate(fromHex("40 c9 00 01  00 00 00 01")), RtcpError::kBadVersion);
  // Version 1 in the second packet.
  EXPECT_EQ(RtcpCompound::validate(fromHex("80 c9 00 01  00 00 00 01  41 cb 00 01  00 00 00 01")),
            RtcpError::kBadVersion);
  // First packet is not SR/RR.
  EXPECT_EQ(RtcpCompound::validate(fromHex("81 cb 00 01  00 00 00 01")),
            RtcpError::kFirstNotReport);
  // Length runs past the end.
  EXPECT_EQ(RtcpCompound::validate(fromHex("80 c9 00 02  00 00 00 01")), RtcpError::kTooShort);
  // Lengths leave two stray octets at the end.
  EXPECT_EQ(RtcpCompound::validate(fromHex("80 c9 00 01  00 00 00 01  81 cb")),
            RtcpError::kTooShort);
  // Padding on the first of two packets.
  EXPECT_EQ(RtcpCompound::validate(fromHex("a0 c9 00 01  00 00 00 04  81 cb 00 01  00 00 00 01")),
            RtcpError::kPaddingNotLast);
  // Padding count 0, and bigger than the body.
  EXPECT_EQ(RtcpCompound::validate(fromHex("a0 c9 00 01  00 00 00 00")), RtcpError::kBadPadding);
  EXPECT_EQ(RtcpCompound::validate(fromHex("a0 c9 00 01  00 00 00 05")), RtcpError::kBadPadding);
  // RR says two report blocks, has one.
  EXPECT_EQ(RtcpCompound::validate(fromHex(
                "82 c9 00 07  11 22 33 44"
                "7c 1f 2a 0b  0d ff ff fb  00 01 3a 9c  00 00 00 2a  1a 2c 4c cc  00 01 80 00")),
            RtcpError::kBadReport);
  // SR too short for its sender info.
  EXPECT_EQ(RtcpCompound::validate(fromHex("80 c8 00 01  00 00 00 01")), RtcpError::kBadReport);
  // SDES item length past the packet.
  EXPECT_EQ(RtcpCompound::validate(
                fromHex("80 c9 00 01  00 00 00 01  81 ca 00 02  00 00 00 01  01 09 61 62")),
            RtcpError::kBadSdes);
  // SDES chunk without its terminating null item.
  EXPECT_EQ(RtcpCompound::validate(
                fromHex("80 c9 00 01  00 00 00 01  81 ca 00 02  00 00 00 01  01 02 61 62")),
            RtcpError::kBadSdes);
  // SDES claims two chunks, holds one.
  EXPECT_EQ(RtcpCompound::validate(
                fromHex("80 c9 00 01  00 00 00 01  82 ca 00 02  00 00 00 01  01 01 61 00")),
            RtcpError::kBadSdes);
  // BYE with more SSRCs than octets, and with a reason running past the end.
  EXPECT_EQ(RtcpCompound::validate(fromHex("80 c9 00 01  00 00 00 01  82 cb 00 01  00 00 00 01")),
            RtcpError::kBadBye);
  EXPECT_EQ(RtcpCompound::validate(
                fromHex("80 c9 00 01  00 00 00 01  81 cb 00 02  00 00 00 01  07 61 62 63")),
            RtcpError::kBadBye);
  // An RTP packet sent to the RTCP port.
  EXPECT_EQ(RtcpCompound::validate(fromHex("80 00 1f 40  00 00 a0 00  12 34 56 78")),
            RtcpError::kFirstNotReport);
  EXPECT_FALSE(RtcpCompound::parse(fromHex("40 c9 00 01  00 00 00 01")));
}

TEST(Rtcp, EveryTruncationOfAGoodCompoundIsRefused) {
  const auto full = softphoneRrSdesBye();
  for (size_t n = 0; n < full.size(); ++n) {
    const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    const bool atBoundary = n == 32 || n == 56;
    EXPECT_EQ(RtcpCompound::parse(cut).has_value(), atBoundary) << n;
  }
}

TEST(RtcpBuilder, SenderReportCompoundRoundTrips) {
  const std::array<ReportBlock, 2> blocks{
      ReportBlock{0x11, 25, 1234, 0x0002fffe, 80, 0x12345678, 0x00020000},
      ReportBlock{0x22, 0, -3, 7, 0, 0, 0}};
  const SenderInfo info{0xe85b1a2c80000000ULL, 160000, 500, 80000};
  std::array<uint8_t, 256> out{};
  const size_t n = writeSenderReportCompound(out, 0xabcdef01, info, blocks, "confab@example");
  // SR 28 + 48, SDES 8 + 2 + 14 + null, padded to 28.
  ASSERT_EQ(n, 76U + 28U);
  const auto compound = RtcpCompound::parse(std::span(out).first(n));
  ASSERT_TRUE(compound);
  auto it = compound->begin();
  const auto sr = SenderReport::parse(*it);
  ASSERT_TRUE(sr);
  EXPECT_EQ(sr->ssrc(), 0xabcdef01U);
  EXPECT_EQ(sr->senderInfo(), info);
  ASSERT_EQ(sr->reportCount(), 2U);
  EXPECT_EQ(sr->reportBlock(0), blocks[0]);
  EXPECT_EQ(sr->reportBlock(1), blocks[1]);
  ++it;
  const auto sdes = SourceDescription::parse(*it);
  ASSERT_TRUE(sdes);
  EXPECT_EQ(sdes->cname(0xabcdef01), "confab@example");
}

TEST(RtcpBuilder, ReceiverReportCompoundWithByeRoundTrips) {
  const std::array<ReportBlock, 1> blocks{ReportBlock{0x7c1f2a0b, 13, -5, 0x13a9c, 42, 1, 2}};
  std::array<uint8_t, 256> out{};
  size_t n = writeReceiverReportCompound(out, 0x11223344, blocks, "b@192.0.2.7");
  ASSERT_GT(n, 0U);
  const std::array<uint32_t, 1> ssrcs{0x11223344};
  const size_t bye = writeBye(std::span(out).subspan(n), ssrcs, "leaving");
  ASSERT_EQ(bye, 16U);
  n += bye;
  // Exactly the golden softphone compound, except for the report block's LSR/DLSR.
  auto golden = softphoneRrSdesBye();
  golden[24] = 0;
  golden[25] = 0;
  golden[26] = 0;
  golden[27] = 1;
  golden[28] = 0;
  golden[29] = 0;
  golden[30] = 0;
  golden[31] = 2;
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)),
            golden);
}

TEST(RtcpBuilder, ByeWithoutReasonAndLimits) {
  std::array<uint8_t, 64> out{};
  const std::array<uint32_t, 2> ssrcs{1, 2};
  ASSERT_EQ(writeBye(out, ssrcs), 12U);
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 12),
            fromHex("82 cb 00 02  00 00 00 01  00 00 00 02"));
  // Cumulative lost saturates at the 24-bit signed range.
  const std::array<ReportBlock, 1> blocks{ReportBlock{1, 0, -20'000'000, 0, 0, 0, 0}};
  ASSERT_EQ(writeReceiverReport(out, 9, blocks), 32U);
  const auto compound = RtcpCompound::parse(std::span(out).first(32));
  ASSERT_TRUE(compound);
  EXPECT_EQ(ReceiverReport::parse(*compound->begin())->reportBlock(0).cumulativeLost, -0x800000);
}

TEST(RtcpBuilder, FailsRatherThanOverflows) {
  const std::array<ReportBlock, 1> blocks{};
  const std::array<uint32_t, 1> ssrcs{5};
  std::array<uint8_t, 256> big{};
  const size_t srSize = writeSenderReportCompound(big, 1, {}, blocks, "cname");
  const size_t rrSize = writeReceiverReportCompound(big, 1, blocks, "cname");
  const size_t byeSize = writeBye(big, ssrcs, "why");
  for (size_t size = 0; size < srSize; ++size) {
    std::vector<uint8_t> out(size + 4, 0xEE);
    const auto span = std::span(out).first(size);
    EXPECT_EQ(writeSenderReportCompound(span, 1, {}, blocks, "cname"), 0U) << size;
    if (size < rrSize) {
      EXPECT_EQ(writeReceiverReportCompound(span, 1, blocks, "cname"), 0U) << size;
    }
    if (size < byeSize) {
      EXPECT_EQ(writeBye(span, ssrcs, "why"), 0U) << size;
    }
    for (size_t i = size; i < out.size(); ++i) {
      EXPECT_EQ(out[i], 0xEE) << size;
    }
  }
  const std::vector<ReportBlock> tooMany(32);
  EXPECT_EQ(writeReceiverReport(big, 1, tooMany), 0U);
  const std::string longName(256, 'x');
  EXPECT_EQ(writeSdesCname(big, 1, longName), 0U);
}

TEST(RtcpTime, NtpConversions) {
  using namespace std::chrono;
  // The Unix epoch plus half a second is NTP 2208988800.5.
  const system_clock::time_point half{milliseconds(500)};
  const uint64_t ntp = ntpFromSystemTime(half);
  EXPECT_EQ(ntp >> 32, 2208988800ULL);
  EXPECT_EQ(ntp & 0xFFFFFFFFULL, 0x80000000ULL);
  EXPECT_EQ(systemTimeFromNtp(ntp), half);
  EXPECT_EQ(compactNtp(0x0102030405060708ULL), 0x03040506U);

  const system_clock::time_point t{seconds(1'700'000'000) + microseconds(123'456)};
  const auto back = systemTimeFromNtp(ntpFromSystemTime(t));
  EXPECT_LE(duration_cast<nanoseconds>(back - t).count(), 1);
  EXPECT_GE(duration_cast<nanoseconds>(back - t).count(), -1);
  // After 2036-02-07 the seconds wrap into era 1.
  const system_clock::time_point era1{seconds(2'100'000'000)};
  EXPECT_EQ(duration_cast<seconds>(systemTimeFromNtp(ntpFromSystemTime(era1)) - era1).count(), 0);

  EXPECT_EQ(compactNtpFromDuration(milliseconds(1500)), 0x18000U);
  EXPECT_EQ(compactNtpFromDuration(nanoseconds(-5)), 0U);
  EXPECT_EQ(durationFromCompactNtp(0x18000U), microseconds(1'500'000));
}

TEST(RtcpTime, RoundTripFromLsrAndDlsr) {
  // RFC 3550 §6.4.1 example: A = 0xb710:8000, LSR = 0xb705:2000, DLSR = 0x0005:4000 (5.25 s)
  // gives 0x0006:2000, 6.125 s.
  const auto rtt = roundTripTime(0xb7108000U, 0xb7052000U, 0x00054000U);
  ASSERT_TRUE(rtt);
  EXPECT_EQ(*rtt, 0x00062000U);
  EXPECT_EQ(durationFromCompactNtp(*rtt), std::chrono::microseconds(6'125'000));
  // No SR seen by the peer yet.
  EXPECT_FALSE(roundTripTime(0xb7108000U, 0, 0));
  // Skew making it negative clamps to zero.
  EXPECT_EQ(roundTripTime(0x00010000U, 0x00010000U, 0x00000100U), 0U);
  // Across the 32-bit wrap of the compact clock.
  EXPECT_EQ(roundTripTime(0x00000100U, 0xFFFFFF00U, 0x00000080U), 0x180U);
}

}  // namespace
}  // namespace confab::rtp
