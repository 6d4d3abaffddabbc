// Reception statistics for one RTP source (RFC 3550 Appendix A.1, A.3, A.8): sequence
// validation with probation, loss for the report interval, interarrival jitter, and the report
// block that goes back to the sender. Fixed size, no allocation; one per remote SSRC.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "mixer/rtp/Rtcp.hpp"

namespace confab::rtp {

class ReceiveStats {
 public:
  // RFC 3550 A.1 constants.
  static constexpr uint32_t kMinSequential = 2;
  static constexpr uint16_t kMaxDropout = 3000;
  static constexpr uint16_t kMaxMisorder = 100;

  using TimePoint = std::chrono::steady_clock::time_point;

  explicit ReceiveStats(uint32_t ssrc = 0) : ssrc_(ssrc) {}

  // Forget everything, e.g. when the peer's SSRC changes (a new source starts in probation).
  void reset(uint32_t ssrc);

  // One received packet. `arrival` is the arrival time converted to the stream's RTP clock
  // (A.8 needs both in the same units; the caller scales its monotonic clock by the rate).
  // Returns false while the source is on probation or after a jump it refuses: such packets
  // should not be played out (A.1).
  bool onPacket(uint16_t sequenceNumber, uint32_t rtpTimestamp, uint32_t arrival);

  // A sender report from this source arrived (for LSR/DLSR, RFC 3550 §6.4.1).
  void onSenderReport(uint64_t ntpTimestamp, TimePoint arrival);

  // The report block for the interval since the previous call; advances the interval (A.3).
  ReportBlock makeReportBlock(TimePoint now);

  [[nodiscard]] uint32_t ssrc() const { return ssrc_; }
  // True once probation is over (MIN_SEQUENTIAL packets in sequence).
  [[nodiscard]] bool valid() const { return started_ && probation_ == 0; }
  [[nodiscard]] uint32_t extendedHighestSequence() const { return cycles_ + maxSeq_; }
  [[nodiscard]] uint32_t expected() const;
  [[nodiscard]] uint32_t received() const { return received_; }
  // expected - received; negative with duplicates (RFC 3550 §6.4.1).
  [[nodiscard]] int64_t cumulativeLost() const;
  // Interarrival jitter in timestamp units (A.8's J, the value reported).
  [[nodiscard]] uint32_t jitter() const { return jitterQ4_ >> 4; }

 private:
  void initSequence(uint16_t seq);

  uint32_t ssrc_ = 0;
  bool started_ = false;
  uint16_t maxSeq_ = 0;
  uint32_t cycles_ = 0;  // shifted count of wraps, as A.1 keeps it
  uint32_t baseSeq_ = 0;
  uint32_t badSeq_ = 0;
  uint32_t probation_ = 0;
  uint32_t received_ = 0;
  uint32_t expectedPrior_ = 0;
  uint32_t receivedPrior_ = 0;
  bool haveTransit_ = false;
  uint32_t transit_ = 0;
  uint32_t jitterQ4_ = 0;  // jitter * 16, the integer form of A.8
  uint32_t lastSenderReport_ = 0;
  std::optional<TimePoint> lastSenderReportArrival_;
};

}  // namespace confab::rtp
