// Comfort noise (RFC 3389) for a sender that stopped sending during silence: white noise at the
// level its CN packets announced, so the line does not sound dead. No allocation.
#pragma once

#include <cstdint>
#include <span>

namespace confab::dsp {

class ComfortNoise {
 public:
  // RFC 3389 §3.1: the noise level in -dBov (0..127, the first payload byte's low 7 bits);
  // 127 means digital silence.
  void setLevel(uint8_t minusDbov);
  [[nodiscard]] uint8_t level() const { return level_; }
  // Fills out with noise at the level (zeros at 127).
  void generate(std::span<int16_t> out);

 private:
  uint8_t level_ = 127;
  float amplitude_ = 0.0F;  // peak of the uniform noise
  uint32_t seed_ = 0x2545F491U;
};

}  // namespace confab::dsp
