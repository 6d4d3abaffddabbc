#include "mixer/codec/G711Plc.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace confab::codec {

namespace {

std::size_t msToSamples(std::size_t rate, std::size_t tenthsOfMs) {
  return rate * tenthsOfMs / 10000;
}

int16_t toSample(float value) {
  return static_cast<int16_t>(std::lround(std::clamp(value, -32768.0F, 32767.0F)));
}

}  // namespace

G711Plc::G711Plc(int sampleRate)
    : rate_(static_cast<std::size_t>(sampleRate)),
      // G.711 App. I searches 5..15 ms; we go down to 2.5 ms (400 Hz) for high voices.
      pitchMin_(msToSamples(rate_, 25)),
      pitchMax_(msToSamples(rate_, 150)),
      correlationLength_(msToSamples(rate_, 200)),
      // G.711 App. I §I.2.4: full level for the first 10 ms, then 20 % less every 10 ms.
      fadeStart_(msToSamples(rate_, 100)),
      fadeEnd_(msToSamples(rate_, 600)) {
  if (sampleRate < 8000 || sampleRate > 48000 || sampleRate % 4000 != 0) {
    throw std::invalid_argument("G711Plc: sample rate must be 8, 12, 16, 24, 32 or 48 kHz");
  }
  history_.assign(correlationLength_ + pitchMax_, 0);
  periodBuffer_.assign(pitchMax_, 0.0F);
}

void G711Plc::remember(std::span<const int16_t> samples) {
  const std::size_t size = history_.size();
  if (samples.size() >= size) {
    std::copy(samples.end() - static_cast<std::ptrdiff_t>(size), samples.end(), history_.begin());
    return;
  }
  std::copy(history_.begin() + static_cast<std::ptrdiff_t>(samples.size()), history_.end(),
            history_.begin());
  std::copy(samples.begin(), samples.end(),
            history_.end() - static_cast<std::ptrdiff_t>(samples.size()));
}

std::size_t G711Plc::findPitch() const {
  // Normalised cross-correlation of the newest correlationLength_ samples with the same window
  // one candidate period earlier (G.711 App. I §I.2.2, without its decimated first pass).
  const std::size_t end = history_.size();
  const std::size_t start = end - correlationLength_;
  std::size_t best = pitchMin_;
  double bestScore = -1.0;
  for (std::size_t lag = pitchMin_; lag <= pitchMax_; ++lag) {
    double cross = 0.0;
    double energy = 0.0;
    for (std::size_t i = start; i < end; ++i) {
      const double past = history_[i - lag];
      cross += static_cast<double>(history_[i]) * past;
      energy += past * past;
    }
    const double score = energy > 0.0 ? cross / std::sqrt(energy) : 0.0;
    // Multiples of the period correlate as well as the period itself: keep the shortest unless a
    // longer lag is clearly better.
    if (score > bestScore * 1.001 + 1e-9) {
      bestScore = score;
      best = lag;
    }
  }
  return best;
}

void G711Plc::startConcealment() {
  period_ = findPitch();
  const std::size_t end = history_.size();
  // The last period, with its last quarter cross-faded into the quarter period that precedes it,
  // so that wrapping from its end back to its start is continuous (G.711 App. I §I.2.3).
  const std::size_t overlap = std::max<std::size_t>(1, period_ / 4);
  for (std::size_t i = 0; i < period_; ++i) {
    periodBuffer_[i] = history_[end - period_ + i];
  }
  for (std::size_t j = 0; j < overlap; ++j) {
    const float w = (static_cast<float>(j) + 0.5F) / static_cast<float>(overlap);
    const std::size_t at = period_ - overlap + j;
    periodBuffer_[at] = (1.0F - w) * static_cast<float>(history_[end - overlap + j]) +
                        w * static_cast<float>(history_[end - period_ - overlap + j]);
  }
  position_ = 0;
}

float G711Plc::gainAt(std::size_t erasedSample) const {
  if (erasedSample < fadeStart_) {
    return 1.0F;
  }
  if (erasedSample >= fadeEnd_) {
    return 0.0F;
  }
  return 1.0F -
         static_cast<float>(erasedSample - fadeStart_) / static_cast<float>(fadeEnd_ - fadeStart_);
}

float G711Plc::nextSynthetic() {
  const float value = periodBuffer_[position_] * gainAt(erased_);
  position_ = position_ + 1 == period_ ? 0 : position_ + 1;
  ++erased_;
  return value;
}

void G711Plc::conceal(std::span<int16_t> out) {
  if (erased_ == 0) {
    startConcealment();
  }
  for (auto& sample : out) {
    sample = toSample(nextSynthetic());
  }
  remember(out);
}

void G711Plc::received(std::span<int16_t> frame) {
  if (erased_ > 0) {
    // G.711 App. I §I.2.5: overlap 4 ms, plus 4 ms for each further 10 ms lost, at most 10 ms.
    const std::size_t extra = (erased_ - 1) / msToSamples(rate_, 100);
    const std::size_t overlap =
        std::min({frame.size(), msToSamples(rate_, 40) * (1 + extra), msToSamples(rate_, 100)});
    for (std::size_t j = 0; j < overlap; ++j) {
      const float w = (static_cast<float>(j) + 0.5F) / static_cast<float>(overlap);
      frame[j] = toSample((1.0F - w) * nextSynthetic() + w * static_cast<float>(frame[j]));
    }
    erased_ = 0;
  }
  remember(frame);
}

}  // namespace confab::codec
