#include "mixer/dsp/Vad.hpp"

#include <algorithm>

#include "mixer/dsp/Level.hpp"

namespace confab::dsp {

Vad::Vad(const VadConfig& config)
    : config_(config),
      hangoverFrames_(std::max(1, config.hangoverMs / std::max(1, config.frameMs))) {}

bool Vad::process(std::span<const int16_t> frame) {
  lastDbov_ = dbov(frame);
  if (!talking_) {
    loudRun_ = lastDbov_ >= config_.startDbov ? loudRun_ + 1 : 0;
    if (loudRun_ >= config_.attackFrames) {
      talking_ = true;
      quietLeft_ = hangoverFrames_;
    }
    return talking_;
  }
  // Two thresholds: a talker trailing off just under the start level is still talking.
  if (lastDbov_ >= config_.stopDbov) {
    quietLeft_ = hangoverFrames_;
  } else if (--quietLeft_ <= 0) {
    talking_ = false;
    loudRun_ = 0;
  }
  return talking_;
}

void Vad::reset() {
  talking_ = false;
  loudRun_ = 0;
  quietLeft_ = 0;
  lastDbov_ = -127.0F;
}

}  // namespace confab::dsp
