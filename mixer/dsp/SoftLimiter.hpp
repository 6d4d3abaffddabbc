// Turns the mixer's int32 sums into int16 without hard clipping: an envelope follower (fast
// attack, slow release, no look-ahead so no added delay) pulls the gain down when the sum passes
// the threshold, and a soft knee catches what the attack is too slow for.
#pragma once

#include <cstdint>
#include <span>

namespace confab::dsp {

struct SoftLimiterConfig {
  int sampleRate = 48000;
  float thresholdDbfs = -1.0F;
  float attackMs = 1.0F;
  float releaseMs = 100.0F;
};

class SoftLimiter {
 public:
  explicit SoftLimiter(const SoftLimiterConfig& config = {});

  // out.size() == in.size(); returns false (and writes nothing) otherwise.
  bool process(std::span<const int32_t> in, std::span<int16_t> out);

  // Gain currently applied, 1 when below the threshold.
  [[nodiscard]] float gain() const;
  void reset() { envelope_ = 0.0F; }

 private:
  [[nodiscard]] float softKnee(float value) const;

  float threshold_;
  float attack_;  // per-sample smoothing coefficients (one-pole)
  float release_;
  float envelope_ = 0.0F;
};

}  // namespace confab::dsp
