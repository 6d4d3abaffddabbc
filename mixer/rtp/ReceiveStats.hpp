// Reception statistics for one RTP source (RFC 3550 Appendix A.1, A.3, A.8): sequence
// validation with probation, loss for the report interval, interarrival jitter, and the report
// block that goes back to the sender. Fixed size, no allocation; one per remote SSRC.
//
// It is also the gate that keeps stray packets out of the mix. UDP source addresses can be
// forged, so a packet with the talker's SSRC, from the talker's address, may still not be the
// talker's: A.1 refuses sequence numbers that jump, and a timestamp check refuses what A.1 lets
// through by chance. A sender's RTP clock cannot run ahead of real time, so a timestamp further
// ahead of the fastest arrival seen than a couple of seconds, or far behind the newest packet, is
// refused; a sender that really restarted its timeline is believed when the next packet follows
// it in sequence and time (as A.1 does for sequence numbers). A random sequence number and
// timestamp get through with a chance of about 1 in 10^6, and none of them resets the stream.
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

  // How far (in seconds of the stream's clock) a timestamp may run ahead of the fastest arrival
  // seen, or fall behind the newest packet's.
  static constexpr uint32_t kTimestampSlackSeconds = 2;

  using TimePoint = std::chrono::steady_clock::time_point;

  enum class Verdict : uint8_t {
    kAccept,         // play it
    kProbation,      // a new source not yet confirmed (A.1): not played, not an error
    kSequenceJump,   // refused by A.1: a jump not (yet) followed by the next packet
    kTimestampJump,  // refused: a timestamp the stream's timeline cannot have
  };

  // 'probation' false: the source was already vetted (the media endpoint latched to it strictly),
  // so its first packet starts the statistics and is played; A.1's probation is for sources
  // nobody vouched for.
  explicit ReceiveStats(uint32_t ssrc = 0, uint32_t clockRate = 8000, bool probation = true)
      : ssrc_(ssrc),
        slack_(clockRate * kTimestampSlackSeconds),
        firstProbation_(probation ? kMinSequential : 0) {}

  // Forget everything, e.g. when the peer's SSRC changes (a new source starts in probation).
  void reset(uint32_t ssrc);

  // One received packet. `arrival` is the arrival time converted to the stream's RTP clock
  // (A.8 needs both in the same units; the caller scales its monotonic clock by the rate).
  // Anything but kAccept: the packet is not to be played out (A.1), and changed nothing here.
  Verdict onPacket(uint16_t sequenceNumber, uint32_t rtpTimestamp, uint32_t arrival);

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
  // The timeline the timestamp check measures against starts over at this packet.
  void initTimeline(uint32_t rtpTimestamp, uint32_t transit);
  [[nodiscard]] bool plausible(uint32_t rtpTimestamp, uint32_t transit) const;

  uint32_t ssrc_ = 0;
  uint32_t slack_ = 0;  // kTimestampSlackSeconds in timestamp units
  uint32_t firstProbation_ = kMinSequential;
  bool started_ = false;
  uint16_t maxSeq_ = 0;
  uint32_t cycles_ = 0;  // shifted count of wraps, as A.1 keeps it
  uint32_t baseSeq_ = 0;
  uint32_t badSeq_ = 0;
  uint32_t badTimestamp_ = 0;  // of the packet that set badSeq_
  // The timeline: the newest packet's timestamp and the smallest transit (arrival - timestamp)
  // seen, i.e. how far ahead the sender's clock has ever been. Wrapping arithmetic throughout.
  uint32_t newestTimestamp_ = 0;
  uint32_t minTransit_ = 0;
  // A timestamp jump refused once, believed if the packet after it follows (like badSeq_).
  uint32_t jumpSeq_ = 0x10001;  // none (a sequence number is below 0x10000)
  uint32_t jumpTimestamp_ = 0;
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
