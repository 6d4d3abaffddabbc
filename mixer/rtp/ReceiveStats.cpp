// RFC 3550 Appendix A.1 (sequence validation), A.3 (loss) and A.8 (jitter).
#include "mixer/rtp/ReceiveStats.hpp"

#include <algorithm>

namespace confab::rtp {

namespace {
constexpr uint32_t kSeqMod = 1U << 16;
}

void ReceiveStats::reset(uint32_t ssrc) {
  const uint32_t slack = slack_;
  const uint32_t probation = firstProbation_;
  *this = ReceiveStats(ssrc);
  slack_ = slack;
  firstProbation_ = probation;
}

void ReceiveStats::initSequence(uint16_t seq) {
  baseSeq_ = seq;
  maxSeq_ = seq;
  badSeq_ = kSeqMod + 1;  // so seq == badSeq_ is false
  cycles_ = 0;
  received_ = 0;
  receivedPrior_ = 0;
  expectedPrior_ = 0;
  // A restart is a new timeline for A.8 as well.
  haveTransit_ = false;
  jitterQ4_ = 0;
}

void ReceiveStats::initTimeline(uint32_t rtpTimestamp, uint32_t transit) {
  newestTimestamp_ = rtpTimestamp;
  minTransit_ = transit;
  jumpSeq_ = kSeqMod + 1;
  haveTransit_ = false;  // no jitter sample across the break
}

bool ReceiveStats::plausible(uint32_t rtpTimestamp, uint32_t transit) const {
  const auto slack = static_cast<int32_t>(slack_);
  // Ahead: a smaller transit than ever seen means the timestamp ran ahead of real time. A long
  // silence (DTX, RFC 3389, an RFC 4733 event) advances the timestamp with real time, so its
  // transit stays; a sender clock faster than ours drifts by well under the slack.
  const bool notAhead = static_cast<int32_t>(transit - minTransit_) >= -slack;
  // Behind: reordered packets and RFC 4733 events (timestamped at their start) are a little
  // behind the newest packet, never seconds.
  const bool notBehind = static_cast<int32_t>(rtpTimestamp - newestTimestamp_) >= -slack;
  return notAhead && notBehind;
}

ReceiveStats::Verdict ReceiveStats::onPacket(uint16_t seq,
                                             uint32_t rtpTimestamp,
                                             uint32_t arrival) {
  const uint32_t transit = arrival - rtpTimestamp;
  if (!started_) {
    started_ = true;
    if (firstProbation_ == 0) {
      // Vetted already: valid from this packet on.
      initSequence(seq);
      initTimeline(rtpTimestamp, transit);
      minTransit_ = transit;
      ++received_;
      transit_ = transit;
      haveTransit_ = true;
      return Verdict::kAccept;
    }
    // A.1: a new source starts on probation with max_seq one behind it.
    initSequence(seq);
    maxSeq_ = static_cast<uint16_t>(seq - 1);
    probation_ = firstProbation_;
  }
  // 16-bit arithmetic throughout: A.1's `seq == max_seq + 1` in int misses the wrap at 65535.
  const auto delta = static_cast<uint16_t>(seq - maxSeq_);
  if (probation_ > 0) {
    if (delta == 1) {
      --probation_;
      maxSeq_ = seq;
      if (probation_ == 0) {
        initSequence(seq);
        initTimeline(rtpTimestamp, transit);
        ++received_;
        // Jitter starts with this packet's transit.
        transit_ = transit;
        haveTransit_ = true;
        return Verdict::kAccept;
      }
    } else {
      probation_ = kMinSequential - 1;
      maxSeq_ = seq;
    }
    return Verdict::kProbation;
  }
  if (delta < kMaxDropout || delta > kSeqMod - kMaxMisorder) {
    // In order with a permissible gap, or a duplicate or a packet reordered by less than
    // MAX_MISORDER (counted, not lost): A.1 takes it; the timeline must too.
    if (!plausible(rtpTimestamp, transit)) {
      const bool followsJump = seq == jumpSeq_ && rtpTimestamp - jumpTimestamp_ <= slack_;
      if (!followsJump) {
        jumpSeq_ = (uint32_t{seq} + 1) & (kSeqMod - 1);
        jumpTimestamp_ = rtpTimestamp;
        return Verdict::kTimestampJump;
      }
      initTimeline(rtpTimestamp, transit);  // the sender restarted its clock, same SSRC
    }
    if (delta < kMaxDropout) {
      if (seq < maxSeq_) {
        cycles_ += kSeqMod;
      }
      maxSeq_ = seq;
      newestTimestamp_ = rtpTimestamp;
    }
  } else {
    // A very large jump: believe it only when the next packet follows it in sequence and time
    // (the peer restarted without changing SSRC).
    if (seq != badSeq_ || rtpTimestamp - badTimestamp_ > slack_) {
      badSeq_ = (uint32_t{seq} + 1) & (kSeqMod - 1);
      badTimestamp_ = rtpTimestamp;
      return Verdict::kSequenceJump;
    }
    initSequence(seq);
    initTimeline(rtpTimestamp, transit);
  }
  ++received_;
  if (static_cast<int32_t>(transit - minTransit_) < 0) {
    minTransit_ = transit;
  }

  // A.8: transit time difference, then J += (|D| - J) / 16 in fixed point (jitter * 16).
  if (haveTransit_) {
    const auto d = static_cast<int32_t>(transit - transit_);
    const uint32_t absD = d < 0 ? 0U - static_cast<uint32_t>(d) : static_cast<uint32_t>(d);
    // jitterQ4_ + absD - ((jitterQ4_ + 8) >> 4), rearranged so it cannot go below zero.
    jitterQ4_ = jitterQ4_ - ((jitterQ4_ + 8) >> 4) + absD;
  }
  transit_ = transit;
  haveTransit_ = true;
  return Verdict::kAccept;
}

void ReceiveStats::onSenderReport(uint64_t ntpTimestamp, TimePoint arrival) {
  lastSenderReport_ = compactNtp(ntpTimestamp);
  lastSenderReportArrival_ = arrival;
}

uint32_t ReceiveStats::expected() const {
  if (!valid()) {
    return 0;
  }
  return extendedHighestSequence() - baseSeq_ + 1;
}

int64_t ReceiveStats::cumulativeLost() const {
  return int64_t{expected()} - int64_t{received_};
}

ReportBlock ReceiveStats::makeReportBlock(TimePoint now) {
  ReportBlock r;
  r.ssrc = ssrc_;
  // A.3: the interval's expected and received counts give the fraction lost.
  const uint32_t expectedNow = expected();
  const uint32_t expectedInterval = expectedNow - expectedPrior_;
  expectedPrior_ = expectedNow;
  const uint32_t receivedInterval = received_ - receivedPrior_;
  receivedPrior_ = received_;
  const auto lostInterval = int64_t{expectedInterval} - int64_t{receivedInterval};
  if (expectedInterval != 0 && lostInterval > 0) {
    // Everything lost would be 256; the 8-bit field saturates instead of wrapping to 0.
    const int64_t fraction = (lostInterval << 8) / expectedInterval;
    r.fractionLost = static_cast<uint8_t>(fraction > 255 ? 255 : fraction);
  }
  const int64_t lost = cumulativeLost();
  // RFC 3550 §6.4.1: the 24-bit signed field saturates.
  r.cumulativeLost = static_cast<int32_t>(std::clamp<int64_t>(lost, -0x800000, 0x7FFFFF));
  r.extendedHighestSequence = valid() ? extendedHighestSequence() : 0;
  r.jitter = jitter();
  if (lastSenderReportArrival_) {
    r.lastSenderReport = lastSenderReport_;
    r.delaySinceLastSenderReport = compactNtpFromDuration(now - *lastSenderReportArrival_);
  }
  return r;
}

}  // namespace confab::rtp
