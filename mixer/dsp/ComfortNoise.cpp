#include "mixer/dsp/ComfortNoise.hpp"

#include <algorithm>
#include <cmath>

namespace confab::dsp {

void ComfortNoise::setParameters(std::span<const uint8_t> payload) {
  level_ = payload.empty() ? uint8_t{127} : static_cast<uint8_t>(payload[0] & 0x7F);
  order_ = std::min(payload.empty() ? 0 : payload.size() - 1, kMaxOrder);
  // RFC 3389 §3.2: each byte N carries a reflection coefficient k = (N - 127) / 128, with the
  // sign of the Levinson-Durbin recursion for A(z) = 1 + sum a_i z^-i (a low-pass noise has a
  // negative k1). Kept within +-0.99 so that N = 255 (k = 1) cannot make the filter unstable.
  // The step-up recursion turns them into the direct-form a_i.
  // The filter multiplies the excitation's power by 1 / prod(1 - k_i^2) (the prediction error
  // of the Levinson-Durbin recursion, run backwards), known here at no cost.
  std::array<float, kMaxOrder> previous{};
  float errorPower = 1.0F;
  for (std::size_t m = 0; m < order_; ++m) {
    const float k =
        std::clamp((static_cast<float>(payload[m + 1]) - 127.0F) / 128.0F, -0.99F, 0.99F);
    previous = lpc_;
    for (std::size_t i = 0; i < m; ++i) {
      lpc_[i] = previous[i] + k * previous[m - 1 - i];
    }
    lpc_[m] = k;
    errorPower *= 1.0F - k * k;
  }
  // A model that lifts its excitation by more than 60 dB (a hostile packet's poles all at the
  // unit circle, which float arithmetic cannot run stably) is dropped for white noise.
  if (errorPower < 1e-6F) {
    order_ = 0;
    errorPower = 1.0F;
  }
  history_.fill(0.0F);
  if (level_ == 127) {
    excitation_ = 0.0F;
    return;
  }
  // dBov is relative to a full-scale square wave, whose RMS is 32767 (as in RFC 6464 §4).
  const float rms = 32767.0F * std::pow(10.0F, -static_cast<float>(level_) / 20.0F);
  excitation_ = rms * std::sqrt(errorPower);
}

void ComfortNoise::generate(std::span<int16_t> out) {
  if (excitation_ == 0.0F) {
    std::fill(out.begin(), out.end(), int16_t{0});
    return;
  }
  // Uniform noise in [-a, a] has an RMS of a / sqrt(3).
  const float amplitude = excitation_ * std::sqrt(3.0F);
  for (auto& sample : out) {
    seed_ = seed_ * 1664525U + 1013904223U;  // Numerical Recipes LCG: cheap, good enough for hiss
    const float uniform = static_cast<float>(seed_ >> 8) / 8388608.0F - 1.0F;  // [-1, 1)
    float y = uniform * amplitude;
    for (std::size_t i = 0; i < order_; ++i) {
      y -= lpc_[i] * history_[i];
    }
    if (!(std::abs(y) < 1e6F)) {
      // Diverging after all (NaN fails the test too): white noise from here on.
      order_ = 0;
      y = uniform * amplitude;
    }
    for (std::size_t i = order_; i-- > 1;) {
      history_[i] = history_[i - 1];
    }
    history_[0] = y;
    sample = static_cast<int16_t>(std::lround(std::clamp(y, -32768.0F, 32767.0F)));
  }
}

}  // namespace confab::dsp
