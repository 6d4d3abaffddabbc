// Test helpers for audio: tone generators and detectors, so tests check what a participant would
// hear ("A hears 1.5 kHz but not 1 kHz"), not packet counts.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <span>
#include <vector>

namespace confab::test {

// A sine that keeps its phase across frames.
class SineGenerator {
 public:
  SineGenerator(double frequency, double amplitude, int sampleRate)
      : step_(2.0 * std::numbers::pi * frequency / sampleRate), amplitude_(amplitude) {}

  void fill(std::span<int16_t> out) {
    for (auto& sample : out) {
      sample = static_cast<int16_t>(
          std::lround(std::clamp(amplitude_ * std::sin(phase_), -32768.0, 32767.0)));
      phase_ = std::fmod(phase_ + step_, 2.0 * std::numbers::pi);
    }
  }
  // Adds into a wider accumulator (a mix).
  void add(std::span<int32_t> out) {
    for (auto& sample : out) {
      sample += static_cast<int32_t>(std::lround(amplitude_ * std::sin(phase_)));
      phase_ = std::fmod(phase_ + step_, 2.0 * std::numbers::pi);
    }
  }

 private:
  double step_;
  double amplitude_;
  double phase_ = 0.0;
};

inline std::vector<int16_t> sine(double frequency,
                                 double amplitude,
                                 int sampleRate,
                                 std::size_t samples) {
  std::vector<int16_t> out(samples);
  SineGenerator(frequency, amplitude, sampleRate).fill(out);
  return out;
}

inline double rms(std::span<const int16_t> pcm) {
  if (pcm.empty()) {
    return 0.0;
  }
  double sum = 0.0;
  for (const int16_t s : pcm) {
    sum += static_cast<double>(s) * s;
  }
  return std::sqrt(sum / static_cast<double>(pcm.size()));
}

// RMS level relative to a full-scale square wave (RFC 6464 §4); -200 for digital silence.
inline double rmsDbov(std::span<const int16_t> pcm) {
  const double r = rms(pcm);
  return r > 0.0 ? 20.0 * std::log10(r / 32767.0) : -200.0;
}

// Amplitude of the component at frequency, by a Hann-windowed Goertzel filter.
inline double toneAmplitude(std::span<const int16_t> pcm, double frequency, int sampleRate) {
  const std::size_t n = pcm.size();
  if (n < 2) {
    return 0.0;
  }
  const double w = 2.0 * std::numbers::pi * frequency / sampleRate;
  const double coeff = 2.0 * std::cos(w);
  double s1 = 0.0;
  double s2 = 0.0;
  double windowSum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double hann = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * static_cast<double>(i) /
                                             static_cast<double>(n - 1));
    windowSum += hann;
    const double s0 = hann * pcm[i] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;  // |X(w)|^2
  return 2.0 * std::sqrt(std::max(0.0, power)) / windowSum;
}

// Power at frequency relative to the whole signal's power, in dB: 0 dB for a pure tone at that
// frequency, about -3 dB for one of two equal tones, very negative when absent; -200 for silence.
inline double tonePowerDb(std::span<const int16_t> pcm, double frequency, int sampleRate) {
  const double total = rms(pcm);
  if (total <= 0.0) {
    return -200.0;
  }
  const double amplitude = toneAmplitude(pcm, frequency, sampleRate);
  const double tonePower = amplitude * amplitude / 2.0;
  return tonePower > 0.0 ? 10.0 * std::log10(tonePower / (total * total)) : -200.0;
}

// Level of the tone alone, dBov (a full-scale sine is about -3 dBov).
inline double toneDbov(std::span<const int16_t> pcm, double frequency, int sampleRate) {
  const double amplitude = toneAmplitude(pcm, frequency, sampleRate);
  return amplitude > 0.0 ? 20.0 * std::log10(amplitude / std::numbers::sqrt2 / 32767.0) : -200.0;
}

// The tone carries at least minDb of the signal's power (e.g. -10: clearly audible in it).
inline bool hasTone(std::span<const int16_t> pcm,
                    double frequency,
                    int sampleRate,
                    double minDb = -10.0) {
  return tonePowerDb(pcm, frequency, sampleRate) >= minDb;
}

// Signal-to-noise ratio of a processed signal against its reference, in dB.
inline double snrDb(std::span<const int16_t> reference, std::span<const int16_t> processed) {
  double signal = 0.0;
  double noise = 0.0;
  const std::size_t n = std::min(reference.size(), processed.size());
  for (std::size_t i = 0; i < n; ++i) {
    const double r = reference[i];
    signal += r * r;
    noise += (r - processed[i]) * (r - processed[i]);
  }
  return noise > 0.0 ? 10.0 * std::log10(signal / noise) : 200.0;
}

}  // namespace confab::test
