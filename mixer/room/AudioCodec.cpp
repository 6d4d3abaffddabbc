#include "mixer/room/AudioCodec.hpp"

#include <algorithm>

#include "mixer/codec/G711.hpp"
#include "mixer/codec/OpusPacket.hpp"

namespace confab::mixer {

AudioDecoder::AudioDecoder(Codec codec) : codec_(codec) {
  if (codec == Codec::kOpus) {
    opus_.emplace(pcmRate(codec));
    return;
  }
  if (codec == Codec::kG722) {
    g722_.emplace();
  }
  plc_.emplace(pcmRate(codec));
}

namespace {
// G.722 bytes in the longest packet we take: 120 ms at 8 bytes per ms.
constexpr std::size_t kMaxG722Bytes = 960;
}  // namespace

bool AudioDecoder::decode(std::span<const uint8_t> payload, std::span<int16_t> out) {
  const std::size_t n = frameSamples(codec_);
  if (out.size() < n) {
    return false;
  }
  out = out.first(n);
  if (codec_ == Codec::kOpus) {
    auto result = opus_->decode(payload, out);
    return result.ok() && result.value() == n;
  }
  if (payload.size() * samplesPerTick(codec_) != n) {
    return false;  // 20 ms of G.711 is exactly one byte per sample, of G.722 one per two
  }
  if (codec_ == Codec::kG722) {
    g722_->decode(payload, out);
  } else if (codec_ == Codec::kPcmu) {
    codec::mulaw::decode(payload, out);
  } else {
    codec::alaw::decode(payload, out);
  }
  plc_->received(out);
  return true;
}

std::size_t AudioDecoder::packetSamples(std::span<const uint8_t> payload) const {
  if (codec_ == Codec::kG722) {
    return payload.size() <= kMaxG722Bytes ? payload.size() * 2 : 0;
  }
  if (codec_ != Codec::kOpus) {
    return payload.size() <= kMaxPacketSamples ? payload.size() : 0;
  }
  return codec::opusPacketSamples48k(payload).value_or(0);
}

std::size_t AudioDecoder::decodePacket(std::span<const uint8_t> payload, std::span<int16_t> out) {
  const std::size_t n = packetSamples(payload);
  if (n == 0 || out.size() < n) {
    return 0;
  }
  out = out.first(n);
  if (codec_ == Codec::kOpus) {
    auto result = opus_->decode(payload, out);
    return result.ok() ? result.value() : 0;
  }
  if (codec_ == Codec::kG722) {
    if (g722_->decode(payload, out) != n) {
      return 0;
    }
  } else if (codec_ == Codec::kPcmu) {
    codec::mulaw::decode(payload, out);
  } else {
    codec::alaw::decode(payload, out);
  }
  plc_->received(out);
  return n;
}

std::size_t AudioDecoder::recover(std::span<const uint8_t> nextPacket, std::span<int16_t> out) {
  if (codec_ != Codec::kOpus || nextPacket.empty()) {
    conceal(out);
    return 0;
  }
  if (!opus_->decodeFec(nextPacket, out).ok()) {
    conceal(out);
    return 0;
  }
  // Without LBRR in the packet libopus concealed instead (same call, same state); with it, the
  // LBRR covers the one frame right before the packet and the rest of the gap was concealed.
  if (!codec::opusHasLbrr(nextPacket)) {
    return 0;
  }
  const std::size_t frame = codec::parseToc(nextPacket[0]).frameSamples48k();
  return frame <= out.size() ? frame : 0;  // shorter gap: libopus conceals it all
}

void AudioDecoder::conceal(std::span<int16_t> out) {
  if (codec_ == Codec::kOpus) {
    if (!opus_->conceal(out).ok()) {
      std::fill(out.begin(), out.end(), int16_t{0});
    }
    return;
  }
  plc_->conceal(out);
}

void AudioDecoder::reset() {
  if (opus_) {
    opus_->reset();
  }
  if (g722_) {
    g722_->reset();
  }
}

AudioEncoder::AudioEncoder(
    Codec codec, int opusBitrate, int opusComplexity, bool opusFec, bool opusCeltOnly)
    : codec_(codec) {
  if (codec == Codec::kOpus) {
    codec::OpusEncoderConfig config;
    config.sampleRate = pcmRate(codec);
    config.bitrate = opusBitrate;
    config.complexity = opusComplexity;
    config.inbandFec = opusFec && !opusCeltOnly;
    config.celtOnly = opusCeltOnly;
    opus_.emplace(config);
  } else if (codec == Codec::kG722) {
    g722_.emplace();
  }
}

void AudioEncoder::setOpusFec(bool on) {
  if (opus_ && !opus_->celtOnly()) {
    opus_->setInbandFec(on);
  }
}

std::size_t AudioEncoder::encode(std::span<const int16_t> pcm, std::span<uint8_t> out) {
  if (codec_ == Codec::kOpus) {
    auto result = opus_->encode(pcm, out);
    return result.ok() ? result.value() : 0;
  }
  if (codec_ == Codec::kG722) {
    return g722_->encode(pcm, out);
  }
  if (out.size() < pcm.size()) {
    return 0;
  }
  return codec_ == Codec::kPcmu ? codec::mulaw::encode(pcm, out) : codec::alaw::encode(pcm, out);
}

}  // namespace confab::mixer
