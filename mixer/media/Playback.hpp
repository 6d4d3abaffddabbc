// A file played into a room, in two halves that meet at a ring of 20 ms frames: the reader runs on
// the media file thread (reads, resamples to 48 kHz, keeps the ring topped up), the feed on the
// mixer thread (one frame per tick at the room's rate; never reads, allocates or waits).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "mixer/dsp/Resampler.hpp"
#include "mixer/engine/Control.hpp"
#include "mixer/media/PcmFile.hpp"
#include "mixer/media/PcmFrame.hpp"
#include "mixer/room/Room.hpp"

namespace confab::mixer {

// What the two halves share. Each holds it by shared_ptr, so whichever lets go last frees it: the
// ring cannot vanish under the mixer thread.
struct PlaybackChannel {
  PcmRing ring;
  std::atomic<bool> ready{false};      // prefilled, or the whole file is in: the feed may start
  std::atomic<bool> ended{false};      // the last frame is in the ring
  std::atomic<bool> failed{false};     // it ended because the file broke (set before 'ended')
  std::atomic<bool> cancelled{false};  // the feed is gone: the reader can stop
};

// Media file thread side.
class PlaybackReader {
 public:
  static constexpr int kRate = 48000;
  static constexpr std::size_t kFrameSamples = kRate / 50;
  // The feed waits for this much audio before it starts, so a slow first read is not heard as a
  // stutter.
  static constexpr std::size_t kPrefillFrames = 10;

  PlaybackReader(std::unique_ptr<PcmFileReader> file, std::shared_ptr<PlaybackChannel> channel);

  // Tops the ring up. False once there is nothing left to do: the end (or a broken file) is
  // signalled in the channel, or the feed went away.
  bool pump();

 private:
  bool nextFrame();  // into pending_; false at the end
  void refill();     // one chunk from the file, resampled, onto fifo_

  std::unique_ptr<PcmFileReader> file_;
  std::shared_ptr<PlaybackChannel> channel_;
  std::optional<dsp::Resampler> resampler_;
  std::vector<int16_t> in_;   // one chunk at the file's rate
  std::vector<int16_t> out_;  // the same chunk at 48 kHz
  std::vector<int16_t> fifo_;
  std::size_t head_ = 0;             // fifo_ is consumed from here
  std::optional<PcmFrame> pending_;  // taken from the file, not yet into the full ring
  std::size_t pushed_ = 0;
  bool atEnd_ = false;
  bool broken_ = false;
};

// Mixer thread side: what the room pulls from each tick.
class PlaybackFeed final : public Room::PlaybackSource {
 public:
  // Control path: everything the tick needs is allocated here.
  explicit PlaybackFeed(std::shared_ptr<PlaybackChannel> channel);
  ~PlaybackFeed();  // tells the reader to stop
  PlaybackFeed(const PlaybackFeed&) = delete;
  PlaybackFeed& operator=(const PlaybackFeed&) = delete;

  // Silence (false) until prefilled, when the ring runs dry (counted; the reader catches up)
  // and after the end.
  bool fill(std::span<int16_t> out, int rate) override;
  // The last frame has been played.
  [[nodiscard]] bool finished() const { return finished_; }
  [[nodiscard]] MediaFileEnd end() const {
    return channel_->failed.load(std::memory_order_acquire) ? MediaFileEnd::kError
                                                            : MediaFileEnd::kFinished;
  }
  [[nodiscard]] uint64_t underruns() const { return underruns_; }

 private:
  std::shared_ptr<PlaybackChannel> channel_;
  dsp::Resampler toNarrowband_;  // 48 kHz frames into an all-G.711 room at 8 kHz
  dsp::Resampler toWideband_;    // 48 kHz frames into a G.722 room at 16 kHz
  bool finished_ = false;
  uint64_t underruns_ = 0;
};

}  // namespace confab::mixer
