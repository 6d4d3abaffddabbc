// libFuzzer target for RFC 4733 telephone-event payloads and the DTMF detector. The input is
// read twice: whole, as one payload, and as a stream of packets (4-octet timestamp, marker
// octet, length octet, payload) fed to the detector, which must report only DTMF digits and
// never more presses than blocks.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "mixer/rtp/TelephoneEvent.hpp"

namespace {

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

class CountingListener : public confab::rtp::DtmfDetector::Listener {
 public:
  void onDtmfPress(const confab::rtp::DtmfPress& press) override {
    check(confab::rtp::dtmfDigit(press.event) == press.digit);
    ++presses;
  }
  size_t presses = 0;
};

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confab::rtp;
  const std::vector<uint8_t> buffer(data, data + size);
  const std::span<const uint8_t> input(buffer);

  if (const auto payload = TelephoneEventPayload::parse(input)) {
    check(payload->blockCount() * kTelephoneEventSize == size);
    for (size_t i = 0; i < payload->blockCount(); ++i) {
      const TelephoneEvent e = payload->block(i);
      check(e.volume <= 63);
      (void)dtmfDigit(e.event);
      std::array<uint8_t, kTelephoneEventSize> out{};
      check(writeTelephoneEvent(out, e) == kTelephoneEventSize);
      const auto again = TelephoneEventPayload::parse(out);
      check(again.has_value() && again->first() == e);
    }
    check(payload->first() == payload->block(0));
  } else {
    check(size == 0 || size % kTelephoneEventSize != 0);
  }

  CountingListener listener;
  DtmfDetector detector(listener);
  size_t blocks = 0;
  size_t at = 0;
  while (size - at >= 6) {
    const uint32_t ts = (uint32_t{buffer[at]} << 24) | (uint32_t{buffer[at + 1]} << 16) |
                        (uint32_t{buffer[at + 2]} << 8) | buffer[at + 3];
    const bool marker = (buffer[at + 4] & 1U) != 0;
    if ((buffer[at + 4] & 0x80U) != 0) {
      detector.reset();
    }
    const size_t length = std::min<size_t>(buffer[at + 5], size - at - 6);
    const auto payload = input.subspan(at + 6, length);
    const bool accepted = detector.onPacket(payload, ts, marker);
    check(accepted == TelephoneEventPayload::parse(payload).has_value());
    if (accepted) {
      blocks += payload.size() / kTelephoneEventSize;
    }
    at += 6 + length;
  }
  check(listener.presses <= blocks);
  return 0;
}
