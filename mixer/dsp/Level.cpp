#include "mixer/dsp/Level.hpp"

#include <algorithm>
#include <cmath>

namespace confab::dsp {

namespace {
constexpr float kSilenceDbov = -127.0F;
}  // namespace

float dbov(std::span<const int16_t> pcm) {
  if (pcm.empty()) {
    return kSilenceDbov;
  }
  // Integer squares summed exactly (a frame is at most a few thousand samples of < 2^30 each):
  // the same value the double sum gave, and a loop the compiler vectorises.
  int64_t sum = 0;
  for (const int16_t sample : pcm) {
    sum += static_cast<int32_t>(sample) * static_cast<int32_t>(sample);
  }
  const double rms = std::sqrt(static_cast<double>(sum) / static_cast<double>(pcm.size()));
  if (rms <= 0.0) {
    return kSilenceDbov;
  }
  const auto level = static_cast<float>(20.0 * std::log10(rms / 32767.0));
  return std::clamp(level, kSilenceDbov, 0.0F);
}

uint8_t levelDbov(std::span<const int16_t> pcm) {
  // The field carries the magnitude of the (negative) dBov value, rounded to the nearest dB.
  return static_cast<uint8_t>(std::lround(-dbov(pcm)));
}

}  // namespace confab::dsp
