// RTCP (RFC 3550 §6): compound packet validation and iteration, read-only views of SR, RR,
// SDES and BYE, builders writing into caller-provided spans, and the NTP/RTT arithmetic of
// §6.4.1. Everything works in place; nothing allocates.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

namespace confab::rtp {

enum class RtcpType : uint8_t {
  kSenderReport = 200,
  kReceiverReport = 201,
  kSourceDescription = 202,
  kBye = 203,
  kApp = 204,
  kTransportFeedback = 205,  // RFC 4585 §6.1 RTPFB
  kPayloadFeedback = 206,    // RFC 4585 §6.1 PSFB
  kExtendedReport = 207,     // RFC 3611 XR
};

enum class RtcpError : uint8_t {
  kOk,
  kTooShort,        // less than one 4-octet header, or a header whose length runs past the end
  kBadVersion,      // RFC 3550 A.2: every packet must be version 2
  kFirstNotReport,  // RFC 3550 §6.1: a compound starts with SR or RR
  kPaddingNotLast,  // RFC 3550 A.2: only the last packet may be padded
  kBadPadding,      // pad count zero or larger than the packet body
  kBadReport,       // SR/RR report count runs past the packet
  kBadSdes,         // chunks or items run past the packet, or a chunk lacks its null item
  kBadBye,          // SSRC count or reason runs past the packet
};

inline constexpr size_t kRtcpHeaderSize = 4;
inline constexpr size_t kReportBlockSize = 24;
inline constexpr size_t kMaxReportBlocks = 31;  // the 5-bit count field
inline constexpr uint8_t kSdesEnd = 0;
inline constexpr uint8_t kSdesCname = 1;

// One RTCP packet of a compound: its type, the 5-bit count/format field, and its octets from
// the common header up to (not including) any padding.
struct RtcpPacketView {
  uint8_t type = 0;
  uint8_t count = 0;
  std::span<const uint8_t> bytes;
};

class RtcpPacketIterator {
 public:
  using value_type = RtcpPacketView;
  using difference_type = std::ptrdiff_t;

  RtcpPacketIterator() = default;
  explicit RtcpPacketIterator(std::span<const uint8_t> rest);

  const RtcpPacketView& operator*() const { return current_; }
  const RtcpPacketView* operator->() const { return &current_; }
  RtcpPacketIterator& operator++() {
    advance();
    return *this;
  }
  RtcpPacketIterator operator++(int) {
    auto copy = *this;
    advance();
    return copy;
  }
  friend bool operator==(const RtcpPacketIterator& it, std::default_sentinel_t) { return it.done_; }

 private:
  void advance();

  std::span<const uint8_t> rest_;
  RtcpPacketView current_;
  bool done_ = true;
};

// A validated compound RTCP packet. Iterating yields every packet, SR/RR/SDES/BYE as well as
// the APP, RTPFB, PSFB and XR packets we recognise and leave alone.
class RtcpCompound {
 public:
  // RFC 3550 Appendix A.2, plus the inner structure of SR, RR, SDES and BYE so that their
  // views can trust their lengths.
  static RtcpError validate(std::span<const uint8_t> bytes);
  static std::optional<RtcpCompound> parse(std::span<const uint8_t> bytes);

  [[nodiscard]] RtcpPacketIterator begin() const { return RtcpPacketIterator(bytes_); }
  [[nodiscard]] std::default_sentinel_t end() const { return {}; }
  [[nodiscard]] std::span<const uint8_t> bytes() const { return bytes_; }

