// libFuzzer target for RTCP: a compound that validates must iterate inside its buffer with
// packet sizes adding up, every view must read only what validation allowed, and reports and
// CNAMEs must rebuild through the builders into compounds that parse to the same values.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "mixer/rtp/Rtcp.hpp"

namespace {

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confab::rtp;
  // Own copy, like the receive path's per-thread buffer (and so ASan sees the exact bounds).
  const std::vector<uint8_t> buffer(data, data + size);
  const std::span<const uint8_t> input(buffer);

  const RtcpError error = RtcpCompound::validate(input);
  const auto compound = RtcpCompound::parse(input);
  check(compound.has_value() == (error == RtcpError::kOk));
  if (!compound) {
    return 0;
  }

  const uint8_t* end = buffer.data() + buffer.size();
  size_t index = 0;
  std::array<ReportBlock, kMaxReportBlocks> blocks{};
  size_t blockCount = 0;
  uint32_t reporter = 0;
  std::optional<SenderInfo> senderInfo;
  std::string_view cname;
  for (const RtcpPacketView& packet : *compound) {
    check(packet.bytes.size() >= kRtcpHeaderSize);
    check(packet.bytes.data() >= buffer.data() && packet.bytes.data() + packet.bytes.size() <= end);
    check(packet.count <= 31);
    if (index == 0) {
      check(packet.type == 200 || packet.type == 201);
    }
    if (const auto sr = SenderReport::parse(packet)) {
      check(packet.type == 200);
      (void)sr->ssrc();
      const SenderInfo info = sr->senderInfo();
      (void)systemTimeFromNtp(info.ntpTimestamp);
      (void)roundTripTime(compactNtp(info.ntpTimestamp), info.rtpTimestamp, info.packetCount);
      for (size_t i = 0; i < sr->reportCount(); ++i) {
        const ReportBlock b = sr->reportBlock(i);
        check(b.cumulativeLost >= -0x800000 && b.cumulativeLost <= 0x7FFFFF);
        (void)durationFromCompactNtp(b.delaySinceLastSenderReport);
      }
      if (index == 0) {
        reporter = sr->ssrc();
        senderInfo = info;
        blockCount = sr->reportCount();
        for (size_t i = 0; i < blockCount; ++i) {
          blocks[i] = sr->reportBlock(i);
        }
      }
    } else if (const auto rr = ReceiverReport::parse(packet)) {
      check(packet.type == 201);
      for (size_t i = 0; i < rr->reportCount(); ++i) {
        const ReportBlock b = rr->reportBlock(i);
        check(b.cumulativeLost >= -0x800000 && b.cumulativeLost <= 0x7FFFFF);
        (void)roundTripTime(b.jitter, b.lastSenderReport, b.delaySinceLastSenderReport);
      }
      if (index == 0) {
        reporter = rr->ssrc();
        blockCount = rr->reportCount();
        for (size_t i = 0; i < blockCount; ++i) {
          blocks[i] = rr->reportBlock(i);
        }
      }
    } else if (const auto sdes = SourceDescription::parse(packet)) {
      check(packet.type == 202);
      size_t chunks = 0;
      for (const SdesChunk& chunk : *sdes) {
        ++chunks;
        for (const SdesItem& item : chunk.items()) {
          check(item.type != kSdesEnd);
          const auto* text = reinterpret_cast<const uint8_t*>(item.text.data());
          check(text >= buffer.data() && text + item.text.size() <= end);
          if (item.type == kSdesCname && cname.empty()) {
            cname = item.text;
          }
        }
        (void)sdes->cname(chunk.ssrc);
      }
      // Validation checked every chunk the count announces.
      check(chunks == sdes->chunkCount());
    } else if (const auto bye = Bye::parse(packet)) {
      check(packet.type == 203);
      for (size_t i = 0; i < bye->ssrcCount(); ++i) {
        (void)bye->ssrc(i);
      }
      if (const auto reason = bye->reason()) {
        const auto* text = reinterpret_cast<const uint8_t*>(reason->data());
        check(text >= buffer.data() && text + reason->size() <= end);
      }
    } else {
      // Validation vouched for SR, RR, SDES and BYE; only other types may fail every view.
      check(packet.type != 200 && packet.type != 201 && packet.type != 202 && packet.type != 203);
    }
    ++index;
  }
  check(index >= 1);

  // Rebuild the first report (and the first CNAME) and read it back.
  std::vector<uint8_t> out(2048);
  const std::span<const ReportBlock> used(blocks.data(), blockCount);
  const size_t written = senderInfo
                             ? writeSenderReportCompound(out, reporter, *senderInfo, used, cname)
                             : writeReceiverReportCompound(out, reporter, used, cname);
  check(written != 0);
  const auto rebuilt = RtcpCompound::parse(std::span<const uint8_t>(out).first(written));
  check(rebuilt.has_value());
  auto it = rebuilt->begin();
  if (senderInfo) {
    const auto sr = SenderReport::parse(*it);
    check(sr.has_value() && sr->senderInfo() == *senderInfo && sr->reportCount() == blockCount);
    for (size_t i = 0; i < blockCount; ++i) {
      check(sr->reportBlock(i) == blocks[i]);
    }
  } else {
    const auto rr = ReceiverReport::parse(*it);
    check(rr.has_value() && rr->ssrc() == reporter && rr->reportCount() == blockCount);
    for (size_t i = 0; i < blockCount; ++i) {
      check(rr->reportBlock(i) == blocks[i]);
    }
  }
  ++it;
  const auto sdes = SourceDescription::parse(*it);
  check(sdes.has_value() && sdes->cname(reporter) == cname);
  check(writeReceiverReportCompound(std::span(out).first(written - 1), reporter, used, cname) ==
            0 ||
        senderInfo);
  return 0;
}
