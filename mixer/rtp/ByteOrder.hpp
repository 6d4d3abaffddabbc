// Network byte order reads and writes over spans: the one place the RTP-family formats turn
// octets into integers, so bounds are the caller's job and every cast is spelled once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace confab::rtp {

inline uint16_t readU16(std::span<const uint8_t> b, size_t at) {
  return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}

inline uint32_t readU24(std::span<const uint8_t> b, size_t at) {
  return (static_cast<uint32_t>(b[at]) << 16) | (static_cast<uint32_t>(b[at + 1]) << 8) |
         static_cast<uint32_t>(b[at + 2]);
}

inline uint32_t readU32(std::span<const uint8_t> b, size_t at) {
  return (static_cast<uint32_t>(b[at]) << 24) | (static_cast<uint32_t>(b[at + 1]) << 16) |
         (static_cast<uint32_t>(b[at + 2]) << 8) | static_cast<uint32_t>(b[at + 3]);
}

inline void writeU16(std::span<uint8_t> b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

inline void writeU24(std::span<uint8_t> b, size_t at, uint32_t v) {
  b[at] = static_cast<uint8_t>(v >> 16);
  b[at + 1] = static_cast<uint8_t>(v >> 8);
  b[at + 2] = static_cast<uint8_t>(v);
}

inline void writeU32(std::span<uint8_t> b, size_t at, uint32_t v) {
  b[at] = static_cast<uint8_t>(v >> 24);
  b[at + 1] = static_cast<uint8_t>(v >> 16);
  b[at + 2] = static_cast<uint8_t>(v >> 8);
  b[at + 3] = static_cast<uint8_t>(v);
}

}  // namespace confab::rtp
