// Adaptive jitter buffer for one incoming RTP stream: packets go in as they arrive, one frame
// comes out per mixer tick. Payloads are copied into a ring of fixed-size slots allocated at
// construction, so put() and get() never allocate.
//
// Why not SpeexDSP's jitter_buffer_*: its jitter_buffer_put() copies every payload with
// speex_alloc() (only a destroy callback without any context pointer avoids that), and it
// shrinks its delay by silently skipping audio. This one is keyed by RTP timestamp, counts every
// outcome, and adapts its delay in whole frames: up at once when a packet comes too late, down by
// one frame only after a long run (2 s) of packets that all arrived with two frames to spare.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace confab::dsp {

struct JitterBufferConfig {
  uint32_t clockRate = 48000;    // RTP timestamp units per second (RFC 3550 §5.1)
  uint32_t frameDuration = 960;  // timestamp units per packet and per tick (20 ms at 48 kHz)
  std::size_t capacity = 32;     // slots, each one frame: 640 ms of look-ahead at 20 ms
  std::size_t maxPayload = 512;  // bytes per slot (G.711 20 ms is 160; Opus 32 kbit/s ~ 80)
  uint32_t minDelayMs = 20;
  uint32_t initialDelayMs = 40;
  uint32_t maxDelayMs = 200;
};

class JitterBuffer {
 public:
  enum class Outcome : uint8_t {
    Packet,   // the frame due now: decode it
    Missing,  // the frame due now never came but later ones did: a loss, conceal (or use FEC)
    Insert,   // the buffer is deepening its delay: play a concealment frame, nothing was lost
    Empty,    // nothing due: before the first packet, or the sender is silent (DTX) or stalled
  };

  struct Frame {
    Outcome outcome = Outcome::Empty;
    uint32_t timestamp = 0;  // RTP timestamp of the frame due (of the packet for Packet)
    uint16_t sequence = 0;   // Packet only
    // Packet only: valid until the next put(), get() or reset().
    std::span<const uint8_t> payload;
  };

  struct Stats {
    uint64_t received = 0;  // accepted by put()
    uint64_t played = 0;    // returned as Packet
    uint64_t missing = 0;
    uint64_t inserted = 0;
    uint64_t empty = 0;
    uint64_t late = 0;  // arrived after their frame was due: dropped
    uint64_t duplicate = 0;
    uint64_t tooLarge = 0;
    uint64_t shrinkDropped = 0;  // discarded to shorten the delay
    uint64_t resyncs = 0;        // timestamp jumps that restarted the buffer
  };

  // Throws std::invalid_argument for a zero rate, frame or capacity.
  explicit JitterBuffer(const JitterBufferConfig& config = {});

  // Returns false when the packet is dropped (late, duplicate, too large); see stats().
  bool put(uint16_t sequence, uint32_t timestamp, std::span<const uint8_t> payload);
  // Once per tick (frameDuration of audio).
  Frame get();
  // Forgets every packet and starts over at the next put(); keeps the learned delay.
  void reset();

  [[nodiscard]] uint32_t targetDelayMs() const;
  [[nodiscard]] std::size_t bufferedPackets() const { return buffered_; }
  [[nodiscard]] const Stats& stats() const { return stats_; }

 private:
  struct Slot {
    bool used = false;
    uint16_t sequence = 0;
    uint32_t timestamp = 0;
    std::size_t length = 0;
  };

  void start(uint32_t timestamp);
  void clearSlots();
  void release(Slot& slot);
  [[nodiscard]] std::span<uint8_t> slotBytes(std::size_t index);
  void noteMargin(int64_t margin);

  JitterBufferConfig config_;
  uint32_t frame_;
  uint32_t minFrames_;
  uint32_t maxFrames_;
  std::vector<Slot> slots_;
  std::vector<uint8_t> bytes_;  // capacity * maxPayload
  Stats stats_;

  bool started_ = false;
  uint32_t playout_ = 0;       // RTP timestamp of the next frame due
  std::size_t playIndex_ = 0;  // its slot
  uint32_t leadInUntil_ = 0;   // frames before this timestamp are the initial delay: Empty
  std::size_t buffered_ = 0;
  uint32_t delayFrames_;
  uint32_t pendingGrow_ = 0;
  bool pendingShrink_ = false;
  int64_t minMargin_ = INT64_MAX;  // smallest margin (timestamp units) since the last adaptation
  uint32_t marginCount_ = 0;
};

}  // namespace confab::dsp
