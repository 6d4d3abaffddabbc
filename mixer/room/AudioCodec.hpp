// The codecs a participant's stream can use, behind one decoder and one encoder type so a room
// can treat Opus and G.711 participants alike. Everything is allocated at construction; decode,
// conceal and encode allocate nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "mixer/codec/G711Plc.hpp"
#include "mixer/codec/G722.hpp"
#include "mixer/codec/Opus.hpp"

namespace confab::mixer {

enum class Codec : uint8_t { kOpus, kPcmu, kPcma, kG722 };

// PCM rate the codec is decoded to and encoded from: Opus at 48 kHz (RFC 7587 §4.1: the RTP
// clock is always 48000), G.722 at 16 kHz, G.711 at 8 kHz.
constexpr int pcmRate(Codec codec) {
  switch (codec) {
    case Codec::kOpus:
      return 48000;
    case Codec::kG722:
      return codec::kG722SampleRate;
    case Codec::kPcmu:
    case Codec::kPcma:
      break;
  }
  return 8000;
}
// The RTP timestamp rate: the PCM rate, except G.722's 8000 (RFC 3551 §4.5.2).
constexpr int rtpClockRate(Codec codec) {
  return codec == Codec::kG722 ? codec::kG722RtpClockRate : pcmRate(codec);
}
// PCM samples per RTP timestamp unit: 2 for G.722, else 1.
constexpr std::size_t samplesPerTick(Codec codec) {
  return static_cast<std::size_t>(pcmRate(codec) / rtpClockRate(codec));
}
// Samples in one 20 ms frame at the codec's PCM rate.
constexpr std::size_t frameSamples(Codec codec) {
  return static_cast<std::size_t>(pcmRate(codec) / 50);
}
// RTP timestamp units in one 20 ms frame: the timestamp step per frame sent.
constexpr uint32_t frameTicks(Codec codec) {
  return static_cast<uint32_t>(rtpClockRate(codec) / 50);
}

// The longest 20 ms frame we handle (48 kHz).
inline constexpr std::size_t kMaxFrameSamples = 960;
// The longest packet we take: 120 ms at 48 kHz (RFC 6716 §3.2.5; also 15 G.711 ptimes of 60 ms).
inline constexpr std::size_t kMaxPacketSamples = 5760;
// Room for one encoded frame (Opus at our bitrates is far below; G.711 is 160 bytes).
inline constexpr std::size_t kMaxEncodedBytes = 1000;

class AudioDecoder {
 public:
  explicit AudioDecoder(Codec codec);
  // Decodes one packet into out (frameSamples(codec) samples); false when it is not decodable.
  bool decode(std::span<const uint8_t> payload, std::span<int16_t> out);
  // Samples (at pcmRate) one payload holds: G.711 one per byte, G.722 two, Opus from its TOC
  // byte (RFC 6716 §3.1); 0 when malformed, empty or over 120 ms.
  [[nodiscard]] std::size_t packetSamples(std::span<const uint8_t> payload) const;
  // Decodes a packet of any duration (ptime 10, 20, 30, 40, 60 ms...) into out, which has room
  // for packetSamples(payload); returns the samples written, 0 when it is not decodable.
  std::size_t decodePacket(std::span<const uint8_t> payload, std::span<int16_t> out);
  // Lost audio, out.size() samples: Opus PLC (and comfort noise after DTX, which libopus makes
  // from the same call), or G.711 Appendix I style concealment (G.722 too, at 16 kHz).
  void conceal(std::span<int16_t> out);
  // The out.size() samples right before nextPacket were lost: Opus decodes them from
  // nextPacket's in-band FEC (LBRR, RFC 6716 §2.1.7; libopus conceals whatever part of the gap
  // LBRR does not cover), G.711 conceals. Returns how many of the samples (the last ones) came
  // from FEC data: none without the next packet's LBRR flag (codec::opusHasLbrr), at most one
  // of its frames' worth.
  std::size_t recover(std::span<const uint8_t> nextPacket, std::span<int16_t> out);
  // A new source: decoder state of the old one would only distort its first frames.
  void reset();
  [[nodiscard]] Codec codec() const { return codec_; }

 private:
  Codec codec_;
  std::optional<codec::OpusDecoder> opus_;
  std::optional<codec::G722Decoder> g722_;
  std::optional<codec::G711Plc> plc_;
};

class AudioEncoder {
 public:
  // opusComplexity: libopus 0..10 (5 by default); opusFec: in-band FEC (RFC 7587 §3.3);
  // opusCeltOnly: CELT alone, cheaper, never with FEC (codec::OpusEncoderConfig::celtOnly); all
  // ignored for G.711 and G.722.
  explicit AudioEncoder(Codec codec,
                        int opusBitrate = 32000,
                        int opusComplexity = 5,
                        bool opusFec = true,
                        bool opusCeltOnly = false);
  // Turns Opus in-band FEC on or off between frames; nothing for other codecs or CELT only.
  void setOpusFec(bool on);
  // Encodes one frame; returns the payload size, 0 on failure.
  std::size_t encode(std::span<const int16_t> pcm, std::span<uint8_t> out);
  [[nodiscard]] Codec codec() const { return codec_; }

 private:
  Codec codec_;
  std::optional<codec::OpusEncoder> opus_;
  std::optional<codec::G722Encoder> g722_;
};

}  // namespace confab::mixer
