// The unit a mixer thread and the media file thread exchange: 20 ms of mono PCM with its rate,
// through lock-free rings sized when a playback or recording starts.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "mixer/engine/SpscQueue.hpp"
#include "mixer/room/AudioCodec.hpp"

namespace confab::mixer {

struct PcmFrame {
  int rate = 48000;
  std::size_t samples = 0;  // rate / 50
  std::array<int16_t, kMaxFrameSamples> pcm{};

  [[nodiscard]] std::span<const int16_t> view() const {
    return std::span<const int16_t>(pcm).first(samples);
  }
};

// 1.28 s of frames: the file thread wakes every 10 ms, so this rides out a slow disk.
inline constexpr std::size_t kPcmRingFrames = 64;
using PcmRing = SpscQueue<PcmFrame, kPcmRingFrames>;

}  // namespace confab::mixer
