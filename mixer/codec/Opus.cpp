// The only file that includes libopus.
#include "mixer/codec/Opus.hpp"

#include <opus/opus.h>

#include <stdexcept>
#include <string>

namespace confab::codec {

namespace {

bool validRate(int rate) {
  return rate == 8000 || rate == 12000 || rate == 16000 || rate == 24000 || rate == 48000;
}

// RFC 7587 §4.2 lets a receiver take 2.5..120 ms; we send and mix 10, 20, 40 and 60 ms frames.
bool validEncoderFrame(std::size_t samples, int rate) {
  const auto perTenMs = static_cast<std::size_t>(rate / 100);
  return samples == perTenMs || samples == 2 * perTenMs || samples == 4 * perTenMs ||
         samples == 6 * perTenMs;
}

int clampToInt(std::size_t n) {
  return n > static_cast<std::size_t>(INT32_MAX) ? INT32_MAX : static_cast<int>(n);
}

}  // namespace

const char* OpusResult::message() const {
  return ok() ? "ok" : opus_strerror(value_);
}

// The libopus state is an opaque blob of opus_*_get_size() bytes, initialised in place.
struct OpusEncoder::Storage {
  std::unique_ptr<unsigned char[]> bytes;
  [[nodiscard]] ::OpusEncoder* get() const { return reinterpret_cast<::OpusEncoder*>(bytes.get()); }
};

struct OpusDecoder::Storage {
  std::unique_ptr<unsigned char[]> bytes;
  [[nodiscard]] ::OpusDecoder* get() const { return reinterpret_cast<::OpusDecoder*>(bytes.get()); }
};

OpusEncoder::OpusEncoder(const OpusEncoderConfig& config)
    : state_(std::make_unique<Storage>()), rate_(config.sampleRate), celtOnly_(config.celtOnly) {
  if (!validRate(config.sampleRate)) {
    throw std::invalid_argument("OpusEncoder: sample rate must be 8, 12, 16, 24 or 48 kHz");
  }
  state_->bytes =
      std::make_unique<unsigned char[]>(static_cast<std::size_t>(opus_encoder_get_size(1)));
  // VOIP application: favours speech intelligibility and enables the SILK layer at low rates.
  // RESTRICTED_LOWDELAY: CELT alone, for mixes where encode time matters more than FEC.
  const int init =
      opus_encoder_init(state_->get(), config.sampleRate, 1,
                        config.celtOnly ? OPUS_APPLICATION_RESTRICTED_LOWDELAY : OPUS_APPLICATION_VOIP);
  if (init != OPUS_OK) {
    throw std::invalid_argument(std::string("OpusEncoder: ") + opus_strerror(init));
  }
  if (!setBitrate(config.bitrate) || !setComplexity(config.complexity) ||
      !setInbandFec(config.inbandFec && !config.celtOnly) || !setDtx(config.dtx) ||
      !setPacketLossPercent(config.packetLossPercent)) {
    throw std::invalid_argument("OpusEncoder: bitrate, complexity or loss percentage refused");
  }
  opus_encoder_ctl(state_->get(), OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
}

OpusEncoder::~OpusEncoder() = default;
OpusEncoder::OpusEncoder(OpusEncoder&&) noexcept = default;
OpusEncoder& OpusEncoder::operator=(OpusEncoder&&) noexcept = default;

OpusResult OpusEncoder::encode(std::span<const int16_t> pcm, std::span<uint8_t> out) {
  if (!validEncoderFrame(pcm.size(), rate_)) {
    return OpusResult::failure(OPUS_BAD_ARG);
  }
  const opus_int32 bytes = opus_encode(state_->get(), pcm.data(), static_cast<int>(pcm.size()),
                                       out.data(), clampToInt(out.size()));
  return bytes < 0 ? OpusResult::failure(bytes)
                   : OpusResult::count(static_cast<std::size_t>(bytes));
}

bool OpusEncoder::setBitrate(int bitsPerSecond) {
  return opus_encoder_ctl(state_->get(), OPUS_SET_BITRATE(bitsPerSecond)) == OPUS_OK;
}

bool OpusEncoder::setComplexity(int complexity) {
  return opus_encoder_ctl(state_->get(), OPUS_SET_COMPLEXITY(complexity)) == OPUS_OK;
}

bool OpusEncoder::setInbandFec(bool on) {
  if (celtOnly_) {
    return !on;  // CELT has no LBRR to carry it
  }
  return opus_encoder_ctl(state_->get(), OPUS_SET_INBAND_FEC(on ? 1 : 0)) == OPUS_OK;
}

bool OpusEncoder::setDtx(bool on) {
  return opus_encoder_ctl(state_->get(), OPUS_SET_DTX(on ? 1 : 0)) == OPUS_OK;
}

bool OpusEncoder::setPacketLossPercent(int percent) {
  return opus_encoder_ctl(state_->get(), OPUS_SET_PACKET_LOSS_PERC(percent)) == OPUS_OK;
}

int OpusEncoder::lookahead() const {
  opus_int32 samples = 0;
  opus_encoder_ctl(state_->get(), OPUS_GET_LOOKAHEAD(&samples));
  return samples;
}

OpusDecoder::OpusDecoder(int sampleRate) : state_(std::make_unique<Storage>()), rate_(sampleRate) {
  if (!validRate(sampleRate)) {
    throw std::invalid_argument("OpusDecoder: sample rate must be 8, 12, 16, 24 or 48 kHz");
  }
  state_->bytes =
      std::make_unique<unsigned char[]>(static_cast<std::size_t>(opus_decoder_get_size(1)));
  const int init = opus_decoder_init(state_->get(), sampleRate, 1);
  if (init != OPUS_OK) {
    throw std::invalid_argument(std::string("OpusDecoder: ") + opus_strerror(init));
  }
}

OpusDecoder::~OpusDecoder() = default;
OpusDecoder::OpusDecoder(OpusDecoder&&) noexcept = default;
OpusDecoder& OpusDecoder::operator=(OpusDecoder&&) noexcept = default;

OpusResult OpusDecoder::decode(std::span<const uint8_t> packet, std::span<int16_t> out) {
  if (packet.empty()) {
    return conceal(out);
  }
  const int samples = opus_decode(state_->get(), packet.data(), clampToInt(packet.size()),
                                  out.data(), clampToInt(out.size()), 0);
  return samples < 0 ? OpusResult::failure(samples)
                     : OpusResult::count(static_cast<std::size_t>(samples));
}

OpusResult OpusDecoder::decodeFec(std::span<const uint8_t> nextPacket, std::span<int16_t> out) {
  if (nextPacket.empty()) {
    return conceal(out);
  }
  // opus_decode(): with decode_fec = 1, frame_size must be the lost duration exactly.
  const int samples = opus_decode(state_->get(), nextPacket.data(), clampToInt(nextPacket.size()),
                                  out.data(), clampToInt(out.size()), 1);
  return samples < 0 ? OpusResult::failure(samples)
                     : OpusResult::count(static_cast<std::size_t>(samples));
}

OpusResult OpusDecoder::conceal(std::span<int16_t> out) {
  const int samples = opus_decode(state_->get(), nullptr, 0, out.data(), clampToInt(out.size()), 0);
  return samples < 0 ? OpusResult::failure(samples)
                     : OpusResult::count(static_cast<std::size_t>(samples));
}

void OpusDecoder::reset() {
  opus_decoder_ctl(state_->get(), OPUS_RESET_STATE);
}

int OpusDecoder::lastPacketDuration() const {
  opus_int32 samples = 0;
  opus_decoder_ctl(state_->get(), OPUS_GET_LAST_PACKET_DURATION(&samples));
  return samples;
}

}  // namespace confab::codec
