#include "mixer/codec/OpusPacket.hpp"

#include <algorithm>

namespace confab::codec {

OpusToc parseToc(uint8_t toc) {
  return OpusToc{static_cast<uint8_t>(toc >> 3), (toc & 0x04) != 0,
                 static_cast<uint8_t>(toc & 0x03)};
}

OpusMode OpusToc::mode() const {
  if (config < 12) {
    return OpusMode::Silk;
  }
  return config < 16 ? OpusMode::Hybrid : OpusMode::Celt;
}

uint32_t OpusToc::frameSamples48k() const {
  // RFC 6716 Table 2: SILK-only configs cycle 10/20/40/60 ms, hybrid 10/20, CELT 2.5/5/10/20.
  if (config < 12) {
    static constexpr uint32_t kSilk[4] = {480, 960, 1920, 2880};
    return kSilk[config % 4];
  }
  if (config < 16) {
    return config % 2 == 0 ? 480 : 960;
  }
  static constexpr uint32_t kCelt[4] = {120, 240, 480, 960};
  return kCelt[config % 4];
}

uint32_t OpusToc::bandwidthHz() const {
  if (config < 12) {
    static constexpr uint32_t kSilk[3] = {8000, 12000, 16000};
    return kSilk[config / 4];
  }
  if (config < 16) {
    return config < 14 ? 24000 : 48000;
  }
  static constexpr uint32_t kCelt[4] = {8000, 16000, 24000, 48000};
  return kCelt[(config - 16) / 4];
}

std::optional<uint32_t> opusFrameCount(std::span<const uint8_t> packet) {
  if (packet.empty()) {
    return std::nullopt;
  }
  switch (packet[0] & 0x03) {
    case 0:
      return 1;
    case 1:
    case 2:
      return 2;
    default:
      // Code 3: the frame count byte follows the TOC; M = 0 is invalid (§3.2.5).
      if (packet.size() < 2 || (packet[1] & 0x3F) == 0) {
        return std::nullopt;
      }
      return packet[1] & 0x3F;
  }
}

std::optional<uint32_t> opusPacketSamples48k(std::span<const uint8_t> packet) {
  const auto frames = opusFrameCount(packet);
  if (!frames) {
    return std::nullopt;
  }
  const uint32_t samples = *frames * parseToc(packet[0]).frameSamples48k();
  // §3.2.5: at most 120 ms of audio in a packet.
  if (samples > 5760) {
    return std::nullopt;
  }
  return samples;
}

namespace {

// Where the first frame's bytes start (RFC 6716 §3.2), or nothing when malformed.
std::optional<std::size_t> firstFrameOffset(std::span<const uint8_t> packet) {
  switch (packet[0] & 0x03) {
    case 0:
    case 1:
      return 1;
    case 2:  // §3.2.3: the first frame's length in one or two bytes
      if (packet.size() < 2) {
        return std::nullopt;
      }
      return packet[1] < 252 ? 2 : 3;
    default:
      break;
  }
  // §3.2.5, code 3: frame count byte, padding length, then (VBR) M - 1 frame lengths.
  if (packet.size() < 2) {
    return std::nullopt;
  }
  const bool vbr = (packet[1] & 0x80) != 0;
  const bool padded = (packet[1] & 0x40) != 0;
  const std::size_t frames = packet[1] & 0x3F;
  std::size_t at = 2;
  while (padded) {
    if (at >= packet.size()) {
      return std::nullopt;
    }
    if (packet[at++] != 255) {
      break;
    }
  }
  if (vbr) {
    for (std::size_t i = 0; i + 1 < frames; ++i) {
      if (at >= packet.size()) {
        return std::nullopt;
      }
      at += packet[at] < 252 ? 1U : 2U;
    }
  }
  return at;
}

// The start of RFC 6716 §4.1's range decoder, enough to read the first few symbols.
class RangeDecoder {
 public:
  explicit RangeDecoder(std::span<const uint8_t> data) : data_(data) {
    // §4.1.1: rng = 128, val = 127 - (b0 >> 1), then normalise.
    last_ = nextByte();
    val_ = 127 - (last_ >> 1);
    normalize();
  }
  // ec_dec_bit_logp(): a bit whose "1" has probability 1 / 2^logp.
  bool bit(unsigned logp) {
    const uint32_t s = rng_ >> logp;
    const bool one = val_ < s;
    if (!one) {
      val_ -= s;
    }
    rng_ = one ? s : rng_ - s;
    normalize();
    return one;
  }

 private:
  uint32_t nextByte() { return at_ < data_.size() ? data_[at_++] : 0; }
  void normalize() {
    // §4.1.2.1: while rng <= 2^23, shift in the next byte.
    while (rng_ <= (1U << 23)) {
      rng_ <<= 8;
      const uint32_t b = nextByte();
      val_ = ((val_ << 8) + (255 - (((last_ << 8) | b) >> 1 & 255))) & 0x7FFFFFFF;
      last_ = b;
    }
  }

  std::span<const uint8_t> data_;
  std::size_t at_ = 0;
  uint32_t rng_ = 128;
  uint32_t val_ = 0;
  uint32_t last_ = 0;
};

}  // namespace

bool opusHasLbrr(std::span<const uint8_t> packet) {
  if (packet.size() < 2) {
    return false;
  }
  const OpusToc toc = parseToc(packet[0]);
  if (toc.mode() == OpusMode::Celt) {
    return false;
  }
  const auto offset = firstFrameOffset(packet);
  if (!offset || *offset >= packet.size()) {
    return false;
  }
  // §4.2.3: one VAD flag per 20 ms SILK frame in this Opus frame (one for 10 and 20 ms, two for
  // 40, three for 60), then the LBRR flag; per channel, mid first.
  const uint32_t silkFrames = std::max<uint32_t>(1, toc.frameSamples48k() / 960);
  RangeDecoder decoder(packet.subspan(*offset));
  for (uint32_t i = 0; i < silkFrames; ++i) {
    decoder.bit(1);
  }
  return decoder.bit(1);
}

}  // namespace confab::codec
