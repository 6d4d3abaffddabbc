#include "mixer/dsp/SoftLimiter.hpp"

#include <algorithm>
#include <cmath>

namespace confab::dsp {

namespace {

constexpr float kFullScale = 32767.0F;

float coefficient(float ms, int rate) {
  // One-pole smoothing reaching 1 - 1/e of a step in ms milliseconds.
  const float samples = std::max(1.0F, ms * static_cast<float>(rate) / 1000.0F);
  return std::exp(-1.0F / samples);
}

}  // namespace

SoftLimiter::SoftLimiter(const SoftLimiterConfig& config)
    : threshold_(kFullScale * std::pow(10.0F, std::min(config.thresholdDbfs, 0.0F) / 20.0F)),
      attack_(coefficient(config.attackMs, config.sampleRate)),
      release_(coefficient(config.releaseMs, config.sampleRate)) {}

float SoftLimiter::softKnee(float value) const {
  // Identity up to the threshold; above it a tanh curve with slope 1 at the knee that approaches
  // full scale but never reaches it.
  const float magnitude = std::abs(value);
  if (magnitude <= threshold_) {
    return value;
  }
  const float room = kFullScale - threshold_;
  const float shaped = threshold_ + room * std::tanh((magnitude - threshold_) / room);
  return value < 0.0F ? -shaped : shaped;
}

bool SoftLimiter::process(std::span<const int32_t> in, std::span<int16_t> out) {
  if (in.size() != out.size()) {
    return false;
  }
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto sample = static_cast<float>(in[i]);
    const float magnitude = std::abs(sample);
    const float coef = magnitude > envelope_ ? attack_ : release_;
    envelope_ = coef * envelope_ + (1.0F - coef) * magnitude;
    if (envelope_ <= threshold_ && magnitude <= threshold_) {
      // Below the threshold the limiter is the identity: skip the float round trip.
      out[i] = static_cast<int16_t>(in[i]);
      continue;
    }
    const float g = envelope_ > threshold_ ? threshold_ / envelope_ : 1.0F;
    const float limited = softKnee(sample * g);
    out[i] = static_cast<int16_t>(std::lround(std::clamp(limited, -kFullScale, kFullScale)));
  }
  return true;
}

float SoftLimiter::gain() const {
  return envelope_ > threshold_ ? threshold_ / envelope_ : 1.0F;
}

}  // namespace confab::dsp
