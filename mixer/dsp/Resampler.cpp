// The only file that includes SpeexDSP's resampler.
#include "mixer/dsp/Resampler.hpp"

#include <speex/speex_resampler.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace confab::dsp {

Resampler::Resampler(int inRate, int outRate, int quality)
    : state_(nullptr), inRate_(inRate), outRate_(outRate) {
  if (inRate <= 0 || outRate <= 0) {
    throw std::invalid_argument("Resampler: rates must be positive");
  }
  int error = RESAMPLER_ERR_SUCCESS;
  state_ = speex_resampler_init(1, static_cast<spx_uint32_t>(inRate),
                                static_cast<spx_uint32_t>(outRate), quality, &error);
  if (state_ == nullptr || error != RESAMPLER_ERR_SUCCESS) {
    throw std::invalid_argument(std::string("Resampler: ") + speex_resampler_strerror(error));
  }
}

Resampler::~Resampler() {
  if (state_ != nullptr) {
    speex_resampler_destroy(state_);
  }
}

Resampler::Resampler(Resampler&& other) noexcept
    : state_(std::exchange(other.state_, nullptr)),
      inRate_(other.inRate_),
      outRate_(other.outRate_) {}

Resampler& Resampler::operator=(Resampler&& other) noexcept {
  if (this != &other) {
    if (state_ != nullptr) {
      speex_resampler_destroy(state_);
    }
    state_ = std::exchange(other.state_, nullptr);
    inRate_ = other.inRate_;
    outRate_ = other.outRate_;
  }
  return *this;
}

std::size_t Resampler::process(std::span<const int16_t> in, std::span<int16_t> out) {
  const auto expected =
      in.size() * static_cast<std::size_t>(outRate_) / static_cast<std::size_t>(inRate_);
  if (out.size() != expected || state_ == nullptr) {
    return 0;
  }
  auto inLength = static_cast<spx_uint32_t>(in.size());
  auto outLength = static_cast<spx_uint32_t>(out.size());
  speex_resampler_process_int(state_, 0, in.data(), &inLength, out.data(), &outLength);
  // With an integer number of input frames SpeexDSP fills the whole output; should a ratio leave
  // it a sample short, repeat the last one rather than leave stale memory in the mix.
  for (std::size_t i = outLength; i < out.size(); ++i) {
    out[i] = i > 0 ? out[i - 1] : int16_t{0};
  }
  return out.size();
}

void Resampler::reset() {
  if (state_ != nullptr) {
    speex_resampler_reset_mem(state_);
  }
}

int Resampler::outputLatency() const {
  return state_ != nullptr ? speex_resampler_get_output_latency(state_) : 0;
}

}  // namespace confab::dsp