 private:
  explicit RtcpCompound(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  std::span<const uint8_t> bytes_;
};

// RFC 3550 §6.4.1 report block, decoded.
struct ReportBlock {
  uint32_t ssrc = 0;
  uint8_t fractionLost = 0;    // fixed point, lost/expected * 256
  int32_t cumulativeLost = 0;  // signed 24-bit on the wire; duplicates can make it negative
  uint32_t extendedHighestSequence = 0;
  uint32_t jitter = 0;                      // timestamp units
  uint32_t lastSenderReport = 0;            // middle 32 bits of the SR's NTP timestamp
  uint32_t delaySinceLastSenderReport = 0;  // 1/65536 s
  friend bool operator==(const ReportBlock&, const ReportBlock&) = default;
};

// RFC 3550 §6.4.1 sender info.
struct SenderInfo {
  uint64_t ntpTimestamp = 0;
  uint32_t rtpTimestamp = 0;
  uint32_t packetCount = 0;
  uint32_t octetCount = 0;
  friend bool operator==(const SenderInfo&, const SenderInfo&) = default;
};

class SenderReport {
 public:
  static std::optional<SenderReport> parse(const RtcpPacketView& packet);
  [[nodiscard]] uint32_t ssrc() const;
  [[nodiscard]] SenderInfo senderInfo() const;
  [[nodiscard]] size_t reportCount() const { return count_; }
  [[nodiscard]] ReportBlock reportBlock(size_t i) const;  // i < reportCount()

 private:
  SenderReport(std::span<const uint8_t> bytes, size_t count) : bytes_(bytes), count_(count) {}
  std::span<const uint8_t> bytes_;
  size_t count_;
};

class ReceiverReport {
 public:
  static std::optional<ReceiverReport> parse(const RtcpPacketView& packet);
  [[nodiscard]] uint32_t ssrc() const;
  [[nodiscard]] size_t reportCount() const { return count_; }
  [[nodiscard]] ReportBlock reportBlock(size_t i) const;  // i < reportCount()

 private:
  ReceiverReport(std::span<const uint8_t> bytes, size_t count) : bytes_(bytes), count_(count) {}
  std::span<const uint8_t> bytes_;
  size_t count_;
};

struct SdesItem {
  uint8_t type = 0;
  std::string_view text;
};

class SdesItemIterator {
 public:
  using value_type = SdesItem;
  using difference_type = std::ptrdiff_t;

  SdesItemIterator() = default;
  explicit SdesItemIterator(std::span<const uint8_t> rest);
  const SdesItem& operator*() const { return current_; }
  const SdesItem* operator->() const { return &current_; }
  SdesItemIterator& operator++() {
    advance();
    return *this;
  }
  SdesItemIterator operator++(int) {
    auto copy = *this;
    advance();
    return copy;
  }
  friend bool operator==(const SdesItemIterator& it, std::default_sentinel_t) { return it.done_; }

 private:
  void advance();
  std::span<const uint8_t> rest_;
  SdesItem current_;
  bool done_ = true;
};

struct SdesChunk {
  uint32_t ssrc = 0;
  std::span<const uint8_t> itemBytes;  // from the first item to the end of the chunk
  struct Items {
    std::span<const uint8_t> bytes;
    [[nodiscard]] SdesItemIterator begin() const { return SdesItemIterator(bytes); }
    [[nodiscard]] std::default_sentinel_t end() const { return {}; }
  };
  [[nodiscard]] Items items() const { return {itemBytes}; }
};

class SdesChunkIterator {
 public:
  using value_type = SdesChunk;
  using difference_type = std::ptrdiff_t;

  SdesChunkIterator() = default;
  SdesChunkIterator(std::span<const uint8_t> rest, size_t count);
  const SdesChunk& operator*() const { return current_; }
  const SdesChunk* operator->() const { return &current_; }
  SdesChunkIterator& operator++() {
    advance();
    return *this;
  }
  SdesChunkIterator operator++(int) {
    auto copy = *this;
    advance();
    return copy;
  }
  friend bool operator==(const SdesChunkIterator& it, std::default_sentinel_t) { return it.done_; }

