// libFuzzer target for the RTP packet view: whatever parses must stay inside its buffer, add up
// (header + payload + padding = size), survive in-place rewrites, and rebuild through the
// builder into a packet that parses to the same fields. The same bytes also drive the
// demultiplexer and, read as (sequence, timestamp, arrival) triples, the receive statistics.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "mixer/rtp/ReceiveStats.hpp"
#include "mixer/rtp/RtpPacket.hpp"

namespace {

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

void exerciseStats(std::span<const uint8_t> data) {
  confab::rtp::ReceiveStats stats(0x1234);
  size_t blocks = 0;
  for (size_t at = 0; at + 10 <= data.size(); at += 10) {
    const auto seq = static_cast<uint16_t>((data[at] << 8) | data[at + 1]);
    const uint32_t ts = (uint32_t{data[at + 2]} << 24) | (uint32_t{data[at + 3]} << 16) |
                        (uint32_t{data[at + 4]} << 8) | data[at + 5];
    const uint32_t arrival = (uint32_t{data[at + 6]} << 24) | (uint32_t{data[at + 7]} << 16) |
                             (uint32_t{data[at + 8]} << 8) | data[at + 9];
    stats.onPacket(seq, ts, arrival);
    if (++blocks % 7 == 0) {
      const auto r = stats.makeReportBlock(std::chrono::steady_clock::time_point{});
      check(r.cumulativeLost >= -0x800000 && r.cumulativeLost <= 0x7FFFFF);
      check(!stats.valid() || r.extendedHighestSequence == stats.extendedHighestSequence());
    }
  }
  (void)stats.jitter();
  (void)stats.expected();
  (void)stats.cumulativeLost();
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confab::rtp;
  const std::span<const uint8_t> input(data, size);
  // The view is mutable (setters write in place), so work on our own copy.
  std::vector<uint8_t> buffer(input.begin(), input.end());

  (void)classifyPacket(input);
  (void)looksLikeRtcp(input);
  exerciseStats(input);

  const RtpError error = RtpPacket::validate(input);
  auto packet = RtpPacket::parse(buffer);
  check(packet.has_value() == (error == RtpError::kOk));
  if (!packet) {
    return 0;
  }
  check(packet->headerSize() + packet->payload().size() + packet->paddingSize() == size);
  check(packet->bytes().data() == buffer.data());
  check(packet->payload().data() == buffer.data() + packet->headerSize());

  std::array<uint32_t, kMaxCsrcs> csrcs{};
  check(packet->csrcCount() <= kMaxCsrcs);
  for (size_t i = 0; i < packet->csrcCount(); ++i) {
    csrcs[i] = packet->csrc(i);
  }
  const auto block = packet->extensionBlock();
  if (!block.empty()) {
    check(block.data() >= buffer.data() && block.data() + block.size() <= buffer.data() + size);
  }
  size_t elements = 0;
  for (const auto& e : packet->extensions()) {
    check(e.data.data() >= block.data() &&
          e.data.data() + e.data.size() <= block.data() + block.size());
    check(e.id != 0);
    check(packet->findExtension(e.id).has_value());
    (void)packet->audioLevel(e.id);
    ++elements;
  }
  (void)elements;
  (void)packet->extensionProfile();
  (void)packet->extensionForm();
  (void)packet->hasPadding();

  // Rebuild from the parsed fields (with levels derived from them) and parse again.
  const std::array<uint8_t, kMaxCsrcs> levels{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  RtpHeader h;
  h.marker = packet->marker();
  h.payloadType = packet->payloadType();
  h.sequenceNumber = packet->sequenceNumber();
  h.timestamp = packet->timestamp();
  h.ssrc = packet->ssrc();
  h.csrcs = std::span<const uint32_t>(csrcs).first(packet->csrcCount());
  h.audioLevelId = static_cast<uint8_t>(packet->sequenceNumber() % 15);
  h.audioLevel = {(packet->timestamp() & 1U) != 0, static_cast<uint8_t>(packet->ssrc() % 128)};
  if (packet->csrcCount() > 0 && h.audioLevelId != 14) {
    h.csrcLevelsId = static_cast<uint8_t>(h.audioLevelId + 1);
    h.csrcLevels = std::span<const uint8_t>(levels).first(packet->csrcCount());
  }
  std::vector<uint8_t> out(size + 64);
  const size_t written = writeRtpPacket(out, h, packet->payload());
  check(written != 0);
  auto rebuilt = RtpPacket::parse(std::span(out).first(written));
  check(rebuilt.has_value());
  check(rebuilt->marker() == h.marker && rebuilt->payloadType() == h.payloadType);
  check(rebuilt->sequenceNumber() == h.sequenceNumber && rebuilt->timestamp() == h.timestamp);
  check(rebuilt->ssrc() == h.ssrc && rebuilt->csrcCount() == h.csrcs.size());
  check(rebuilt->payload().size() == packet->payload().size());
  if (h.audioLevelId != 0) {
    check(rebuilt->audioLevel(h.audioLevelId) == h.audioLevel);
  }
  if (h.csrcLevelsId != 0) {
    const auto found = rebuilt->findExtension(h.csrcLevelsId);
    check(found.has_value() && found->size() == h.csrcLevels.size());
  }
  // One octet short must fail, not overflow.
  check(writeRtpPacket(std::span(out).first(written - 1), h, packet->payload()) == 0);

  // In-place rewrites keep the packet valid and read back.
  packet->setMarker(!packet->marker());
  packet->setPayloadType(static_cast<uint8_t>(packet->payloadType() ^ 0x55U));
  packet->setSequenceNumber(static_cast<uint16_t>(packet->sequenceNumber() + 1));
  packet->setTimestamp(packet->timestamp() + 160);
  packet->setSsrc(~packet->ssrc());
  check(RtpPacket::validate(buffer) == RtpError::kOk);
  check(packet->sequenceNumber() == static_cast<uint16_t>(h.sequenceNumber + 1));
  check(packet->ssrc() == ~h.ssrc);
  return 0;
}
