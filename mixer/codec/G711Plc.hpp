// Packet loss concealment for G.711 (and any other codec without its own), after ITU-T G.711
// Appendix I: repeat the last pitch period of what was heard, fade it out over 60 ms, and
// overlap-add into the first good frame after the loss so recovery does not click.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace confab::codec {

class G711Plc {
 public:
  // All buffers are sized here; conceal() and received() never allocate.
  explicit G711Plc(int sampleRate = 8000);

  // A frame arrived and decoded: remembers it. The first good frame after a loss is modified in
  // place (overlap-add with the continued concealment), so call this before playing it.
  void received(std::span<int16_t> frame);
  // A frame was lost: fills out with the concealment.
  void conceal(std::span<int16_t> out);

  [[nodiscard]] bool concealing() const { return erased_ > 0; }
  // Pitch period chosen for the current loss, in samples (0 when not concealing).
  [[nodiscard]] std::size_t pitchPeriod() const { return erased_ > 0 ? period_ : 0; }

 private:
  void remember(std::span<const int16_t> samples);
  void startConcealment();
  [[nodiscard]] std::size_t findPitch() const;
  [[nodiscard]] float gainAt(std::size_t erasedSample) const;
  [[nodiscard]] float nextSynthetic();

  std::size_t rate_;
  std::size_t pitchMin_;
  std::size_t pitchMax_;
  std::size_t correlationLength_;
  std::size_t fadeStart_;         // samples of loss at full level
  std::size_t fadeEnd_;           // samples of loss after which the concealment is silent
  std::vector<int16_t> history_;  // the last history_.size() samples played, oldest first
  std::vector<float> periodBuffer_;
  std::size_t period_ = 0;
  std::size_t position_ = 0;  // next sample of periodBuffer_ to play
  std::size_t erased_ = 0;    // samples concealed in the current loss
};

}  // namespace confab::codec
