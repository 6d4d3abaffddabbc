// The SDES crypto suites the mixer runs (RFC 4568 §6.2, RFC 7714 §14.2) and the sizes each one
// puts on the wire, so callers can size buffers before a packet arrives.
#pragma once

#include <cstddef>
#include <string_view>

namespace confab::srtp {

enum class Suite { kAesCm128HmacSha1_80, kAesCm128HmacSha1_32, kAeadAes128Gcm };

// The suite's name as a=crypto writes it.
constexpr std::string_view toString(Suite suite) {
  switch (suite) {
    case Suite::kAesCm128HmacSha1_80:
      return "AES_CM_128_HMAC_SHA1_80";
    case Suite::kAesCm128HmacSha1_32:
      return "AES_CM_128_HMAC_SHA1_32";
    case Suite::kAeadAes128Gcm:
      return "AEAD_AES_128_GCM";
  }
  return "?";
}

// Master key followed by master salt, as the inline key carries them: 16 + 14 bytes for AES-CM
// (RFC 4568 §6.2.1), 16 + 12 for AES-GCM (RFC 7714 §12).
constexpr std::size_t masterKeySaltLength(Suite suite) {
  return suite == Suite::kAeadAes128Gcm ? 28 : 30;
}

// Bytes SRTP appends to an RTP packet: the authentication tag, 80 or 32 bits of HMAC-SHA1
// (RFC 4568 §6.2.1, §6.2.2) or the 16-byte GCM tag (RFC 7714 §7.2). No MKI (we never send one).
constexpr std::size_t rtpTrailerLength(Suite suite) {
  switch (suite) {
    case Suite::kAesCm128HmacSha1_80:
      return 10;
    case Suite::kAesCm128HmacSha1_32:
      return 4;
    case Suite::kAeadAes128Gcm:
      return 16;
  }
  return 16;
}

// Bytes SRTCP appends: the E flag and 31-bit SRTCP index (RFC 3711 §3.4) plus the tag. SRTCP keeps
// the 80-bit tag even with the _32 suite (RFC 4568 §6.2.2: the short tag is for SRTP only).
constexpr std::size_t rtcpTrailerLength(Suite suite) {
  return 4 + (suite == Suite::kAeadAes128Gcm ? 16 : 10);
}

}  // namespace confab::srtp
