// confab::srtp::Session against known answers (libsrtp's own validation vectors, test/srtp_driver.c
// in libsrtp 2.5.0: srtp_validate() and srtp_validate_gcm()), against libsrtp driven directly with
// a separately made policy, and through the failures the counters must tell apart.
#include <gtest/gtest.h>
#include <srtp2/srtp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "mixer/srtp/HmacSha1.hpp"
#include "mixer/srtp/Library.hpp"
#include "mixer/srtp/Session.hpp"

namespace confab::srtp {
namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::array kAllSuites = {Suite::kAesCm128HmacSha1_80, Suite::kAesCm128HmacSha1_32,
                                   Suite::kAeadAes128Gcm};

// libsrtp test/srtp_driver.c test_key: 16-byte master key, 14-byte master salt.
const Bytes kAesCmKeySalt = {0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f,
                             0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39, 0x0e, 0xc6, 0x75, 0xad,
                             0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6};
// libsrtp test/srtp_driver.c test_key_gcm: 16-byte master key, 12-byte master salt.
const Bytes kGcmKeySalt = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                           0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xa0, 0xa1, 0xa2, 0xa3,
                           0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab};

// V=2, PT=15, seq 0x1234, ts 0xdecafbad, SSRC 0xcafebabe, 16 bytes of 0xab.
const Bytes kRtpPlain = {0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe,
                         0xba, 0xbe, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
                         0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab};
// Sender report header for SSRC 0xcafebabe, 16 bytes of 0xab.
const Bytes kRtcpPlain = {0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0xab, 0xab, 0xab, 0xab,
                          0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab};

// srtp_validate(): AES_CM_128_HMAC_SHA1_80, header kept, payload encrypted, 10-byte tag.
const Bytes kRtpAesCm80 = {0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe,
                           0xba, 0xbe, 0x4e, 0x55, 0xdc, 0x4c, 0xe7, 0x99, 0x78, 0xd8,
                           0x8c, 0xa4, 0xd2, 0x15, 0x94, 0x9d, 0x24, 0x02, 0xb7, 0x8d,
                           0x6a, 0xcc, 0x99, 0xea, 0x17, 0x9b, 0x8d, 0xbb};
// srtp_validate(): SRTCP, E=1 and index 1, then the 10-byte tag.
const Bytes kRtcpAesCm80 = {0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0x71, 0x28,
                            0x03, 0x5b, 0xe4, 0x87, 0xb9, 0xbd, 0xbe, 0xf8, 0x90, 0x41,
                            0xf9, 0x77, 0xa5, 0xa8, 0x80, 0x00, 0x00, 0x01, 0x99, 0x3e,
                            0x08, 0xcd, 0x54, 0xd6, 0xc1, 0x23, 0x07, 0x98};
// srtp_validate_gcm(): AEAD_AES_128_GCM, 16-byte tag.
const Bytes kRtpGcm = {0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba,
                       0xbe, 0xc5, 0x00, 0x2e, 0xde, 0x04, 0xcf, 0xdd, 0x2e, 0xb9, 0x11,
                       0x59, 0xe0, 0x88, 0x0a, 0xa0, 0x6e, 0xd2, 0x97, 0x68, 0x26, 0xf7,
                       0x96, 0xb2, 0x01, 0xdf, 0x31, 0x31, 0xa1, 0x27, 0xe8, 0xa3, 0x92};
// srtp_validate_gcm(): SRTCP, tag then E=1 and index 1 (RFC 7714 §9.1 puts the index last).
const Bytes kRtcpGcm = {0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0xc9, 0x8b, 0x8b,
                        0x5d, 0xf0, 0x39, 0x2a, 0x55, 0x85, 0x2b, 0x6c, 0x21, 0xac, 0x8e,
                        0x70, 0x25, 0xc5, 0x2c, 0x6f, 0xbe, 0xa2, 0xb3, 0xb4, 0x46, 0xea,
                        0x31, 0x12, 0x3b, 0xa8, 0x8c, 0xe6, 0x1e, 0x80, 0x00, 0x00, 0x01};

const Bytes& keyFor(Suite suite) {
  return suite == Suite::kAeadAes128Gcm ? kGcmKeySalt : kAesCmKeySalt;
}

