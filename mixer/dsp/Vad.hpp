// Who is talking: an energy detector with hysteresis, for the active-speaker indication and the
// RFC 6465 levels. Cheap enough to run on every participant every tick; no allocation.
#pragma once

#include <cstdint>
#include <span>

namespace confab::dsp {

struct VadConfig {
  float startDbov = -40.0F;  // a frame at or above this counts towards starting to talk
  float stopDbov = -46.0F;   // while talking, frames at or above this keep the hangover full
  int attackFrames = 2;      // consecutive loud frames before talking starts (clicks don't count)
  int hangoverMs = 300;      // quiet time before talking stops (keeps pauses between words)
  int frameMs = 20;
};

class Vad {
 public:
  explicit Vad(const VadConfig& config = {});

  // One frame of frameMs; returns whether the participant is talking after it.
  bool process(std::span<const int16_t> frame);

  [[nodiscard]] bool talking() const { return talking_; }
  // The last frame was loud but talking has not started yet (the attack is under way).
  [[nodiscard]] bool rising() const { return !talking_ && loudRun_ > 0; }
  // Level of the last frame, dBov (<= 0, -127 for silence).
  [[nodiscard]] float lastDbov() const { return lastDbov_; }
  void reset();

 private:
  VadConfig config_;
  int hangoverFrames_;
  bool talking_ = false;
  int loudRun_ = 0;
  int quietLeft_ = 0;
  float lastDbov_ = -127.0F;
};

}  // namespace confab::dsp