 private:
  void advance();
  std::span<const uint8_t> rest_;
  size_t remaining_ = 0;
  SdesChunk current_;
  bool done_ = true;
};

class SourceDescription {
 public:
  static std::optional<SourceDescription> parse(const RtcpPacketView& packet);
  [[nodiscard]] size_t chunkCount() const { return count_; }
  [[nodiscard]] SdesChunkIterator begin() const {
    return SdesChunkIterator(bytes_.subspan(kRtcpHeaderSize), count_);
  }
  [[nodiscard]] std::default_sentinel_t end() const { return {}; }
  // RFC 3550 §6.5.1: the CNAME item of the chunk for `ssrc`.
  [[nodiscard]] std::optional<std::string_view> cname(uint32_t ssrc) const;

 private:
  SourceDescription(std::span<const uint8_t> bytes, size_t count) : bytes_(bytes), count_(count) {}
  std::span<const uint8_t> bytes_;
  size_t count_;
};

class Bye {
 public:
  static std::optional<Bye> parse(const RtcpPacketView& packet);
  [[nodiscard]] size_t ssrcCount() const { return count_; }
  [[nodiscard]] uint32_t ssrc(size_t i) const;  // i < ssrcCount()
  // RFC 3550 §6.6: optional "reason for leaving".
  [[nodiscard]] std::optional<std::string_view> reason() const;

 private:
  Bye(std::span<const uint8_t> bytes, size_t count) : bytes_(bytes), count_(count) {}
  std::span<const uint8_t> bytes_;
  size_t count_;
};

// Builders: each writes one RTCP packet (or a compound) at the start of `out` and returns its
// size, or 0 when it does not fit or a count/length is beyond what the format can carry.
size_t writeSenderReport(std::span<uint8_t> out,
                         uint32_t ssrc,
                         const SenderInfo& info,
                         std::span<const ReportBlock> blocks);
size_t writeReceiverReport(std::span<uint8_t> out,
                           uint32_t ssrc,
                           std::span<const ReportBlock> blocks);
// One chunk with a CNAME item (at most 255 octets).
size_t writeSdesCname(std::span<uint8_t> out, uint32_t ssrc, std::string_view cname);
// RFC 3550 §6.6; an empty reason is left out.
size_t writeBye(std::span<uint8_t> out,
                std::span<const uint32_t> ssrcs,
                std::string_view reason = {});
// RFC 3550 §6.1: the compound we send every interval, SR (or RR) then SDES CNAME. A BYE can
// be appended with writeBye(out.subspan(size), ...).
size_t writeSenderReportCompound(std::span<uint8_t> out,
                                 uint32_t ssrc,
                                 const SenderInfo& info,
                                 std::span<const ReportBlock> blocks,
                                 std::string_view cname);
size_t writeReceiverReportCompound(std::span<uint8_t> out,
                                   uint32_t ssrc,
                                   std::span<const ReportBlock> blocks,
                                   std::string_view cname);

// RFC 3550 §4: NTP timestamps are seconds since 1900 in 32.32 fixed point.
uint64_t ntpFromSystemTime(std::chrono::system_clock::time_point t);
std::chrono::system_clock::time_point systemTimeFromNtp(uint64_t ntp);
// RFC 3550 §6.4.1: LSR is the middle 32 bits of the NTP timestamp (16.16 fixed point).
inline uint32_t compactNtp(uint64_t ntp) {
  return static_cast<uint32_t>(ntp >> 16);
}
uint32_t compactNtpFromDuration(std::chrono::nanoseconds d);
std::chrono::microseconds durationFromCompactNtp(uint32_t compact);
// RFC 3550 §6.4.1: RTT = A - LSR - DLSR, all in 1/65536 s, A being the arrival time of the
// report block in the same compact form. Nothing when LSR is 0 (no SR received yet); clamped to
// 0 when clock skew makes it negative.
std::optional<uint32_t> roundTripTime(uint32_t arrivalCompact,
                                      uint32_t lastSenderReport,
                                      uint32_t delaySinceLastSenderReport);

}  // namespace confab::rtp