Session make(Suite suite, Direction direction, const Bytes& keySalt) {
  std::string error;
  auto session = Session::create(suite, direction, keySalt, &error);
  EXPECT_TRUE(session.has_value()) << error;
  if (!session) {
    throw std::runtime_error(error);
  }
  return std::move(*session);
}

// A PCMU-like RTP packet: V=2, PT 0, the given sequence number and SSRC, payload bytes that vary.
Bytes rtpPacket(std::uint16_t seq, std::uint32_t ssrc, std::size_t payload = 160) {
  Bytes packet(12 + payload);
  const std::uint32_t timestamp = 160u * seq;
  packet[0] = 0x80;
  packet[1] = 0x00;
  packet[2] = static_cast<std::uint8_t>(seq >> 8);
  packet[3] = static_cast<std::uint8_t>(seq);
  for (std::size_t i = 0; i < 4; ++i) {
    const std::size_t shift = 24 - 8 * i;
    packet[4 + i] = static_cast<std::uint8_t>(timestamp >> shift);
    packet[8 + i] = static_cast<std::uint8_t>(ssrc >> shift);
  }
  for (std::size_t i = 12; i < packet.size(); ++i) {
    packet[i] = static_cast<std::uint8_t>(i * 7 + seq);
  }
  return packet;
}

// Receiver report with no report blocks: V=2, PT 201, length 1 word, sender SSRC.
Bytes rtcpPacket(std::uint32_t ssrc) {
  return {0x80,
          0xc9,
          0x00,
          0x01,
          static_cast<std::uint8_t>(ssrc >> 24),
          static_cast<std::uint8_t>(ssrc >> 16),
          static_cast<std::uint8_t>(ssrc >> 8),
          static_cast<std::uint8_t>(ssrc)};
}

// The packet in a buffer with room for the largest trailer behind it.
struct Packet {
  explicit Packet(const Bytes& bytes)
      : buffer(bytes.size() + SRTP_MAX_TRAILER_LEN), length(bytes.size()) {
    std::copy(bytes.begin(), bytes.end(), buffer.begin());
  }
  [[nodiscard]] Bytes bytes() const {
    return {buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(length)};
  }
  Bytes buffer;
  std::size_t length;
};

Bytes protectRtp(Session& session, const Bytes& plain) {
  Packet packet(plain);
  EXPECT_TRUE(session.protectRtp(packet.buffer, packet.length));
  return packet.bytes();
}

Bytes protectRtcp(Session& session, const Bytes& plain) {
  Packet packet(plain);
  EXPECT_TRUE(session.protectRtcp(packet.buffer, packet.length));
  return packet.bytes();
}

// An unprotect on a copy; the plain packet, or nothing when refused.
std::optional<Bytes> unprotectRtp(Session& session, const Bytes& protectedBytes) {
  Packet packet(protectedBytes);
  if (!session.unprotectRtp(packet.buffer, packet.length)) {
    return std::nullopt;
  }
  return packet.bytes();
}

std::optional<Bytes> unprotectRtcp(Session& session, const Bytes& protectedBytes) {
  Packet packet(protectedBytes);
  if (!session.unprotectRtcp(packet.buffer, packet.length)) {
    return std::nullopt;
  }
  return packet.bytes();
}

// libsrtp driven directly, with its own policy for one SSRC: the reference our wrapper must match.
class ReferenceSrtp {
 public:
  ReferenceSrtp(Suite suite, const Bytes& keySalt, std::uint32_t ssrc) : key_(keySalt) {
    srtp_policy_t policy;
    std::memset(&policy, 0, sizeof policy);
    switch (suite) {
      case Suite::kAesCm128HmacSha1_80:
        srtp_crypto_policy_set_rtp_default(&policy.rtp);
        srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
        break;
      case Suite::kAesCm128HmacSha1_32:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
        srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
        break;
      case Suite::kAeadAes128Gcm:
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
        break;
    }
    policy.ssrc.type = ssrc_specific;
    policy.ssrc.value = ssrc;
    policy.key = key_.data();
    policy.window_size = 128;
    EXPECT_EQ(srtp_create(&context_, &policy), srtp_err_status_ok);
  }
  ReferenceSrtp(const ReferenceSrtp&) = delete;
  ReferenceSrtp& operator=(const ReferenceSrtp&) = delete;
  ~ReferenceSrtp() { srtp_dealloc(context_); }

