// RTCP compound validation, packet views, builders and NTP arithmetic.
#include "mixer/rtp/Rtcp.hpp"

#include <algorithm>

#include "mixer/rtp/ByteOrder.hpp"

namespace confab::rtp {

namespace {

constexpr size_t kSenderInfoSize = 20;
constexpr size_t kSrFixedSize = kRtcpHeaderSize + 4 + kSenderInfoSize;  // 28
constexpr size_t kRrFixedSize = kRtcpHeaderSize + 4;                    // 8
constexpr uint64_t kNtpUnixOffsetSeconds = 2'208'988'800ULL;            // 1900 -> 1970
constexpr uint64_t kNanosPerSecond = 1'000'000'000ULL;

size_t roundUp4(size_t n) {
  return (n + 3) & ~size_t{3};
}

bool reportFits(const RtcpPacketView& p, size_t fixed) {
  return p.bytes.size() >= fixed + kReportBlockSize * p.count;
}

// Walks one SDES chunk's items from `at` (just past its SSRC); returns the offset just after
// the chunk's null item and word padding, or nothing when the chunk runs past `end`.
std::optional<size_t> sdesChunkEnd(std::span<const uint8_t> b, size_t at) {
  while (at < b.size()) {
    const uint8_t type = b[at];
    if (type == kSdesEnd) {
      // RFC 3550 §6.5: null octets pad the chunk to the next 32-bit boundary. A padded last
      // packet can end inside that run, so clamp rather than refuse.
      return std::min(roundUp4(at + 1), b.size());
    }
    if (b.size() - at < 2) {
      return std::nullopt;
    }
    const size_t length = b[at + 1];
    if (b.size() - at - 2 < length) {
      return std::nullopt;
    }
    at += 2 + length;
  }
  return std::nullopt;
}

bool sdesValid(const RtcpPacketView& p) {
  size_t at = kRtcpHeaderSize;
  for (size_t i = 0; i < p.count; ++i) {
    if (p.bytes.size() - at < 4) {
      return false;
    }
    const auto end = sdesChunkEnd(p.bytes, at + 4);
    if (!end) {
      return false;
    }
    at = *end;
  }
  return true;
}

bool byeValid(const RtcpPacketView& p) {
  const size_t ssrcEnd = kRtcpHeaderSize + size_t{4} * p.count;
  if (p.bytes.size() < ssrcEnd) {
    return false;
  }
  if (p.bytes.size() == ssrcEnd) {
    return true;
  }
  // RFC 3550 §6.6: a length octet, then the reason text.
  return p.bytes.size() - ssrcEnd - 1 >= p.bytes[ssrcEnd];
}

RtcpError checkInner(const RtcpPacketView& p) {
  switch (static_cast<RtcpType>(p.type)) {
    case RtcpType::kSenderReport:
      return reportFits(p, kSrFixedSize) ? RtcpError::kOk : RtcpError::kBadReport;
    case RtcpType::kReceiverReport:
      return reportFits(p, kRrFixedSize) ? RtcpError::kOk : RtcpError::kBadReport;
    case RtcpType::kSourceDescription:
      return sdesValid(p) ? RtcpError::kOk : RtcpError::kBadSdes;
    case RtcpType::kBye:
      return byeValid(p) ? RtcpError::kOk : RtcpError::kBadBye;
    default:
      // APP, RTPFB, PSFB, XR and types yet to be defined: the common header is all we need
      // to step over them (RFC 3550 §6.1: "other RTCP packet types ... may follow").
      return RtcpError::kOk;
  }
}

ReportBlock readReportBlock(std::span<const uint8_t> b, size_t at) {
  ReportBlock r;
  r.ssrc = readU32(b, at);
  r.fractionLost = b[at + 4];
  uint32_t lost = readU24(b, at + 5);
  if ((lost & 0x800000U) != 0) {
    lost |= 0xFF000000U;  // sign-extend the 24-bit two's complement field
  }
  r.cumulativeLost = static_cast<int32_t>(lost);
  r.extendedHighestSequence = readU32(b, at + 8);
  r.jitter = readU32(b, at + 12);
  r.lastSenderReport = readU32(b, at + 16);
  r.delaySinceLastSenderReport = readU32(b, at + 20);
  return r;
}

void writeReportBlock(std::span<uint8_t> b, size_t at, const ReportBlock& r) {
  writeU32(b, at, r.ssrc);
  b[at + 4] = r.fractionLost;
  // RFC 3550 §6.4.1: the field saturates at the 24-bit signed range.
  const int32_t lost = std::clamp(r.cumulativeLost, -0x800000, 0x7FFFFF);
  writeU24(b, at + 5, static_cast<uint32_t>(lost) & 0xFFFFFFU);
  writeU32(b, at + 8, r.extendedHighestSequence);
  writeU32(b, at + 12, r.jitter);
  writeU32(b, at + 16, r.lastSenderReport);
  writeU32(b, at + 20, r.delaySinceLastSenderReport);
}

void writeCommonHeader(std::span<uint8_t> b, size_t count, RtcpType type, size_t size) {
  b[0] = static_cast<uint8_t>(0x80U | count);
  b[1] = static_cast<uint8_t>(type);
  // RFC 3550 §6.4.1: length in 32-bit words minus one.
  writeU16(b, 2, static_cast<uint16_t>(size / 4 - 1));
}

}  // namespace

RtcpPacketIterator::RtcpPacketIterator(std::span<const uint8_t> rest) : rest_(rest), done_(false) {
  advance();
}

void RtcpPacketIterator::advance() {
  // Defensive even though RtcpCompound validated: stop at anything that would read past the end.
  if (rest_.size() < kRtcpHeaderSize) {
    done_ = true;
    return;
  }
  const size_t size = (size_t{readU16(rest_, 2)} + 1) * 4;
  if (size > rest_.size()) {
    done_ = true;
    return;
  }
  auto packet = rest_.first(size);
  if ((packet[0] & 0x20U) != 0) {
    const size_t padding = packet.back();
    if (padding == 0 || padding > size - kRtcpHeaderSize) {
      done_ = true;
      return;
    }
    packet = packet.first(size - padding);
  }
  current_.type = packet[1];
  current_.count = packet[0] & 0x1FU;
  current_.bytes = packet;
  rest_ = rest_.subspan(size);
}

RtcpError RtcpCompound::validate(std::span<const uint8_t> bytes) {
  if (bytes.size() < kRtcpHeaderSize) {
    return RtcpError::kTooShort;
  }
  size_t at = 0;
  while (at < bytes.size()) {
    const auto rest = bytes.subspan(at);
    if (rest.size() < kRtcpHeaderSize) {
      return RtcpError::kTooShort;
    }
    if ((rest[0] >> 6) != 2) {
      return RtcpError::kBadVersion;
    }
    // RFC 3550 A.2: the first packet's type is SR or RR; this also catches RTP sent to the
    // RTCP port.
    if (at == 0 && rest[1] != static_cast<uint8_t>(RtcpType::kSenderReport) &&
        rest[1] != static_cast<uint8_t>(RtcpType::kReceiverReport)) {
      return RtcpError::kFirstNotReport;
    }
    const size_t size = (size_t{readU16(rest, 2)} + 1) * 4;
    if (size > rest.size()) {
      return RtcpError::kTooShort;
    }
    RtcpPacketView view{rest[1], static_cast<uint8_t>(rest[0] & 0x1FU), rest.first(size)};
    if ((rest[0] & 0x20U) != 0) {
      if (size != rest.size()) {
        return RtcpError::kPaddingNotLast;
      }
      const size_t padding = rest[size - 1];
      if (padding == 0 || padding > size - kRtcpHeaderSize) {
        return RtcpError::kBadPadding;
      }
      view.bytes = rest.first(size - padding);
    }
    if (const RtcpError inner = checkInner(view); inner != RtcpError::kOk) {
      return inner;
    }
    at += size;
  }
  return RtcpError::kOk;
}

std::optional<RtcpCompound> RtcpCompound::parse(std::span<const uint8_t> bytes) {
  if (validate(bytes) != RtcpError::kOk) {
    return std::nullopt;
  }
  return RtcpCompound(bytes);
}

std::optional<SenderReport> SenderReport::parse(const RtcpPacketView& p) {
  if (p.type != static_cast<uint8_t>(RtcpType::kSenderReport) || !reportFits(p, kSrFixedSize)) {
    return std::nullopt;
  }
  return SenderReport(p.bytes, p.count);
}

uint32_t SenderReport::ssrc() const {
  return readU32(bytes_, 4);
}

SenderInfo SenderReport::senderInfo() const {
  SenderInfo s;
  s.ntpTimestamp = (uint64_t{readU32(bytes_, 8)} << 32) | readU32(bytes_, 12);
  s.rtpTimestamp = readU32(bytes_, 16);
  s.packetCount = readU32(bytes_, 20);
  s.octetCount = readU32(bytes_, 24);
  return s;
}

ReportBlock SenderReport::reportBlock(size_t i) const {
  return readReportBlock(bytes_, kSrFixedSize + kReportBlockSize * i);
}

std::optional<ReceiverReport> ReceiverReport::parse(const RtcpPacketView& p) {
  if (p.type != static_cast<uint8_t>(RtcpType::kReceiverReport) || !reportFits(p, kRrFixedSize)) {
    return std::nullopt;
  }
  return ReceiverReport(p.bytes, p.count);
}

uint32_t ReceiverReport::ssrc() const {
  return readU32(bytes_, 4);
}

ReportBlock ReceiverReport::reportBlock(size_t i) const {
  return readReportBlock(bytes_, kRrFixedSize + kReportBlockSize * i);
}

SdesItemIterator::SdesItemIterator(std::span<const uint8_t> rest) : rest_(rest), done_(false) {
  advance();
}

void SdesItemIterator::advance() {
  if (rest_.size() < 2 || rest_[0] == kSdesEnd || rest_.size() - 2 < rest_[1]) {
    done_ = true;
    return;
  }
  current_.type = rest_[0];
  current_.text = std::string_view(reinterpret_cast<const char*>(rest_.data() + 2), rest_[1]);
  rest_ = rest_.subspan(2 + size_t{rest_[1]});
}

SdesChunkIterator::SdesChunkIterator(std::span<const uint8_t> rest, size_t count)
    : rest_(rest), remaining_(count), done_(false) {
  advance();
}

void SdesChunkIterator::advance() {
  if (remaining_ == 0 || rest_.size() < 4) {
    done_ = true;
    return;
  }
  // Offsets within rest_ stay word aligned because every chunk starts on a 32-bit boundary.
  const auto end = sdesChunkEnd(rest_, 4);
  if (!end) {
    done_ = true;
    return;
  }
  current_.ssrc = readU32(rest_, 0);
  current_.itemBytes = rest_.subspan(4, *end - 4);
  rest_ = rest_.subspan(*end);
  --remaining_;
}

std::optional<SourceDescription> SourceDescription::parse(const RtcpPacketView& p) {
  if (p.type != static_cast<uint8_t>(RtcpType::kSourceDescription) || !sdesValid(p)) {
    return std::nullopt;
  }
  return SourceDescription(p.bytes, p.count);
}

std::optional<std::string_view> SourceDescription::cname(uint32_t ssrc) const {
  for (const SdesChunk& chunk : *this) {
    if (chunk.ssrc != ssrc) {
      continue;
    }
    for (const SdesItem& item : chunk.items()) {
      if (item.type == kSdesCname) {
        return item.text;
      }
    }
  }
  return std::nullopt;
}

std::optional<Bye> Bye::parse(const RtcpPacketView& p) {
  if (p.type != static_cast<uint8_t>(RtcpType::kBye) || !byeValid(p)) {
    return std::nullopt;
  }
  return Bye(p.bytes, p.count);
}

uint32_t Bye::ssrc(size_t i) const {
  return readU32(bytes_, kRtcpHeaderSize + 4 * i);
}

std::optional<std::string_view> Bye::reason() const {
  const size_t at = kRtcpHeaderSize + 4 * count_;
  if (bytes_.size() <= at) {
    return std::nullopt;
  }
  return std::string_view(reinterpret_cast<const char*>(bytes_.data() + at + 1), bytes_[at]);
}

size_t writeSenderReport(std::span<uint8_t> out,
                         uint32_t ssrc,
                         const SenderInfo& info,
                         std::span<const ReportBlock> blocks) {
  const size_t size = kSrFixedSize + kReportBlockSize * blocks.size();
  if (blocks.size() > kMaxReportBlocks || out.size() < size) {
    return 0;
  }
  writeCommonHeader(out, blocks.size(), RtcpType::kSenderReport, size);
  writeU32(out, 4, ssrc);
  writeU32(out, 8, static_cast<uint32_t>(info.ntpTimestamp >> 32));
  writeU32(out, 12, static_cast<uint32_t>(info.ntpTimestamp));
  writeU32(out, 16, info.rtpTimestamp);
  writeU32(out, 20, info.packetCount);
  writeU32(out, 24, info.octetCount);
  for (size_t i = 0; i < blocks.size(); ++i) {
    writeReportBlock(out, kSrFixedSize + kReportBlockSize * i, blocks[i]);
  }
  return size;
}

size_t writeReceiverReport(std::span<uint8_t> out,
                           uint32_t ssrc,
                           std::span<const ReportBlock> blocks) {
  const size_t size = kRrFixedSize + kReportBlockSize * blocks.size();
  if (blocks.size() > kMaxReportBlocks || out.size() < size) {
    return 0;
  }
  writeCommonHeader(out, blocks.size(), RtcpType::kReceiverReport, size);
  writeU32(out, 4, ssrc);
  for (size_t i = 0; i < blocks.size(); ++i) {
    writeReportBlock(out, kRrFixedSize + kReportBlockSize * i, blocks[i]);
  }
  return size;
}

size_t writeSdesCname(std::span<uint8_t> out, uint32_t ssrc, std::string_view cname) {
  if (cname.size() > 255) {
    return 0;
  }
  // Header, SSRC, CNAME type and length octets, the text, then at least one null octet
  // padding the chunk to a word (RFC 3550 §6.5).
  const size_t size = roundUp4(kRtcpHeaderSize + 4 + 2 + cname.size() + 1);
  if (out.size() < size) {
    return 0;
  }
  writeCommonHeader(out, 1, RtcpType::kSourceDescription, size);
  writeU32(out, 4, ssrc);
  out[8] = kSdesCname;
  out[9] = static_cast<uint8_t>(cname.size());
  std::copy(cname.begin(), cname.end(), out.begin() + 10);
  std::fill(out.begin() + 10 + static_cast<std::ptrdiff_t>(cname.size()),
            out.begin() + static_cast<std::ptrdiff_t>(size), uint8_t{0});
  return size;
}

size_t writeBye(std::span<uint8_t> out, std::span<const uint32_t> ssrcs, std::string_view reason) {
  if (ssrcs.size() > kMaxReportBlocks || reason.size() > 255) {
    return 0;
  }
  const size_t ssrcEnd = kRtcpHeaderSize + 4 * ssrcs.size();
  const size_t size = reason.empty() ? ssrcEnd : roundUp4(ssrcEnd + 1 + reason.size());
  if (out.size() < size) {
    return 0;
  }
  writeCommonHeader(out, ssrcs.size(), RtcpType::kBye, size);
  for (size_t i = 0; i < ssrcs.size(); ++i) {
    writeU32(out, kRtcpHeaderSize + 4 * i, ssrcs[i]);
  }
  if (!reason.empty()) {
    out[ssrcEnd] = static_cast<uint8_t>(reason.size());
    const auto text = out.begin() + static_cast<std::ptrdiff_t>(ssrcEnd + 1);
    std::copy(reason.begin(), reason.end(), text);
    std::fill(text + static_cast<std::ptrdiff_t>(reason.size()),
              out.begin() + static_cast<std::ptrdiff_t>(size), uint8_t{0});
  }
  return size;
}

size_t writeSenderReportCompound(std::span<uint8_t> out,
                                 uint32_t ssrc,
                                 const SenderInfo& info,
                                 std::span<const ReportBlock> blocks,
                                 std::string_view cname) {
  const size_t report = writeSenderReport(out, ssrc, info, blocks);
  if (report == 0) {
    return 0;
  }
  const size_t sdes = writeSdesCname(out.subspan(report), ssrc, cname);
  return sdes == 0 ? 0 : report + sdes;
}

size_t writeReceiverReportCompound(std::span<uint8_t> out,
                                   uint32_t ssrc,
                                   std::span<const ReportBlock> blocks,
                                   std::string_view cname) {
  const size_t report = writeReceiverReport(out, ssrc, blocks);
  if (report == 0) {
    return 0;
  }
  const size_t sdes = writeSdesCname(out.subspan(report), ssrc, cname);
  return sdes == 0 ? 0 : report + sdes;
}

uint64_t ntpFromSystemTime(std::chrono::system_clock::time_point t) {
  const auto since = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  const uint64_t nanos = since.count() < 0 ? 0 : static_cast<uint64_t>(since.count());
  const uint64_t seconds = nanos / kNanosPerSecond + kNtpUnixOffsetSeconds;
  const uint64_t fraction = ((nanos % kNanosPerSecond) << 32) / kNanosPerSecond;
  // Seconds beyond 32 bits roll into NTP era 1 (2036), which is what the wire carries.
  return (seconds << 32) | fraction;
}

std::chrono::system_clock::time_point systemTimeFromNtp(uint64_t ntp) {
  uint64_t seconds = ntp >> 32;
  // RFC 4330 §3: with the top bit clear, the time is in era 1 (after 2036-02-07).
  if ((seconds & 0x80000000ULL) == 0) {
    seconds += 0x100000000ULL;
  }
  const uint64_t nanos = ((ntp & 0xFFFFFFFFULL) * kNanosPerSecond) >> 32;
  const auto sinceUnix =
      std::chrono::seconds(static_cast<int64_t>(seconds - kNtpUnixOffsetSeconds)) +
      std::chrono::nanoseconds(static_cast<int64_t>(nanos));
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(sinceUnix));
}

