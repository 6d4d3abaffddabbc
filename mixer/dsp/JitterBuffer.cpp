#include "mixer/dsp/JitterBuffer.hpp"

#include <algorithm>
#include <stdexcept>

namespace confab::dsp {

namespace {

// Shrinking needs this many frames of packets (2 s at 20 ms) all with time to spare.
constexpr uint32_t kShrinkWindow = 100;

// RTP timestamps wrap (RFC 3550 §5.1): differences are taken modulo 2^32, as signed.
int64_t timestampDiff(uint32_t a, uint32_t b) {
  return static_cast<int32_t>(a - b);
}

}  // namespace

JitterBuffer::JitterBuffer(const JitterBufferConfig& config)
    : config_(config),
      frame_(config.frameDuration),
      minDelay_(0),
      maxDelay_(0),
      guard_(static_cast<uint32_t>(uint64_t{config.shrinkGuardMs} * config.clockRate / 1000)),
      delay_(0) {
  if (config.clockRate == 0 || config.frameDuration == 0 || config.capacity < 2 ||
      config.maxPayload == 0 || config.maxGapDuration == 0) {
    throw std::invalid_argument("JitterBuffer: rate, frame, capacity, payload and gap must be set");
  }
  const auto msToFrames = [&](uint32_t ms) {
    const uint64_t units = static_cast<uint64_t>(ms) * config.clockRate / 1000;
    return static_cast<uint32_t>((units + frame_ - 1) / frame_);
  };
  // The delay stays inside the look-ahead window, with a frame to spare for the newest packet.
  const auto windowFrames = static_cast<uint32_t>(config.capacity - 1);
  const uint32_t maxFrames = std::clamp<uint32_t>(msToFrames(config.maxDelayMs), 1, windowFrames);
  const uint32_t minFrames = std::min(msToFrames(config.minDelayMs), maxFrames);
  maxDelay_ = maxFrames * frame_;
  minDelay_ = minFrames * frame_;
  delay_ = std::clamp(msToFrames(config.initialDelayMs), minFrames, maxFrames) * frame_;
  slots_.resize(config.capacity);
  bytes_.resize(config.capacity * config.maxPayload);
}

std::span<uint8_t> JitterBuffer::slotBytes(const Slot& slot) {
  const auto index = static_cast<std::size_t>(&slot - slots_.data());
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
  playout_ = timestamp - delay_;
  leadInUntil_ = timestamp;
  silence_ = false;
  playedAny_ = false;
  unexplained_ = 0;
  pendingGrow_ = 0;
  pendingShrink_ = false;
  minMargin_ = INT64_MAX;
  marginTime_ = 0;
}

void JitterBuffer::reset() {
  clearSlots();
  started_ = false;
}

void JitterBuffer::noteMargin(int64_t margin, uint32_t duration) {
  minMargin_ = std::min(minMargin_, margin);
  marginTime_ += duration;
  if (marginTime_ < static_cast<uint64_t>(kShrinkWindow) * frame_) {
    return;
  }
  // The margins, not the target, say how deep the buffer really is: a call whose first packet
  // came late (across a tick) plays every later one a tick after its minimum with the target at
  // the minimum already, and only the margins show the spare tick. A tick less leaves every
  // packet of the window the guard (or the minimum delay) to spare.
  if (minMargin_ >= int64_t{frame_} + std::max(guard_, minDelay_)) {
    pendingShrink_ = true;
  }
  minMargin_ = INT64_MAX;
  marginTime_ = 0;
}

bool JitterBuffer::put(uint16_t sequence,
                       uint32_t timestamp,
                       std::span<const uint8_t> payload,
                       uint32_t duration,
                       uint8_t flags,
                       uint8_t tag,
                       uint32_t untilNextGet) {
  if (payload.size() > config_.maxPayload) {
    ++stats_.tooLarge;
    return false;
  }
  if (duration == 0) {
    duration = frame_;
  }
  if (!started_) {
    start(timestamp);
  }
  int64_t margin = timestampDiff(timestamp, playout_);
  const auto window = static_cast<int64_t>(slots_.size()) * frame_;
  if (margin >= window || margin < -window) {
    // Not jitter: the sender's timestamps jumped (new source, long pause). Start over.
    ++stats_.resyncs;
    start(timestamp);
    margin = timestampDiff(timestamp, playout_);
  }
  if (margin < 0) {
    // Its audio was already played out (as Missing or Empty). Deepen the buffer by as many
    // frames as it was late, at once; the worst lateness since the last hold decides.
    ++stats_.late;
    const auto framesLate = static_cast<uint32_t>((-margin + frame_ - 1) / frame_);
    pendingGrow_ = std::max(pendingGrow_, framesLate);
    pendingShrink_ = false;
    minMargin_ = INT64_MAX;
    marginTime_ = 0;
    return false;
  }
  Slot* free = nullptr;
  for (auto& slot : slots_) {
    if (!slot.used) {
      free = free == nullptr ? &slot : free;
    } else if (slot.timestamp == timestamp) {
      ++stats_.duplicate;
      return false;
    }
  }
  if (free == nullptr) {
    ++stats_.overflow;
    return false;
  }
  std::copy(payload.begin(), payload.end(), slotBytes(*free).begin());
  *free = Slot{true, flags, tag, sequence, timestamp, duration, payload.size()};
  ++buffered_;
  ++stats_.received;
  // Its spare time: the ticks between now and its playout, plus the part of this tick still to
  // run. A packet a whole tick early or more says nothing new of the time within the tick.
  noteMargin(margin + std::min(untilNextGet, frame_ - 1), duration);
  return true;
}

JitterBuffer::Slot* JitterBuffer::earliest() {
  Slot* best = nullptr;
  int64_t bestDiff = INT64_MAX;
  for (auto& slot : slots_) {
    if (!slot.used) {
      continue;
    }
    const int64_t diff = timestampDiff(slot.timestamp, playout_);
    if (diff < 0) {
      // Its time passed while an earlier, longer packet played: it overlapped that one.
      ++stats_.late;
      release(slot);
    } else if (diff < bestDiff) {
      bestDiff = diff;
      best = &slot;
    }
  }
  return best;
}

void JitterBuffer::shrink() {
  // Give up a frame of delay: skip a frame of nothing, or discard the short packet due now (the
  // oldest, least useful audio). A longer packet due now is not cut; the next window retries.
  pendingShrink_ = false;
  uint32_t cut = frame_;
  Slot* due = earliest();
  if (due != nullptr) {
    const int64_t diff = timestampDiff(due->timestamp, playout_);
    if (diff < frame_) {
      if (2 * diff >= due->duration || diff + due->duration > frame_) {
        return;
      }
      cut = static_cast<uint32_t>(diff) + due->duration;
    }
  }
  if (due != nullptr && timestampDiff(due->timestamp, playout_) < cut) {
    ++stats_.shrinkDropped;
    release(*due);
  }
  // The target never goes under the minimum; the margins (noteMargin) vouched for the cut.
  delay_ = delay_ >= minDelay_ + cut ? delay_ - cut : minDelay_;
  playout_ += cut;
}

JitterBuffer::Frame JitterBuffer::get() {
  if (!started_) {
    ++stats_.empty;
    return Frame{Outcome::Empty, 0, frame_, 0, 0, {}, {}, 0};
  }
  if (pendingGrow_ > 0) {
    // Hold the playout point for one frame: every packet still to come gains a frame of margin.
    --pendingGrow_;
    if (delay_ + frame_ <= maxDelay_) {
      delay_ += frame_;
      ++stats_.inserted;
      return Frame{Outcome::Insert, playout_, frame_, 0, 0, {}, {}, 0};
    }
    pendingGrow_ = 0;
  }
  if (pendingShrink_) {
    shrink();
  }

  Frame frame{Outcome::Empty, playout_, frame_, 0, 0, {}, {}, 0};
  Slot* due = earliest();
  if (due == nullptr) {
    // Nothing buffered: the sender is silent (DTX, comfort noise) or stalled. Not a loss yet: a
    // loss is only known once something after it has arrived (see lostBefore).
    ++stats_.empty;
    if (playedAny_ && !silence_) {
      unexplained_ = std::min(unexplained_ + frame_, 1U << 30);
    }
    playout_ += frame_;
    return frame;
  }
  const int64_t gap = timestampDiff(due->timestamp, playout_);
  // RFC 3550 §5.1: the sequence number counts packets sent. Numbers skipped since the last packet
  // played were lost (or are late), including any that were due while the buffer stood empty.
  const auto skipped = static_cast<uint16_t>(due->sequence - lastSequence_ - 1);
  const bool announced = silence_ || (due->flags & kTalkspurtStart) != 0;
  uint32_t lostBefore = 0;
  if (playedAny_ && !announced && skipped > 0 && skipped < 0x8000) {
    lostBefore = static_cast<uint32_t>(
        std::min<uint64_t>(unexplained_, static_cast<uint64_t>(skipped) * due->duration));
    stats_.lostWhileEmpty += lostBefore > 0 ? 1 : 0;
  }
  unexplained_ = 0;
  if (2 * gap < due->duration) {
    // Due now (a sender's timestamps off our grid by less than half a packet count as due).
    frame = Frame{Outcome::Packet,
                  due->timestamp,
                  due->duration,
                  due->sequence,
                  due->tag,
                  slotBytes(*due).first(due->length),
                  {},
                  lostBefore};
    silence_ = (due->flags & kSilenceAfter) != 0;
    lastSequence_ = due->sequence;
    playedAny_ = true;
    playout_ = due->timestamp + due->duration;
    release(*due);  // the bytes stay put until a later put() reuses the slot
    ++stats_.played;
    return frame;
  }
  const bool leadIn = timestampDiff(leadInUntil_, playout_) > 0;
  // The next packet following the last played with no number skipped: the sender sent nothing
  // for the gap (Opus DTX).
  const bool nothingSent = playedAny_ && skipped == 0;
  frame.lostBefore = lostBefore;
  if (leadIn || nothingSent || announced) {
    // The initial delay, a gap the sender sent nothing for, or silence it announced (RFC 3389
    // comfort noise before the gap, RFC 3551 §4.1 marker after it): nothing was lost.
    frame.duration = static_cast<uint32_t>(std::min<int64_t>(gap, frame_));
    ++stats_.empty;
  } else {
    frame.outcome = Outcome::Missing;
    frame.duration = static_cast<uint32_t>(std::min<int64_t>(gap, config_.maxGapDuration));
    if (frame.duration == gap) {
      frame.next = slotBytes(*due).first(due->length);
    }
    ++stats_.missing;
  }
  playout_ += frame.duration;
  return frame;
}

uint32_t JitterBuffer::targetDelayMs() const {
  return static_cast<uint32_t>(static_cast<uint64_t>(delay_) * 1000 / config_.clockRate);
}

}  // namespace confab::dsp
