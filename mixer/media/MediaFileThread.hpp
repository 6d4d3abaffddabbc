// The one thread per mixer that touches audio files: it keeps every playback's ring topped up and
// drains every recording's ring into its file, so the mixer threads never read, write or encode
// a file. New work arrives from the control thread under a mutex (neither side is a hot path);
// the mixer threads meet this one only at the rings.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "mixer/engine/SpscQueue.hpp"
#include "mixer/media/Playback.hpp"
#include "mixer/media/Recording.hpp"

namespace confab::mixer {

// A recording is complete (its file closed): a playback's end is the mixer thread's to tell.
struct RecordingEnded {
  MixId mix = 0;
  uint64_t id = 0;
  MediaFileEnd how = MediaFileEnd::kStopped;
};

class MediaFileThread {
 public:
  // How often the rings are serviced: a few times per 20 ms frame.
  static constexpr std::chrono::milliseconds kPeriod{10};

  // 'wake' (an eventfd) is written when an event is queued; the thread starts at once.
  explicit MediaFileThread(int wake);
  ~MediaFileThread();
  MediaFileThread(const MediaFileThread&) = delete;
  MediaFileThread& operator=(const MediaFileThread&) = delete;

  // Control thread.
  void play(std::unique_ptr<PlaybackReader> reader);
  void record(std::unique_ptr<Recorder> recorder);
  // Completes every open recording (the mixer threads must have stopped feeding them) and ends
  // the thread. Idempotent.
  void stop();
  std::optional<RecordingEnded> popEvent() { return events_.pop(); }

 private:
  void run();
  void serviceOnce();
  void report(const Recorder& recorder, MediaFileEnd how);

  int wake_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;                                      // under mutex_
  std::vector<std::unique_ptr<PlaybackReader>> newPlaybacks_;  // under mutex_
  std::vector<std::unique_ptr<Recorder>> newRecordings_;       // under mutex_
  // The file thread's own.
  std::vector<std::unique_ptr<PlaybackReader>> playbacks_;
  std::vector<std::unique_ptr<Recorder>> recordings_;
  SpscQueue<RecordingEnded, 1024> events_;
  std::thread thread_;
};

}  // namespace confab::mixer