uint32_t compactNtpFromDuration(std::chrono::nanoseconds d) {
  if (d.count() <= 0) {
    return 0;
  }
  const auto nanos = static_cast<uint64_t>(d.count());
  const uint64_t compact =
      ((nanos / kNanosPerSecond) << 16) + (((nanos % kNanosPerSecond) << 16) / kNanosPerSecond);
  return static_cast<uint32_t>(compact);
}

std::chrono::microseconds durationFromCompactNtp(uint32_t compact) {
  return std::chrono::microseconds(static_cast<int64_t>((uint64_t{compact} * 1'000'000ULL) >> 16));
}

std::optional<uint32_t> roundTripTime(uint32_t arrivalCompact,
                                      uint32_t lastSenderReport,
                                      uint32_t delaySinceLastSenderReport) {
  // RFC 3550 §6.4.1: LSR 0 means the peer has not had an SR from us yet.
  if (lastSenderReport == 0) {
    return std::nullopt;
  }
  const uint32_t rtt = arrivalCompact - lastSenderReport - delaySinceLastSenderReport;
  // Modular arithmetic: a "negative" result (clock skew, bogus DLSR) shows as the top bit set.
  if ((rtt & 0x80000000U) != 0) {
    return 0U;
  }
  return rtt;
}

}  // namespace confab::rtp
