// Cleans a participant's microphone signal before mixing: SpeexDSP's noise suppression and
// automatic gain control, and its voice probability. One frame size, fixed at construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

struct SpeexPreprocessState_;

namespace confab::dsp {

class Preprocessor {
 public:
  // frameSamples: the frame every process() call gets (e.g. 320 for 20 ms at 16 kHz). Throws
  // std::invalid_argument if SpeexDSP refuses. The only allocation is here.
  Preprocessor(std::size_t frameSamples, int sampleRate);
  ~Preprocessor();
  Preprocessor(const Preprocessor&) = delete;
  Preprocessor& operator=(const Preprocessor&) = delete;
  Preprocessor(Preprocessor&& other) noexcept;
  Preprocessor& operator=(Preprocessor&& other) noexcept;

  // Denoises/levels the frame in place (frame.size() must be frameSamples). Returns SpeexDSP's
  // voice decision when VAD is on, else true; false without touching a wrong-sized frame.
  bool process(std::span<int16_t> frame);

  bool setNoiseSuppression(bool on, int maxAttenuationDb = -25);
  // AGC exists only in SpeexDSP's floating-point build; false when unavailable.
  bool setAgc(bool on, float targetLevel = 8000.0F);
  // SpeexDSP 1.2 prints "The VAD has been replaced by a hack" on stderr at each call: call it
  // when a participant joins, never per frame. dsp::Vad is our own alternative.
  bool setVad(bool on);
  // Probability (0..100) that the last frame processed was speech.
  [[nodiscard]] int speechProbability() const;
  [[nodiscard]] std::size_t frameSamples() const { return frameSamples_; }

 private:
  SpeexPreprocessState_* state_;
  std::size_t frameSamples_;
};

}  // namespace confab::dsp
