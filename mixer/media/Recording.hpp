// A room recorded to a file, in two halves that meet at a ring of 20 ms frames: the feed on the
// mixer thread copies what the room heard each tick into the ring (never blocking: a full ring
// drops the frame and counts it), the recorder on the media file thread drains the ring into the
// file, resampling to the file's rate when the room's rate changes.
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

// What the two halves share, each by shared_ptr (the last to let go frees it).
struct RecordingChannel {
  PcmRing ring;
  std::atomic<bool> closed{false};   // the feed is gone: nothing more will come
  std::atomic<bool> failed{false};   // the file failed: the feed stops copying
  std::atomic<uint64_t> dropped{0};  // frames the feed found no room for, not yet accounted
};

// Mixer thread side: the room's recording tap.
class RecordingFeed final : public Room::RecordingTap {
 public:
  explicit RecordingFeed(std::shared_ptr<RecordingChannel> channel)
      : channel_(std::move(channel)) {}
  ~RecordingFeed();  // closes the channel: the recorder finishes the file
  RecordingFeed(const RecordingFeed&) = delete;
  RecordingFeed& operator=(const RecordingFeed&) = delete;

  void onMix(std::span<const int16_t> mix, int rate) override;
  // Frames the file thread had no room for (it writes silence in their place): a disk too slow
  // for the recording. Mixer thread only.
  [[nodiscard]] uint64_t drops() const { return drops_; }

 private:
  std::shared_ptr<RecordingChannel> channel_;
  uint64_t drops_ = 0;
};

// Media file thread side.
class Recorder {
 public:
  // Headers are fixed up this often, so a crash loses at most about a second.
  static constexpr std::size_t kFlushFrames = 50;

  // 'file' was created on the control path; the writer starts with the first frame, which tells
  // the rate a WAV file is written at.
  Recorder(MixId mix,
           uint64_t id,
           RecordingFormat format,
           FilePtr file,
           std::shared_ptr<RecordingChannel> channel);

  // Writes what the ring holds (plus silence for dropped frames, so the file keeps wall-clock
  // length). Once the feed has closed, finishes the file: then returns how it ended (kStopped,
  // or kError when the file failed at any point).
  std::optional<MediaFileEnd> drain();
  // The mixer is shutting down: writes what is there and completes the file now.
  MediaFileEnd finishNow();

  [[nodiscard]] MixId mix() const { return mix_; }
  [[nodiscard]] uint64_t id() const { return id_; }
  [[nodiscard]] uint64_t framesWritten() const { return framesWritten_; }

 private:
  bool write(std::span<const int16_t> pcm, int rate);
  bool writeAvailable();
  MediaFileEnd complete();
  MediaFileEnd fail();

  MixId mix_;
  uint64_t id_;
  RecordingFormat format_;
  FilePtr file_;  // until the writer takes it
  std::shared_ptr<RecordingChannel> channel_;
  std::unique_ptr<PcmFileWriter> writer_;
  std::optional<dsp::Resampler> resampler_;  // room rate -> file rate, while they differ
  std::vector<int16_t> resampled_;
  int lastRate_ = 8000;
  std::size_t sinceFlush_ = 0;
  uint64_t framesWritten_ = 0;
  std::optional<MediaFileEnd> end_;
};

}  // namespace confab::mixer