  Bytes protect(const Bytes& plain, bool rtcp = false) {
    Packet packet(plain);
    int len = static_cast<int>(packet.length);
    const auto status = rtcp ? srtp_protect_rtcp(context_, packet.buffer.data(), &len)
                             : srtp_protect(context_, packet.buffer.data(), &len);
    EXPECT_EQ(status, srtp_err_status_ok);
    packet.length = static_cast<std::size_t>(len);
    return packet.bytes();
  }
  srtp_t context() { return context_; }

 private:
  Bytes key_;
  srtp_t context_ = nullptr;
};

class SrtpSuiteTest : public ::testing::TestWithParam<Suite> {};

std::string suiteName(const ::testing::TestParamInfo<Suite>& info) {
  switch (info.param) {
    case Suite::kAesCm128HmacSha1_80:
      return "AesCm80";
    case Suite::kAesCm128HmacSha1_32:
      return "AesCm32";
    case Suite::kAeadAes128Gcm:
      return "Gcm";
  }
  return "Unknown";
}

INSTANTIATE_TEST_SUITE_P(AllSuites, SrtpSuiteTest, ::testing::ValuesIn(kAllSuites), suiteName);

// --- Known answers -------------------------------------------------------------------------------

TEST(SrtpKnownAnswer, AesCm80RtpAndRtcp) {
  Session out = make(Suite::kAesCm128HmacSha1_80, Direction::kOutbound, kAesCmKeySalt);
  Session in = make(Suite::kAesCm128HmacSha1_80, Direction::kInbound, kAesCmKeySalt);
  EXPECT_EQ(protectRtp(out, kRtpPlain), kRtpAesCm80);
  EXPECT_EQ(protectRtcp(out, kRtcpPlain), kRtcpAesCm80);
  EXPECT_EQ(unprotectRtp(in, kRtpAesCm80), kRtpPlain);
  EXPECT_EQ(unprotectRtcp(in, kRtcpAesCm80), kRtcpPlain);
}

// RFC 3711 §4.2: the tag is the leftmost bits of the same HMAC-SHA1 under the same derived keys,
// and the keystream does not depend on the tag length, so the _32 packet is the _80 one cut short.
// SRTCP keeps its 80-bit tag (RFC 4568 §6.2.2).
TEST(SrtpKnownAnswer, AesCm32IsTheSamePacketWithAShorterTag) {
  Session out = make(Suite::kAesCm128HmacSha1_32, Direction::kOutbound, kAesCmKeySalt);
  Session in = make(Suite::kAesCm128HmacSha1_32, Direction::kInbound, kAesCmKeySalt);
  const Bytes expected(kRtpAesCm80.begin(), kRtpAesCm80.begin() + 28 + 4);
  EXPECT_EQ(protectRtp(out, kRtpPlain), expected);
  EXPECT_EQ(protectRtcp(out, kRtcpPlain), kRtcpAesCm80);
  EXPECT_EQ(unprotectRtp(in, expected), kRtpPlain);
  EXPECT_EQ(unprotectRtcp(in, kRtcpAesCm80), kRtcpPlain);
}

TEST(SrtpKnownAnswer, AeadAes128GcmRtpAndRtcp) {
  Session out = make(Suite::kAeadAes128Gcm, Direction::kOutbound, kGcmKeySalt);
  Session in = make(Suite::kAeadAes128Gcm, Direction::kInbound, kGcmKeySalt);
  EXPECT_EQ(protectRtp(out, kRtpPlain), kRtpGcm);
  EXPECT_EQ(protectRtcp(out, kRtcpPlain), kRtcpGcm);
  EXPECT_EQ(unprotectRtp(in, kRtpGcm), kRtpPlain);
  EXPECT_EQ(unprotectRtcp(in, kRtcpGcm), kRtcpPlain);
}

// --- Per suite -----------------------------------------------------------------------------------

