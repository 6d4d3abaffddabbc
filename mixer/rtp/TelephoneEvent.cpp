// RFC 4733 event blocks and key-press detection.
#include "mixer/rtp/TelephoneEvent.hpp"

#include "mixer/rtp/ByteOrder.hpp"

namespace confab::rtp {

std::optional<TelephoneEventPayload> TelephoneEventPayload::parse(
    std::span<const uint8_t> payload) {
  if (payload.empty() || payload.size() % kTelephoneEventSize != 0) {
    return std::nullopt;
  }
  return TelephoneEventPayload(payload);
}

TelephoneEvent TelephoneEventPayload::block(size_t i) const {
  const size_t at = i * kTelephoneEventSize;
  TelephoneEvent e;
  e.event = bytes_[at];
  e.end = (bytes_[at + 1] & 0x80U) != 0;
  // Bit 0x40 is R, reserved: ignored on receipt (RFC 4733 §2.3).
  e.volume = bytes_[at + 1] & 0x3FU;
  e.duration = readU16(bytes_, at + 2);
  return e;
}

size_t writeTelephoneEvent(std::span<uint8_t> out, const TelephoneEvent& event) {
  if (out.size() < kTelephoneEventSize || event.volume > 63) {
    return 0;
  }
  out[0] = event.event;
  out[1] = static_cast<uint8_t>((event.end ? 0x80U : 0U) | event.volume);
  writeU16(out, 2, event.duration);
  return kTelephoneEventSize;
}

std::optional<char> dtmfDigit(uint8_t event) {
  if (event <= 9) {
    return static_cast<char>('0' + event);
  }
  switch (event) {
    case 10:
      return '*';
    case 11:
      return '#';
    case 12:
    case 13:
    case 14:
    case 15:
      return static_cast<char>('A' + (event - 12));
    default:
      return std::nullopt;
  }
}

bool DtmfDetector::onPacket(std::span<const uint8_t> payload, uint32_t rtpTimestamp, bool marker) {
  const auto parsed = TelephoneEventPayload::parse(payload);
  if (!parsed) {
    return false;
  }
  // RFC 4733 §2.5.1.5: packed events follow each other without gaps, so each starts where the
  // previous one's duration ends; the packet's timestamp is the first one's start. Every
  // block after the first is a new event by construction.
  uint32_t start = rtpTimestamp;
  for (size_t i = 0; i < parsed->blockCount(); ++i) {
    const TelephoneEvent block = parsed->block(i);
    onBlock(block, start, marker || i > 0);
    start += block.duration;
  }
  return true;
}

void DtmfDetector::reset() {
  haveEvent_ = false;
  ended_ = false;
  event_ = 0;
  start_ = 0;
  quietTicks_ = 0;
}

void DtmfDetector::onBlock(const TelephoneEvent& block, uint32_t start, bool marker) {
  quietTicks_ = 0;
  if (haveEvent_) {
    const auto age = static_cast<int32_t>(start - start_);
    if (age == 0) {
      // Same start, same event: an update, an end packet (§2.5.1.4) or a retransmission.
      if (block.event == event_) {
        ended_ = ended_ || block.end;
      }
      return;
    }
    if (age < 0) {
      // A late packet of an earlier event, already reported.
      return;
    }
    if (!marker && !ended_ && block.event == event_) {
      // §2.5.1.3: a long event goes on under a new timestamp, marker clear; same press.
      start_ = start;
      ended_ = block.end;
      return;
    }
  }
  haveEvent_ = true;
  event_ = block.event;
  start_ = start;
  ended_ = block.end;
  if (const auto digit = dtmfDigit(block.event)) {
    listener_->onDtmfPress(DtmfPress{*digit, block.event, start});
  }
}

}  // namespace confab::rtp
