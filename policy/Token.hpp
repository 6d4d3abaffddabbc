// Random bearer secrets the store issues (API key tokens, webhook secrets): 256 bits from
// OpenSSL's CSPRNG in base64url. Internal to confab_policy.
#pragma once

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace confab::policy::token {

inline constexpr std::size_t kRandomBytes = 32;  // 256 bits

// RFC 4648 §5, without padding: tokens go in headers, URLs and shells.
inline std::string base64url(const std::array<unsigned char, kRandomBytes>& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 0x3f];
    }
  }
  if (bits > 0) {
    out += kAlphabet[(buffer << (6 - bits)) & 0x3f];
  }
  return out;
}

// 'prefix' and 43 characters; nothing when the CSPRNG has no bytes to give.
inline std::optional<std::string> random(std::string_view prefix) {
  std::array<unsigned char, kRandomBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return std::nullopt;
  }
  return std::string(prefix) + base64url(bytes);
}

}  // namespace confab::policy::token
