// Comfort noise (RFC 3389) for a sender that stopped sending during silence, so the line does not
// sound dead: noise at the level its CN packet announced, shaped by the spectral envelope the
// packet's reflection coefficients describe (an all-pole model, as in ITU-T G.711 Appendix II),
// or white when it carries none. No allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace confab::dsp {

class ComfortNoise {
 public:
  // The longest model we take; RFC 3389 sets no limit, G.711 Appendix II uses up to 10. Further
  // coefficients are ignored (the shape stays close: the first ones carry most of it).
  static constexpr std::size_t kMaxOrder = 16;

  // A CN payload (RFC 3389 §3): the noise level in -dBov in the first byte's low 7 bits (127:
  // digital silence; an empty payload is silence too), then one byte per reflection
  // coefficient.
  void setParameters(std::span<const uint8_t> payload);
  // The level alone, white noise.
  void setLevel(uint8_t minusDbov) { setParameters(std::span<const uint8_t>(&minusDbov, 1)); }
  [[nodiscard]] uint8_t level() const { return level_; }
  [[nodiscard]] std::size_t order() const { return order_; }
  // Fills out with noise at the level (zeros at 127).
  void generate(std::span<int16_t> out);

 private:
  uint8_t level_ = 127;
  std::size_t order_ = 0;
  std::array<float, kMaxOrder> lpc_{};      // a_1..a_p of A(z) = 1 + sum a_i z^-i
  std::array<float, kMaxOrder> history_{};  // the last p outputs, newest first
  float excitation_ = 0.0F;                 // RMS of the white noise driving 1/A(z)
  uint32_t seed_ = 0x2545F491U;
};

}  // namespace confab::dsp