TEST_P(SrtpSuiteTest, TrailerLengths) {
  const Suite suite = GetParam();
  Session out = make(suite, Direction::kOutbound, keyFor(suite));
  const std::size_t rtpTag = suite == Suite::kAesCm128HmacSha1_80   ? 10
                             : suite == Suite::kAesCm128HmacSha1_32 ? 4
                                                                    : 16;
  EXPECT_EQ(out.rtpTrailer(), rtpTag);
  EXPECT_EQ(protectRtp(out, rtpPacket(1, 0x11223344)).size(), 172 + rtpTag);
  const std::size_t rtcpTrailer = 4 + (suite == Suite::kAeadAes128Gcm ? 16 : 10);
  EXPECT_EQ(out.rtcpTrailer(), rtcpTrailer);
  EXPECT_EQ(protectRtcp(out, rtcpPacket(0x11223344)).size(), 8 + rtcpTrailer);
  EXPECT_EQ(masterKeySaltLength(suite), keyFor(suite).size());
}

TEST_P(SrtpSuiteTest, RoundTripManySsrcsOnOneSession) {
  const Suite suite = GetParam();
  Session out = make(suite, Direction::kOutbound, keyFor(suite));
  Session in = make(suite, Direction::kInbound, keyFor(suite));
  for (std::uint32_t ssrc : {0x01u, 0xdeadbeefu, 0x7fffffffu}) {
    for (std::uint16_t seq = 100; seq < 110; ++seq) {
      const Bytes plain = rtpPacket(seq, ssrc);
      const Bytes sent = protectRtp(out, plain);
      EXPECT_NE(Bytes(sent.begin() + 12, sent.begin() + 172),
                Bytes(plain.begin() + 12, plain.end()))
          << "payload must be encrypted";
      EXPECT_EQ(unprotectRtp(in, sent), plain);
    }
  }
  EXPECT_EQ(out.rtpCounters().packets, 30u);
  EXPECT_EQ(in.rtpCounters().packets, 30u);
  EXPECT_EQ(in.rtpCounters().authFailures + in.rtpCounters().replayFailures +
                in.rtpCounters().otherFailures,
            0u);
}

TEST_P(SrtpSuiteTest, MatchesLibsrtpDrivenDirectly) {
  const Suite suite = GetParam();
  constexpr std::uint32_t kSsrc = 0x5eed5eed;
  Session out = make(suite, Direction::kOutbound, keyFor(suite));
  Session in = make(suite, Direction::kInbound, keyFor(suite));
  ReferenceSrtp reference(suite, keyFor(suite), kSsrc);
  for (std::uint16_t seq = 7; seq < 12; ++seq) {
    const Bytes plain = rtpPacket(seq, kSsrc, 100);
    const Bytes theirs = reference.protect(plain);
    EXPECT_EQ(protectRtp(out, plain), theirs);
    EXPECT_EQ(unprotectRtp(in, theirs), plain);
  }
  const Bytes report = rtcpPacket(kSsrc);
  const Bytes theirs = reference.protect(report, true);
  EXPECT_EQ(protectRtcp(out, report), theirs);
  EXPECT_EQ(unprotectRtcp(in, theirs), report);
}

TEST_P(SrtpSuiteTest, TamperedByteFailsAuthentication) {
  const Suite suite = GetParam();
  Session out = make(suite, Direction::kOutbound, keyFor(suite));
  Session in = make(suite, Direction::kInbound, keyFor(suite));
  const Bytes sent = protectRtp(out, rtpPacket(1, 42));
  // A header byte (authenticated, not encrypted), a payload byte and the last tag byte.
  for (std::size_t at : {std::size_t{1}, std::size_t{50}, sent.size() - 1}) {
    Bytes tampered = sent;
    tampered[at] ^= 0x01;
    EXPECT_FALSE(unprotectRtp(in, tampered)) << "byte " << at;
  }
  EXPECT_EQ(in.rtpCounters().authFailures, 3u);
  EXPECT_EQ(in.rtpCounters().lastStatus, srtp_err_status_auth_fail);
  EXPECT_EQ(Library::statusName(in.rtpCounters().lastStatus), "auth_fail");
  // The untouched packet still goes through: failures do not advance the replay window.
  EXPECT_TRUE(unprotectRtp(in, sent));
}

