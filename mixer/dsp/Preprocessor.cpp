// The only file that includes SpeexDSP's preprocessor.
#include "mixer/dsp/Preprocessor.hpp"

#include <speex/speex_preprocess.h>

#include <stdexcept>
#include <utility>

namespace confab::dsp {

Preprocessor::Preprocessor(std::size_t frameSamples, int sampleRate)
    : state_(nullptr), frameSamples_(frameSamples) {
  if (frameSamples == 0 || frameSamples > 4096 || sampleRate <= 0) {
    throw std::invalid_argument("Preprocessor: bad frame size or rate");
  }
  state_ = speex_preprocess_state_init(static_cast<int>(frameSamples), sampleRate);
  if (state_ == nullptr) {
    throw std::invalid_argument("Preprocessor: SpeexDSP refused the frame size or rate");
  }
  // SpeexDSP enables denoising by default and leaves AGC and VAD off. VAD is not touched here:
  // any SPEEX_PREPROCESS_SET_VAD prints a warning on stderr.
  setNoiseSuppression(true);
}

Preprocessor::~Preprocessor() {
  if (state_ != nullptr) {
    speex_preprocess_state_destroy(state_);
  }
}

Preprocessor::Preprocessor(Preprocessor&& other) noexcept
    : state_(std::exchange(other.state_, nullptr)), frameSamples_(other.frameSamples_) {}

Preprocessor& Preprocessor::operator=(Preprocessor&& other) noexcept {
  if (this != &other) {
    if (state_ != nullptr) {
      speex_preprocess_state_destroy(state_);
    }
    state_ = std::exchange(other.state_, nullptr);
    frameSamples_ = other.frameSamples_;
  }
  return *this;
}

bool Preprocessor::process(std::span<int16_t> frame) {
  if (state_ == nullptr || frame.size() != frameSamples_) {
    return false;
  }
  return speex_preprocess_run(state_, frame.data()) != 0;
}

bool Preprocessor::setNoiseSuppression(bool on, int maxAttenuationDb) {
  spx_int32_t enable = on ? 1 : 0;
  spx_int32_t attenuation = maxAttenuationDb;
  return speex_preprocess_ctl(state_, SPEEX_PREPROCESS_SET_DENOISE, &enable) == 0 &&
         speex_preprocess_ctl(state_, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &attenuation) == 0;
}

bool Preprocessor::setAgc(bool on, float targetLevel) {
  spx_int32_t enable = on ? 1 : 0;
  if (speex_preprocess_ctl(state_, SPEEX_PREPROCESS_SET_AGC, &enable) != 0) {
    return false;
  }
  if (!on) {
    return true;
  }
  // SPEEX_PREPROCESS_SET_AGC_LEVEL takes a float in the floating-point build.
  float level = targetLevel;
  return speex_preprocess_ctl(state_, SPEEX_PREPROCESS_SET_AGC_LEVEL, &level) == 0;
}

bool Preprocessor::setVad(bool on) {
  spx_int32_t enable = on ? 1 : 0;
  return speex_preprocess_ctl(state_, SPEEX_PREPROCESS_SET_VAD, &enable) == 0;
}

int Preprocessor::speechProbability() const {
  spx_int32_t probability = 0;
  speex_preprocess_ctl(state_, SPEEX_PREPROCESS_GET_PROB, &probability);
  return probability;
}

}  // namespace confab::dsp
