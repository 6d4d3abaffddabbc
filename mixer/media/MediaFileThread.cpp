#include "mixer/media/MediaFileThread.hpp"

#include <unistd.h>

#include <algorithm>

namespace confab::mixer {

MediaFileThread::MediaFileThread(int wake) : wake_(wake) {
  thread_ = std::thread([this] { run(); });
}

MediaFileThread::~MediaFileThread() {
  stop();
}

void MediaFileThread::play(std::unique_ptr<PlaybackReader> reader) {
  {
    std::lock_guard lock(mutex_);
    newPlaybacks_.push_back(std::move(reader));
  }
  changed_.notify_one();  // prefill now rather than in up to one period
}

void MediaFileThread::record(std::unique_ptr<Recorder> recorder) {
  std::lock_guard lock(mutex_);
  newRecordings_.push_back(std::move(recorder));
}

void MediaFileThread::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_one();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void MediaFileThread::run() {
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, kPeriod, [this] { return stopping_ || !newPlaybacks_.empty(); });
      stopping = stopping_;
      for (auto& p : newPlaybacks_) {
        playbacks_.push_back(std::move(p));
      }
      newPlaybacks_.clear();
      for (auto& r : newRecordings_) {
        recordings_.push_back(std::move(r));
      }
      newRecordings_.clear();
    }
    if (stopping) {
      // Playbacks simply stop; recordings get what is left and a proper end.
      playbacks_.clear();
      for (auto& r : recordings_) {
        report(*r, r->finishNow());
      }
      recordings_.clear();
      return;
    }
    serviceOnce();
  }
}

void MediaFileThread::serviceOnce() {
  std::erase_if(playbacks_, [](const auto& p) { return !p->pump(); });
  std::erase_if(recordings_, [this](const auto& r) {
    const auto end = r->drain();
    if (end) {
      report(*r, *end);
    }
    return end.has_value();
  });
}

void MediaFileThread::report(const Recorder& recorder, MediaFileEnd how) {
  RecordingEnded event{recorder.mix(), recorder.id(), how};
  if (events_.push(event)) {
    const uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_, &one, sizeof(one));
  }
}

}  // namespace confab::mixer
