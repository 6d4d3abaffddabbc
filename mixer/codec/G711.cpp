#include "mixer/codec/G711.hpp"

#include <algorithm>
#include <array>
#include <bit>

namespace confab::codec {

namespace {

// G.711 §3 / Table 2: µ-law is a biased logarithm. In 14-bit units segment s covers
// [33 * 2^s - 33, 33 * 2^(s+1) - 33); the bias of 33 makes every segment boundary a power of two,
// so the segment is found with one bit scan. At our 16-bit scale (x4) the bias is 132 (0x84).
constexpr int kMulawBias = 0x84;
constexpr int kMulawClip = 32635;  // 32767 - bias: the largest magnitude that still fits.

constexpr int16_t mulawDecodeFormula(uint8_t code) {
  // G.711 transmits µ-law codes with every bit inverted (§3, Table 2 note).
  const int u = static_cast<uint8_t>(~code);
  const int exponent = (u >> 4) & 0x07;
  const int mantissa = u & 0x0F;
  const int magnitude = (((mantissa << 3) + kMulawBias) << exponent) - kMulawBias;
  return static_cast<int16_t>((u & 0x80) != 0 ? -magnitude : magnitude);
}

constexpr int16_t alawDecodeFormula(uint8_t code) {
  // G.711 §2: A-law codes have the even bits inverted (XOR 0x55) on the line; sign bit 1 is
  // positive. Segment 0 and 1 share a step; each segment above doubles it. The decoded value is
  // the middle of the quantisation interval (hence the + 8 at our 16-bit scale).
  const int a = code ^ 0x55;
  const int exponent = (a >> 4) & 0x07;
  int magnitude = ((a & 0x0F) << 4) + 8;
  if (exponent > 0) {
    magnitude += 0x100;
  }
  if (exponent > 1) {
    magnitude <<= exponent - 1;
  }
  return static_cast<int16_t>((a & 0x80) != 0 ? magnitude : -magnitude);
}

template <int16_t (*Formula)(uint8_t)>
constexpr std::array<int16_t, 256> makeTable() {
  std::array<int16_t, 256> table{};
  for (int code = 0; code < 256; ++code) {
    table[static_cast<std::size_t>(code)] = Formula(static_cast<uint8_t>(code));
  }
  return table;
}

constexpr std::array<int16_t, 256> kMulawTable = makeTable<mulawDecodeFormula>();
constexpr std::array<int16_t, 256> kAlawTable = makeTable<alawDecodeFormula>();

}  // namespace

namespace {

// Both laws code a frame sample by sample; as many samples as both spans hold.
std::size_t encodeFrame(std::span<const int16_t> pcm, std::span<uint8_t> out,
                        uint8_t (*encodeOne)(int16_t)) {
  const std::size_t count = std::min(pcm.size(), out.size());
  for (std::size_t i = 0; i < count; ++i) {
    out[i] = encodeOne(pcm[i]);
  }
  return count;
}

template <class Table>
std::size_t decodeFrame(std::span<const uint8_t> codes, std::span<int16_t> out,
                        const Table& table) {
  const std::size_t count = std::min(codes.size(), out.size());
  for (std::size_t i = 0; i < count; ++i) {
    out[i] = table[codes[i]];
  }
  return count;
}

}  // namespace

namespace mulaw {

uint8_t encodeSample(int16_t linear) {
  int value = linear;
  int sign = 0;
  if (value < 0) {
    // Negate in int: -32768 is representable there, then clipped below.
    value = -value;
    sign = 0x80;
  }
  value = std::min(value, kMulawClip) + kMulawBias;
  // value is in [132, 32767]: bit 7 at least is set, at most bit 14.
  const int exponent = static_cast<int>(std::bit_width(static_cast<unsigned>(value))) - 8;
  const int mantissa = (value >> (exponent + 3)) & 0x0F;
  return static_cast<uint8_t>(~(sign | (exponent << 4) | mantissa));
}

int16_t decodeSample(uint8_t code) {
  return kMulawTable[code];
}

std::size_t encode(std::span<const int16_t> pcm, std::span<uint8_t> out) {
  return encodeFrame(pcm, out, encodeSample);
}

std::size_t decode(std::span<const uint8_t> codes, std::span<int16_t> out) {
  return decodeFrame(codes, out, kMulawTable);
}

}  // namespace mulaw

namespace alaw {

uint8_t encodeSample(int16_t linear) {
  int value = linear;
  // A-law sign bit is 1 for positive values (G.711 §2). Negative values are one's-complemented
  // (-1 - x) rather than negated, as G.191 does, so -1..-8 share the first interval with 0..7.
  int sign = 0x80;
  if (value < 0) {
    value = -value - 1;
    sign = 0;
  }
  value >>= 3;  // to 13-bit magnitude, 0..4095
  int code = 0;
  if (value < 32) {
    // Segments 0 and 1 have the same step (2 in 13 bits): linear.
    code = value >> 1;
  } else {
    // Segment s >= 1 starts at 16 << s (13-bit units); the mantissa is the next four bits.
    const int exponent = static_cast<int>(std::bit_width(static_cast<unsigned>(value))) - 5;
    code = (exponent << 4) | ((value >> exponent) & 0x0F);
  }
  return static_cast<uint8_t>((sign | code) ^ 0x55);
}

int16_t decodeSample(uint8_t code) {
  return kAlawTable[code];
}

std::size_t encode(std::span<const int16_t> pcm, std::span<uint8_t> out) {
  return encodeFrame(pcm, out, encodeSample);
}

std::size_t decode(std::span<const uint8_t> codes, std::span<int16_t> out) {
  return decodeFrame(codes, out, kAlawTable);
}

}  // namespace alaw

}  // namespace confab::codec