TEST_P(SrtpSuiteTest, ReplayedPacketFails) {
  const Suite suite = GetParam();
  Session out = make(suite, Direction::kOutbound, keyFor(suite));
  Session in = make(suite, Direction::kInbound, keyFor(suite));
  const Bytes first = protectRtp(out, rtpPacket(1000, 42));
  const Bytes second = protectRtp(out, rtpPacket(1001, 42));
  EXPECT_TRUE(unprotectRtp(in, first));
  EXPECT_TRUE(unprotectRtp(in, second));
  EXPECT_FALSE(unprotectRtp(in, first));
  EXPECT_FALSE(unprotectRtp(in, second));
  EXPECT_EQ(in.rtpCounters().replayFailures, 2u);
  EXPECT_EQ(in.rtpCounters().authFailures, 0u);
}

// RFC 3711 §3.3.2: an index that has fallen behind the window is refused even if never seen.
TEST_P(SrtpSuiteTest, PacketBehindTheWindowFails) {
  const Suite suite = GetParam();
  Session out = make(suite, Direction::kOutbound, keyFor(suite));
  std::string error;
  auto in = Session::create(suite, Direction::kInbound, keyFor(suite), &error, 64);
  ASSERT_TRUE(in) << error;
  const Bytes old = protectRtp(out, rtpPacket(10, 42));
  EXPECT_TRUE(unprotectRtp(*in, protectRtp(out, rtpPacket(200, 42))));
  EXPECT_FALSE(unprotectRtp(*in, old));
  EXPECT_EQ(in->rtpCounters().replayFailures, 1u);
}

// The sender must not encrypt two packets under one index (RFC 3711 §9.1).
TEST_P(SrtpSuiteTest, SenderRefusesToReuseAnIndex) {
  const Suite suite = GetParam();
  Session out = make(suite, Direction::kOutbound, keyFor(suite));
  protectRtp(out, rtpPacket(5, 42));
  Packet again(rtpPacket(5, 42));
  EXPECT_FALSE(out.protectRtp(again.buffer, again.length));
  EXPECT_EQ(out.rtpCounters().replayFailures, 1u);
}

// RFC 3711 §3.3.1: the sequence number wraps, the rollover counter counts the wraps, and both
// ends keep the 48-bit index in step without it ever being sent.
TEST_P(SrtpSuiteTest, RolloverIsHandled) {
  const Suite suite = GetParam();
  constexpr std::uint32_t kSsrc = 0xabcdef01;
  Session out = make(suite, Direction::kOutbound, keyFor(suite));
  Session in = make(suite, Direction::kInbound, keyFor(suite));
  std::vector<std::uint16_t> seqs;
  for (std::uint32_t s = 65530; s <= 65535; ++s) {
    seqs.push_back(static_cast<std::uint16_t>(s));
  }
  for (std::uint16_t s = 0; s <= 10; ++s) {
    seqs.push_back(s);
  }
  Bytes lastSent;
  for (std::uint16_t seq : seqs) {
    const Bytes plain = rtpPacket(seq, kSsrc);
    lastSent = protectRtp(out, plain);
    EXPECT_EQ(unprotectRtp(in, lastSent), plain) << "seq " << seq;
  }
  EXPECT_EQ(in.rtpCounters().packets, seqs.size());

  // Independent check that the sender really used ROC 1 after the wrap: libsrtp told ROC 1 for
  // this SSRC produces the same bytes for sequence number 10.
  ReferenceSrtp reference(suite, keyFor(suite), kSsrc);
  ASSERT_EQ(srtp_set_stream_roc(reference.context(), kSsrc, 1), srtp_err_status_ok);
  EXPECT_EQ(reference.protect(rtpPacket(10, kSsrc)), lastSent);
}

