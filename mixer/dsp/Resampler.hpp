// Sample-rate conversion between fixed rates (e.g. a G.711 leg at 8 kHz into a 48 kHz mix), over
// SpeexDSP's resampler. One frame in, one frame out; the filter state carries across frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

struct SpeexResamplerState_;

namespace confab::dsp {

class Resampler {
 public:
  // quality 0..10 (SpeexDSP: 3 = "VoIP", 4 = default, 10 = best). Throws std::invalid_argument
  // for rates or quality SpeexDSP refuses. The only allocation is here.
  Resampler(int inRate, int outRate, int quality = 5);
  ~Resampler();
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;
  Resampler(Resampler&& other) noexcept;
  Resampler& operator=(Resampler&& other) noexcept;

  // Converts one frame: out.size() must be in.size() * outRate / inRate. Returns the samples
  // written (out.size()), or 0 if the sizes do not match.
  std::size_t process(std::span<const int16_t> in, std::span<int16_t> out);
  // Forgets the filter history, e.g. when a participant's stream restarts.
  void reset();

  // Filter delay in output samples: a tone comes out this much later than it went in.
  [[nodiscard]] int outputLatency() const;
  [[nodiscard]] int inRate() const { return inRate_; }
  [[nodiscard]] int outRate() const { return outRate_; }

 private:
  SpeexResamplerState_* state_;
  int inRate_;
  int outRate_;
};

}  // namespace confab::dsp
