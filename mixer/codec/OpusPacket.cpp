#include "mixer/codec/OpusPacket.hpp"

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

}  // namespace confab::codec