TEST_P(SrtpSuiteTest, RtcpRoundTripAndReplay) {
  const Suite suite = GetParam();
  Session out = make(suite, Direction::kOutbound, keyFor(suite));
  Session in = make(suite, Direction::kInbound, keyFor(suite));
  const Bytes report = rtcpPacket(0x1234);
  const Bytes first = protectRtcp(out, report);
  const Bytes second = protectRtcp(out, report);
  EXPECT_NE(first, second) << "each SRTCP packet has its own index (RFC 3711 §3.4)";
  EXPECT_EQ(unprotectRtcp(in, first), report);
  EXPECT_EQ(unprotectRtcp(in, second), report);
  EXPECT_FALSE(unprotectRtcp(in, first));
  EXPECT_EQ(in.rtcpCounters().replayFailures, 1u);
  Bytes tampered = second;
  tampered[5] ^= 0x80;
  EXPECT_FALSE(unprotectRtcp(in, tampered));
  EXPECT_EQ(in.rtcpCounters().authFailures, 1u);
  EXPECT_EQ(in.rtcpCounters().packets, 2u);
  EXPECT_EQ(in.rtpCounters().packets, 0u) << "RTCP counts apart from RTP";
}

TEST_P(SrtpSuiteTest, WrongKeyFails) {
  const Suite suite = GetParam();
  Bytes otherKey = keyFor(suite);
  otherKey[3] ^= 0x10;
  Session out = make(suite, Direction::kOutbound, keyFor(suite));
  Session in = make(suite, Direction::kInbound, otherKey);
  EXPECT_FALSE(unprotectRtp(in, protectRtp(out, rtpPacket(1, 42))));
  EXPECT_FALSE(unprotectRtcp(in, protectRtcp(out, rtcpPacket(42))));
  EXPECT_EQ(in.rtpCounters().authFailures, 1u);
  EXPECT_EQ(in.rtcpCounters().authFailures, 1u);
}

// libsrtp writes exactly the trailer after the packet and nothing beyond; with one byte less room
// we refuse before libsrtp can write past the buffer.
TEST_P(SrtpSuiteTest, ProtectNeedsRoomForTheTrailerAndWritesNoFurther) {
  const Suite suite = GetParam();
  Session out = make(suite, Direction::kOutbound, keyFor(suite));
  const Bytes plain = rtpPacket(3, 42);
  Bytes storage(plain.size() + out.rtpTrailer() + 8, 0xee);
  std::copy(plain.begin(), plain.end(), storage.begin());

  std::size_t length = plain.size();
  std::span<std::uint8_t> tooSmall(storage.data(), plain.size() + out.rtpTrailer() - 1);
  EXPECT_FALSE(out.protectRtp(tooSmall, length));
  EXPECT_EQ(length, plain.size());
  EXPECT_EQ(out.rtpCounters().otherFailures, 1u);
  EXPECT_TRUE(std::equal(plain.begin(), plain.end(), storage.begin())) << "refused: untouched";

  std::span<std::uint8_t> exact(storage.data(), plain.size() + out.rtpTrailer());
  EXPECT_TRUE(out.protectRtp(exact, length));
  EXPECT_EQ(length, exact.size());
  EXPECT_TRUE(std::all_of(storage.begin() + static_cast<std::ptrdiff_t>(exact.size()),
                          storage.end(), [](std::uint8_t b) { return b == 0xee; }));

  Bytes report = rtcpPacket(42);
  report.resize(report.size() + out.rtcpTrailer() - 1);
  length = 8;
  EXPECT_FALSE(out.protectRtcp(report, length));
  EXPECT_EQ(out.rtcpCounters().otherFailures, 1u);
}

TEST_P(SrtpSuiteTest, MalformedInputAndWrongDirectionAreRefused) {
  const Suite suite = GetParam();
  Session out = make(suite, Direction::kOutbound, keyFor(suite));
  Session in = make(suite, Direction::kInbound, keyFor(suite));
  Packet shortRtp(Bytes(11, 0x80));
  EXPECT_FALSE(out.protectRtp(shortRtp.buffer, shortRtp.length));
  EXPECT_FALSE(in.unprotectRtp(shortRtp.buffer, shortRtp.length));
  Packet shortRtcp(Bytes(7, 0x80));
  EXPECT_FALSE(in.unprotectRtcp(shortRtcp.buffer, shortRtcp.length));
  // A header alone is too short to carry a tag.
  Packet headerOnly(rtpPacket(1, 42, 0));
  EXPECT_FALSE(in.unprotectRtp(headerOnly.buffer, headerOnly.length));
  // A length beyond the buffer.
  std::size_t length = 500;
  Bytes small(100);
  EXPECT_FALSE(in.unprotectRtp(small, length));

  Packet plain(rtpPacket(1, 42));
  EXPECT_FALSE(in.protectRtp(plain.buffer, plain.length));
  EXPECT_FALSE(out.unprotectRtp(plain.buffer, plain.length));
  EXPECT_EQ(plain.bytes(), rtpPacket(1, 42));
  EXPECT_EQ(in.rtpCounters().authFailures, 0u);
  EXPECT_EQ(in.rtpCounters().otherFailures, 4u);
  EXPECT_EQ(in.rtcpCounters().otherFailures, 1u);
  EXPECT_EQ(out.rtpCounters().otherFailures, 2u);
  EXPECT_EQ(in.rtpCounters().packets + out.rtpCounters().packets, 0u);
}

