#include "mixer/dsp/JitterBuffer.hpp"

#include <algorithm>
#include <stdexcept>

namespace confab::dsp {

namespace {

// Shrinking needs this many packets (2 s at 20 ms) all early by at least kShrinkHeadroom frames.
constexpr uint32_t kShrinkWindow = 100;
constexpr int64_t kShrinkHeadroom = 2;

// RTP timestamps wrap (RFC 3550 §5.1): differences are taken modulo 2^32, as signed.
int64_t timestampDiff(uint32_t a, uint32_t b) {
  return static_cast<int32_t>(a - b);
}

}  // namespace

JitterBuffer::JitterBuffer(const JitterBufferConfig& config)
    : config_(config), frame_(config.frameDuration), minFrames_(1), maxFrames_(1), delayFrames_(1) {
  if (config.clockRate == 0 || config.frameDuration == 0 || config.capacity < 2 ||
      config.maxPayload == 0) {
    throw std::invalid_argument("JitterBuffer: rate, frame, capacity and payload must be set");
  }
  const auto msToFrames = [&](uint32_t ms) {
    const uint64_t units = static_cast<uint64_t>(ms) * config.clockRate / 1000;
    return static_cast<uint32_t>(std::max<uint64_t>(1, (units + frame_ - 1) / frame_));
  };
  // The delay can never reach the ring's length: there must be a slot for the newest packet.
  const auto ringFrames = static_cast<uint32_t>(config.capacity - 1);
  maxFrames_ = std::min(msToFrames(config.maxDelayMs), ringFrames);
  minFrames_ = std::min(msToFrames(config.minDelayMs), maxFrames_);
  delayFrames_ = std::clamp(msToFrames(config.initialDelayMs), minFrames_, maxFrames_);
  slots_.resize(config.capacity);
  bytes_.resize(config.capacity * config.maxPayload);
}

std::span<uint8_t> JitterBuffer::slotBytes(std::size_t index) {
  return std::span<uint8_t>(bytes_).subspan(index * config_.maxPayload, config_.maxPayload);
}

void JitterBuffer::release(Slot& slot) {
  if (slot.used) {
    slot.used = false;
    --buffered_;
  }
}

void JitterBuffer::clearSlots() {
  for (auto& slot : slots_) {
    slot.used = false;
  }
  buffered_ = 0;
}

void JitterBuffer::start(uint32_t timestamp) {
  clearSlots();
  started_ = true;
  playout_ = timestamp - delayFrames_ * frame_;
  leadInUntil_ = timestamp;
  playIndex_ = 0;
  pendingGrow_ = 0;
  pendingShrink_ = false;
  minMargin_ = INT64_MAX;
  marginCount_ = 0;
}

void JitterBuffer::reset() {
  clearSlots();
  started_ = false;
}

void JitterBuffer::noteMargin(int64_t margin) {
  minMargin_ = std::min(minMargin_, margin);
  if (++marginCount_ < kShrinkWindow) {
    return;
  }
  if (minMargin_ >= kShrinkHeadroom * frame_ && delayFrames_ > minFrames_) {
    pendingShrink_ = true;
  }
  minMargin_ = INT64_MAX;
  marginCount_ = 0;
}

bool JitterBuffer::put(uint16_t sequence, uint32_t timestamp, std::span<const uint8_t> payload) {
  if (payload.size() > config_.maxPayload) {
    ++stats_.tooLarge;
    return false;
  }
  if (!started_) {
    start(timestamp);
  }
  int64_t margin = timestampDiff(timestamp, playout_);
  const auto ring = static_cast<int64_t>(slots_.size()) * frame_;
  if (margin >= ring || margin < -ring) {
    // Not jitter: the sender's timestamps jumped (new source, long pause). Start over.
    ++stats_.resyncs;
    start(timestamp);
    margin = timestampDiff(timestamp, playout_);
  }
  if (margin < 0) {
    // Its frame was already played out (as Missing or Empty). Deepen the buffer by as many
    // frames as it was late, at once; the worst lateness since the last hold decides.
    ++stats_.late;
    const auto framesLate = static_cast<uint32_t>((-margin + frame_ - 1) / frame_);
    pendingGrow_ = std::max(pendingGrow_, framesLate);
    pendingShrink_ = false;
    minMargin_ = INT64_MAX;
    marginCount_ = 0;
    return false;
  }
  const auto offset = static_cast<std::size_t>(margin / frame_);
  const std::size_t index = (playIndex_ + offset) % slots_.size();
  Slot& slot = slots_[index];
  if (slot.used) {
    if (slot.timestamp == timestamp) {
      ++stats_.duplicate;
      return false;
    }
    release(slot);  // an unaligned timestamp sharing the slot: the newer one wins
  }
  std::copy(payload.begin(), payload.end(), slotBytes(index).begin());
  slot = Slot{true, sequence, timestamp, payload.size()};
  ++buffered_;
  ++stats_.received;
  noteMargin(margin);
  return true;
}

JitterBuffer::Frame JitterBuffer::get() {
  if (!started_) {
    ++stats_.empty;
    return Frame{Outcome::Empty, 0, 0, {}};
  }
  if (pendingGrow_ > 0) {
    // Hold the playout point for one tick: every packet still to come gains a frame of margin.
    --pendingGrow_;
    if (delayFrames_ < maxFrames_) {
      ++delayFrames_;
      ++stats_.inserted;
      return Frame{Outcome::Insert, playout_, 0, {}};
    }
    pendingGrow_ = 0;
  }
  if (pendingShrink_) {
    // Give up one frame of delay: discard the frame due now (the oldest, least useful audio).
    pendingShrink_ = false;
    --delayFrames_;
    Slot& skipped = slots_[playIndex_];
    if (skipped.used) {
      ++stats_.shrinkDropped;
      release(skipped);
    }
    playout_ += frame_;
    playIndex_ = (playIndex_ + 1) % slots_.size();
  }

  Frame frame{Outcome::Empty, playout_, 0, {}};
  Slot& slot = slots_[playIndex_];
  if (slot.used && timestampDiff(slot.timestamp, playout_) >= 0 &&
      timestampDiff(slot.timestamp, playout_) < frame_) {
    frame = Frame{Outcome::Packet, slot.timestamp, slot.sequence,
                  slotBytes(playIndex_).first(slot.length)};
    release(slot);  // the bytes stay put until a later put() reuses the slot
    ++stats_.played;
  } else if (timestampDiff(leadInUntil_, playout_) > 0 || buffered_ == 0) {
    ++stats_.empty;
  } else {
    frame.outcome = Outcome::Missing;
    ++stats_.missing;
  }
  playout_ += frame_;
  playIndex_ = (playIndex_ + 1) % slots_.size();
  return frame;
}

uint32_t JitterBuffer::targetDelayMs() const {
  return static_cast<uint32_t>(static_cast<uint64_t>(delayFrames_) * frame_ * 1000 /
                               config_.clockRate);
}

}  // namespace confab::dsp
