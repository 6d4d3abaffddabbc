// The keystream guard (Debug builds): any (master key, SSRC, index) protected twice aborts, across
// separate contexts, and indices that are new pass however they arrive.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "mixer/srtp/KeystreamGuard.hpp"
#include "mixer/srtp/Session.hpp"

namespace confab::srtp {
namespace {

std::vector<uint8_t> keySalt(uint8_t seed) {
  return std::vector<uint8_t>(30, seed);
}

// A 12-byte RTP header with room for the trailer.
std::vector<uint8_t> rtp(uint32_t ssrc, uint16_t sequence) {
  std::vector<uint8_t> p(12 + 20 + 16, 0);
  p[0] = 0x80;
  p[2] = static_cast<uint8_t>(sequence >> 8);
  p[3] = static_cast<uint8_t>(sequence);
  p[8] = static_cast<uint8_t>(ssrc >> 24);
  p[9] = static_cast<uint8_t>(ssrc >> 16);
  p[10] = static_cast<uint8_t>(ssrc >> 8);
  p[11] = static_cast<uint8_t>(ssrc);
  return p;
}

TEST(KeystreamGuard, NewIndicesPassInAnyOrder) {
  if (!keystream_guard::enabled()) {
    GTEST_SKIP() << "built without CONFAB_SRTP_KEYSTREAM_GUARD (Release)";
  }
  const auto key = keystream_guard::keyId(keySalt(7));
  const uint64_t before = keystream_guard::checked();
  for (uint64_t i = 100; i < 200; ++i) {
    keystream_guard::protectedPacket(key, false, 0x1234, i);
  }
  keystream_guard::protectedPacket(key, false, 0x1234, 300);
  for (uint64_t i = 299; i >= 200; --i) {  // fills the gap backwards, joining the two ranges
    keystream_guard::protectedPacket(key, false, 0x1234, i);
  }
  keystream_guard::protectedPacket(key, true, 0x1234, 150);   // SRTCP counts apart
  keystream_guard::protectedPacket(key, false, 0x5678, 150);  // another SSRC
  keystream_guard::protectedPacket(keystream_guard::keyId(keySalt(8)), false, 0x1234, 150);
  EXPECT_EQ(keystream_guard::checked() - before, 100u + 1u + 100u + 3u);
}

TEST(KeystreamGuardDeathTest, AnIndexProtectedTwiceUnderOneKeyAborts) {
  if (!keystream_guard::enabled()) {
    GTEST_SKIP() << "built without CONFAB_SRTP_KEYSTREAM_GUARD (Release)";
  }
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // Two contexts made from the same key, as a re-INVITE that rebuilt a call's media used to:
  // the second starts again at index 0 of the same SSRC.
  EXPECT_DEATH(
      {
        auto first = Session::create(Suite::kAesCm128HmacSha1_80, Direction::kOutbound, keySalt(9));
        auto second =
            Session::create(Suite::kAesCm128HmacSha1_80, Direction::kOutbound, keySalt(9));
        for (uint16_t seq = 1; seq <= 3; ++seq) {
          auto p = rtp(0xB0B, seq);
          std::size_t length = 32;
          first->protectRtp(p, length);
        }
        auto p = rtp(0xB0B, 2);
        std::size_t length = 32;
        second->protectRtp(p, length);
      },
      "SRTP KEYSTREAM REUSE");
}

}  // namespace
}  // namespace confab::srtp
