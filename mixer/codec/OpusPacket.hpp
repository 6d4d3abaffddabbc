// Reading Opus packets without decoding them: the TOC byte (RFC 6716 §3.1), frame counts
// (§3.2) and durations, and spotting DTX packets (RFC 7587 §3.1.3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace confab::codec {

enum class OpusMode : uint8_t { Silk, Hybrid, Celt };

// RFC 6716 §3.1: config (5 bits), stereo flag, frame count code (2 bits).
struct OpusToc {
  uint8_t config = 0;
  bool stereo = false;
  uint8_t frameCountCode = 0;

  [[nodiscard]] OpusMode mode() const;
  // Duration of one frame in 48 kHz samples (120 = 2.5 ms ... 2880 = 60 ms), RFC 6716 Table 2.
  [[nodiscard]] uint32_t frameSamples48k() const;
  // Audio bandwidth as the decoder's internal rate: 8000 (NB), 12000, 16000, 24000, 48000 (FB).
  [[nodiscard]] uint32_t bandwidthHz() const;
};

[[nodiscard]] OpusToc parseToc(uint8_t toc);

// Frames in the packet (RFC 6716 §3.2), or nothing for an empty or malformed code 3 packet.
[[nodiscard]] std::optional<uint32_t> opusFrameCount(std::span<const uint8_t> packet);
// Packet duration in 48 kHz samples, or nothing when malformed or over 120 ms (§3.2.5).
[[nodiscard]] std::optional<uint32_t> opusPacketSamples48k(std::span<const uint8_t> packet);

// Whether the packet's first frame carries in-band FEC (LBRR) for the audio before the packet:
// SILK or hybrid mode, and the LBRR flag of its SILK header set (RFC 6716 §4.2.3, read with the
// §4.1 range decoder). This is what opus_decode(..., decode_fec = 1) recovers from.
[[nodiscard]] bool opusHasLbrr(std::span<const uint8_t> packet);

// RFC 7587 §3.1.3: with DTX the encoder sends packets of at most 2 bytes (a TOC and no or an
// empty frame) for silence, at most every 400 ms; the decoder treats them as comfort noise.
[[nodiscard]] inline bool isDtxOrComfortNoise(std::span<const uint8_t> packet) {
  return packet.size() <= 2;
}

}  // namespace confab::codec