TEST_P(SrtpSuiteTest, MovedSessionKeepsItsStateAndCounters) {
  const Suite suite = GetParam();
  Session out = make(suite, Direction::kOutbound, keyFor(suite));
  Session in = make(suite, Direction::kInbound, keyFor(suite));
  const Bytes first = protectRtp(out, rtpPacket(1, 42));
  EXPECT_TRUE(unprotectRtp(in, first));
  Session moved(std::move(in));
  EXPECT_EQ(moved.rtpCounters().packets, 1u);
  EXPECT_FALSE(unprotectRtp(moved, first)) << "replay window moved along";
  Session assigned = make(suite, Direction::kInbound, keyFor(suite));
  assigned = std::move(moved);
  EXPECT_TRUE(unprotectRtp(assigned, protectRtp(out, rtpPacket(2, 42))));
  EXPECT_EQ(assigned.rtpCounters().packets, 2u);
  EXPECT_EQ(assigned.suite(), suite);
  EXPECT_EQ(assigned.direction(), Direction::kInbound);
}

// --- Creation ------------------------------------------------------------------------------------

TEST(SrtpSessionCreate, RefusesWrongKeyLengthAndWindow) {
  std::string error;
  EXPECT_FALSE(Session::create(Suite::kAeadAes128Gcm, Direction::kInbound, kAesCmKeySalt, &error));
  EXPECT_NE(error.find("28-byte"), std::string::npos) << error;
  EXPECT_FALSE(
      Session::create(Suite::kAesCm128HmacSha1_80, Direction::kInbound, kGcmKeySalt, &error));
  EXPECT_NE(error.find("30-byte"), std::string::npos) << error;
  EXPECT_FALSE(
      Session::create(Suite::kAesCm128HmacSha1_80, Direction::kInbound, kAesCmKeySalt, &error, 32));
  EXPECT_NE(error.find("window"), std::string::npos) << error;
  EXPECT_FALSE(Session::create(Suite::kAesCm128HmacSha1_80, Direction::kInbound, {}, nullptr));
}

TEST(SrtpLibrary, InitialisesOnceAndNamesStatuses) {
  std::string error;
  EXPECT_TRUE(Library::initialize(&error)) << error;
  EXPECT_TRUE(Library::initialize());
  EXPECT_EQ(Library::statusName(srtp_err_status_ok), "ok");
  EXPECT_EQ(Library::statusName(srtp_err_status_replay_old), "replay_old");
  EXPECT_EQ(Library::statusName(srtp_err_status_pkt_idx_adv), "pkt_idx_adv");
  EXPECT_EQ(Library::statusName(-1), "unknown");
  EXPECT_EQ(Library::statusName(1000), "unknown");
  EXPECT_NE(Library::version().find("2."), std::string_view::npos) << Library::version();
  EXPECT_EQ(toString(Suite::kAesCm128HmacSha1_32), "AES_CM_128_HMAC_SHA1_32");
  EXPECT_EQ(toString(Suite::kAeadAes128Gcm), "AEAD_AES_128_GCM");
}

}  // namespace
}  // namespace confab::srtp

namespace confab::srtp {
namespace {

// libsrtp runs its RFC 2202 self-test on a replacement before it accepts it; the known answers
// above then go through the replacement.
TEST(SrtpLibrary, AllocationFreeHmacSha1IsAccepted) {
  ASSERT_TRUE(Library::initialize());
  EXPECT_TRUE(installHmacSha1());
}

}  // namespace
}  // namespace confab::srtp
