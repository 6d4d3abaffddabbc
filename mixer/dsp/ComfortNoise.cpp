#include "mixer/dsp/ComfortNoise.hpp"

#include <algorithm>
#include <cmath>

namespace confab::dsp {

void ComfortNoise::setLevel(uint8_t minusDbov) {
  level_ = static_cast<uint8_t>(minusDbov & 0x7F);
  if (level_ == 127) {
    amplitude_ = 0.0F;
    return;
  }
  // dBov is relative to a full-scale square wave, whose RMS is 32767 (as in RFC 6464 §4). Uniform
  // noise in [-a, a] has an RMS of a / sqrt(3).
  const float rms = 32767.0F * std::pow(10.0F, -static_cast<float>(level_) / 20.0F);
  amplitude_ = std::min(32767.0F, rms * std::sqrt(3.0F));
}

void ComfortNoise::generate(std::span<int16_t> out) {
  if (amplitude_ == 0.0F) {
    std::fill(out.begin(), out.end(), int16_t{0});
    return;
  }
  for (auto& sample : out) {
    seed_ = seed_ * 1664525U + 1013904223U;  // Numerical Recipes LCG: cheap, good enough for hiss
    const float uniform = static_cast<float>(seed_ >> 8) / 8388608.0F - 1.0F;  // [-1, 1)
    sample = static_cast<int16_t>(std::lround(uniform * amplitude_));
  }
}

}  // namespace confab::dsp
