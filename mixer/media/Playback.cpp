#include "mixer/media/Playback.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace confab::mixer {

namespace {

// The Resampler converts whole chunks only (out = in * 48000 / rate exactly): the smallest such
// chunk, repeated to about 20 ms.
std::size_t chunkSamples(int rate) {
  const auto step = static_cast<std::size_t>(rate / std::gcd(rate, PlaybackReader::kRate));
  return step * std::max<std::size_t>(1, static_cast<std::size_t>(rate / 50) / step);
}

}  // namespace

PlaybackReader::PlaybackReader(std::unique_ptr<PcmFileReader> file,
                               std::shared_ptr<PlaybackChannel> channel)
    : file_(std::move(file)), channel_(std::move(channel)) {
  const int rate = file_->rate();
  in_.resize(chunkSamples(rate));
  if (rate != kRate) {
    resampler_.emplace(rate, kRate);
    out_.resize(in_.size() * static_cast<std::size_t>(kRate) / static_cast<std::size_t>(rate));
  }
}

bool PlaybackReader::pump() {
  if (channel_->cancelled.load(std::memory_order_acquire)) {
    return false;
  }
  for (;;) {
    if (!pending_ && !nextFrame()) {
      break;
    }
    if (!channel_->ring.push(*pending_)) {
      return true;  // full: more next time
    }
    pending_.reset();
    if (++pushed_ == kPrefillFrames) {
      channel_->ready.store(true, std::memory_order_release);
    }
  }
  if (broken_) {
    channel_->failed.store(true, std::memory_order_release);
  }
  channel_->ready.store(true, std::memory_order_release);
  channel_->ended.store(true, std::memory_order_release);
  return false;
}

bool PlaybackReader::nextFrame() {
  while (fifo_.size() - head_ < kFrameSamples && !atEnd_) {
    refill();
  }
  const std::size_t available = std::min(fifo_.size() - head_, kFrameSamples);
  if (available == 0) {
    return false;
  }
  PcmFrame& frame = pending_.emplace();
  frame.rate = kRate;
  frame.samples = kFrameSamples;
  std::copy_n(fifo_.begin() + static_cast<std::ptrdiff_t>(head_), available, frame.pcm.begin());
  head_ += available;  // a short last frame is padded with the silence emplace() left
  if (head_ == fifo_.size()) {
    fifo_.clear();
    head_ = 0;
  }
  return true;
}

void PlaybackReader::refill() {
  std::fill(in_.begin(), in_.end(), int16_t{0});
  const auto got = file_->read(in_);
  if (!got) {
    broken_ = true;
    atEnd_ = true;
    return;
  }
  if (*got < in_.size()) {
    atEnd_ = true;
    if (*got == 0) {
      return;
    }
  }
  if (!resampler_) {
    fifo_.insert(fifo_.end(), in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(*got));
    return;
  }
  // A short last chunk goes through whole, its tail silent: at most one chunk (~20 ms) of
  // silence after the end.
  resampler_->process(in_, out_);
  fifo_.insert(fifo_.end(), out_.begin(), out_.end());
}

PlaybackFeed::PlaybackFeed(std::shared_ptr<PlaybackChannel> channel)
    : channel_(std::move(channel)),
      toNarrowband_(PlaybackReader::kRate, 8000),
      toWideband_(PlaybackReader::kRate, 16000) {}

PlaybackFeed::~PlaybackFeed() {
  channel_->cancelled.store(true, std::memory_order_release);
}

bool PlaybackFeed::fill(std::span<int16_t> out, int rate) {
  if (finished_ || !channel_->ready.load(std::memory_order_acquire)) {
    return false;
  }
  // 'ended' before the pop: when it is set, every frame is already in the ring.
  const bool ended = channel_->ended.load(std::memory_order_acquire);
  auto frame = channel_->ring.pop();
  if (!frame) {
    if (ended) {
      finished_ = true;
    } else {
      ++underruns_;
    }
    return false;
  }
  if (rate == frame->rate && out.size() == frame->samples) {
    std::copy_n(frame->pcm.begin(), frame->samples, out.begin());
    return true;
  }
  if (rate == toNarrowband_.outRate() && frame->rate == toNarrowband_.inRate()) {
    return toNarrowband_.process(frame->view(), out) == out.size();
  }
  if (rate == toWideband_.outRate() && frame->rate == toWideband_.inRate()) {
    return toWideband_.process(frame->view(), out) == out.size();
  }
  return false;  // no room mixes at another rate
}

}  // namespace confab::mixer
