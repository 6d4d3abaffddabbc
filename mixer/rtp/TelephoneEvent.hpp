// RFC 4733 telephone-event payloads (DTMF named events) and the detector that turns a stream of
// them into one report per key press, whatever the redundancy and retransmission.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace confab::rtp {

inline constexpr size_t kTelephoneEventSize = 4;

// RFC 4733 §2.3: one 4-octet event block.
struct TelephoneEvent {
  uint8_t event = 0;
  bool end = false;
  uint8_t volume = 0;     // 0..63, -dBm0
  uint16_t duration = 0;  // timestamp units since the event's start
  friend bool operator==(const TelephoneEvent&, const TelephoneEvent&) = default;
};

// A telephone-event payload: one block, or several back-to-back events packed together
// (RFC 4733 §2.5.1.5), the earlier ones already ended.
class TelephoneEventPayload {
 public:
  // Needs at least one block and a whole number of them.
  static std::optional<TelephoneEventPayload> parse(std::span<const uint8_t> payload);
  [[nodiscard]] size_t blockCount() const { return bytes_.size() / kTelephoneEventSize; }
  [[nodiscard]] TelephoneEvent block(size_t i) const;  // i < blockCount()
  [[nodiscard]] TelephoneEvent first() const { return block(0); }

 private:
  explicit TelephoneEventPayload(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  std::span<const uint8_t> bytes_;
};

// Writes one block (4 octets); returns 4, or 0 when `out` is too small or volume > 63.
size_t writeTelephoneEvent(std::span<uint8_t> out, const TelephoneEvent& event);

// RFC 4733 §3.2: events 0-9 are the digits, 10 '*', 11 '#', 12-15 'A'-'D'; others are not DTMF.
std::optional<char> dtmfDigit(uint8_t event);

struct DtmfPress {
  char digit = 0;
  uint8_t event = 0;
  uint32_t timestamp = 0;  // RTP timestamp of the event's start
};

// Reports each key press once, on the first packet seen of it. All packets of one event carry
// its start timestamp (RFC 4733 §2.5.1.2), so updates, the three end packets of §2.5.1.4 and
// retransmissions collapse onto that one report; a long event continuing under a new timestamp
// without the marker (§2.5.1.3) is not a new press either.
class DtmfDetector {
 public:
  class Listener {
   public:
    virtual void onDtmfPress(const DtmfPress& press) = 0;

   protected:
    ~Listener() = default;
  };

  explicit DtmfDetector(Listener& listener) : listener_(&listener) {}

  // The payload of one telephone-event packet with its RTP timestamp and marker bit. Returns
  // false when the payload is not a telephone-event payload.
  bool onPacket(std::span<const uint8_t> payload, uint32_t rtpTimestamp, bool marker);

  // Forget the current event, e.g. when the sender's SSRC changes.
  void reset();

  // Called once per 20 ms tick. An event with no packet for kEndAfterTicks has ended, whether or
  // not its end packets came (RFC 4733 §2.5.1.4 sends three; a burst of loss takes all three):
  // otherwise the next press of the same key, its first packet (with the marker) lost too, would
  // pass for the old press going on (§2.5.1.3) and never be reported.
  void tick() {
    if (haveEvent_ && !ended_ && ++quietTicks_ >= kEndAfterTicks) {
      ended_ = true;
    }
  }
  // 200 ms: four times the update interval §2.5.1.2 suggests (50 ms), so a long press whose
  // updates are merely delayed is not cut in two.
  static constexpr uint8_t kEndAfterTicks = 10;

  // The press under way, carried when the stream moves to another detector (the caller's leg
  // moves to another mix): the rest of its packets are then not a second press.
  struct State {
    bool haveEvent = false;
    bool ended = false;
    uint8_t event = 0;
    uint32_t start = 0;
  };
  [[nodiscard]] State state() const { return State{haveEvent_, ended_, event_, start_}; }
  void restore(const State& state) {
    haveEvent_ = state.haveEvent;
    ended_ = state.ended;
    event_ = state.event;
    start_ = state.start;
  }

 private:
  void onBlock(const TelephoneEvent& block, uint32_t start, bool marker);

  Listener* listener_;
  bool haveEvent_ = false;
  bool ended_ = false;
  uint8_t event_ = 0;
  uint32_t start_ = 0;
  uint8_t quietTicks_ = 0;
};

}  // namespace confab::rtp
