#include "mixer/media/Recording.hpp"

#include <algorithm>

namespace confab::mixer {

namespace {

constexpr std::array<int16_t, kMaxFrameSamples> kSilence{};

}  // namespace

RecordingFeed::~RecordingFeed() {
  channel_->closed.store(true, std::memory_order_release);
}

void RecordingFeed::onMix(std::span<const int16_t> mix, int rate) {
  if (channel_->failed.load(std::memory_order_relaxed) || mix.size() > kMaxFrameSamples) {
    return;
  }
  PcmFrame frame;
  frame.rate = rate;
  frame.samples = mix.size();
  std::copy(mix.begin(), mix.end(), frame.pcm.begin());
  if (!channel_->ring.push(frame)) {
    channel_->dropped.fetch_add(1, std::memory_order_relaxed);
    ++drops_;
  }
}

Recorder::Recorder(MixId mix,
                   uint64_t id,
                   RecordingFormat format,
                   FilePtr file,
                   std::shared_ptr<RecordingChannel> channel)
    : mix_(mix), id_(id), format_(format), file_(std::move(file)), channel_(std::move(channel)) {}

std::optional<MediaFileEnd> Recorder::drain() {
  if (end_) {
    return end_;
  }
  // 'closed' before draining: once it is set, every frame the feed pushed is in the ring.
  const bool closed = channel_->closed.load(std::memory_order_acquire);
  if (!writeAvailable()) {
    return fail();
  }
  if (sinceFlush_ >= kFlushFrames) {
    sinceFlush_ = 0;
    if (!writer_->flush()) {
      return fail();
    }
  }
  if (closed) {
    return complete();
  }
  return std::nullopt;
}

MediaFileEnd Recorder::finishNow() {
  if (end_) {
    return *end_;
  }
  return writeAvailable() ? complete() : fail();
}

bool Recorder::writeAvailable() {
  while (auto frame = channel_->ring.pop()) {
    if (!write(frame->view(), frame->rate)) {
      return false;
    }
  }
  // Dropped frames were newer than all those in the ring: silence in their place keeps the file
  // as long as the meeting.
  for (uint64_t n = channel_->dropped.exchange(0, std::memory_order_relaxed); n > 0; --n) {
    if (!write(std::span<const int16_t>(kSilence).first(static_cast<std::size_t>(lastRate_ / 50)),
               lastRate_)) {
      return false;
    }
  }
  return true;
}

bool Recorder::write(std::span<const int16_t> pcm, int rate) {
  lastRate_ = rate;
  if (!writer_) {
    writer_ = openWriter(format_, std::move(file_), rate);
    if (!writer_) {
      return false;
    }
  }
  std::span<const int16_t> out = pcm;
  if (rate != writer_->rate()) {
    if (!resampler_ || resampler_->inRate() != rate) {
      resampler_.emplace(rate, writer_->rate());
    }
    resampled_.resize(pcm.size() * static_cast<std::size_t>(writer_->rate()) /
                      static_cast<std::size_t>(rate));
    resampler_->process(pcm, resampled_);
    out = resampled_;
  }
  ++sinceFlush_;
  ++framesWritten_;
  return writer_->write(out);
}

MediaFileEnd Recorder::complete() {
  if (!writer_ && file_) {
    writer_ = openWriter(format_, std::move(file_), lastRate_);  // nothing came: an empty file
  }
  const bool ok = writer_ && writer_->finish();
  writer_.reset();
  end_ = ok ? MediaFileEnd::kStopped : MediaFileEnd::kError;
  return *end_;
}

MediaFileEnd Recorder::fail() {
  channel_->failed.store(true, std::memory_order_relaxed);
  writer_.reset();  // keeps what was written, best effort
  end_ = MediaFileEnd::kError;
  return *end_;
}

}  // namespace confab::mixer
