// G.711 µ-law and A-law companding (ITU-T G.711, 1988), our own tables and encoders.
// Linear samples are 16-bit, left-justified the way ITU-T G.191's reference code does it: µ-law's
// 14-bit values times 4 (code 0x80 decodes to +8031 * 4 = +32124) and A-law's 13-bit values
// times 8 (code 0xD5 decodes to +8, i.e. +1 in 13 bits; 0xAA to +32256).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace confab::codec {

namespace mulaw {

[[nodiscard]] uint8_t encodeSample(int16_t linear);
[[nodiscard]] int16_t decodeSample(uint8_t code);

// Encodes min(pcm.size(), out.size()) samples; returns how many.
std::size_t encode(std::span<const int16_t> pcm, std::span<uint8_t> out);
// Decodes min(codes.size(), out.size()) codes; returns how many.
std::size_t decode(std::span<const uint8_t> codes, std::span<int16_t> out);

}  // namespace mulaw

namespace alaw {

[[nodiscard]] uint8_t encodeSample(int16_t linear);
[[nodiscard]] int16_t decodeSample(uint8_t code);

std::size_t encode(std::span<const int16_t> pcm, std::span<uint8_t> out);
std::size_t decode(std::span<const uint8_t> codes, std::span<int16_t> out);

}  // namespace alaw

}  // namespace confab::codec
