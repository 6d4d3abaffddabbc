// Adaptive jitter buffer for one incoming RTP stream: packets go in as they arrive, and come out
// in timestamp order as the mixer needs audio. Payloads are copied into a pool of fixed-size slots
// allocated at construction, so put() and get() never allocate.
//
// Why not SpeexDSP's jitter_buffer_*: its jitter_buffer_put() copies every payload with
// speex_alloc() (only a destroy callback without any context pointer avoids that), and it
// shrinks its delay by silently skipping audio. This one is keyed by RTP timestamp, counts every
// outcome, and adapts its delay in whole ticks: up at once when a packet comes too late, down by
// one tick only after a long run (2 s) of packets that all arrived with a tick and
// shrinkGuardMs to spare (or the minimum delay, if more).
//
// The spare time of a packet is its margin in ticks plus, when the caller knows it, how long
// before the caller's next get() it came (put's untilNextGet). Without that, a packet that came
// just before a tick and one that came just after the previous one look alike, so the buffer
// never goes under one tick of delay; with it, a stream whose packets all come at least
// shrinkGuardMs before the tick is played in the first tick after it arrives (minDelayMs 0).
//
// Packets may carry any duration (10, 20, 30, 40, 60 ms... up to 120 ms, RFC 6716 §3.2.5 and
// RFC 3551 §4.2 ptime): each outcome says how much audio it stands for, and the caller keeps
// asking until it has a tick's worth (a 60 ms packet feeds three ticks, two 10 ms packets one).
// (Margins are measured against the point the caller has taken audio up to, so with packets
// longer than a tick they look smaller than they are and the delay shrinks more reluctantly.)
//
// A gap is a loss only when sequence numbers were skipped (RFC 3550 §5.1 counts packets sent):
// a sender in DTX (RFC 7587 §3.1.3), after comfort noise (RFC 3389) or before a marked packet
// (RFC 3551 §4.1) sent nothing, and its gaps come out as Empty.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace confab::dsp {

struct JitterBufferConfig {
  uint32_t clockRate = 48000;    // RTP timestamp units per second (RFC 3550 §5.1)
  uint32_t frameDuration = 960;  // timestamp units per tick (20 ms at 48 kHz); default packet
  std::size_t capacity = 32;     // packet slots; also the look-ahead window in ticks (640 ms)
  std::size_t maxPayload = 512;  // bytes per slot (G.711 20 ms is 160; Opus 32 kbit/s ~ 80)
  uint32_t minDelayMs = 20;  // 0: no whole tick of delay when put() is told the arrival time
  uint32_t initialDelayMs = 40;
  uint32_t shrinkGuardMs = 5;  // spare time every packet of a window keeps after a shrink
  uint32_t maxDelayMs = 200;
  uint32_t maxGapDuration = 5760;  // the longest Missing handed out at once (120 ms at 48 kHz)
};

class JitterBuffer {
 public:
  enum class Outcome : uint8_t {
    Packet,   // the packet due now: decode it
    Missing,  // audio due now never came but later did, with packets missing: a loss, conceal
              // (or use FEC)
    Insert,   // the buffer is deepening its delay: play a concealment frame, nothing was lost
    Empty,    // nothing due: before the first packet, or the sender is silent (DTX) or stalled
  };

  // Flags given with a packet to put().
  static constexpr uint8_t kTalkspurtStart = 1;  // RTP marker (RFC 3551 §4.1): silence before it
  static constexpr uint8_t kSilenceAfter = 2;    // comfort noise (RFC 3389): silence follows it

  struct Frame {
    Outcome outcome = Outcome::Empty;
    uint32_t timestamp = 0;  // RTP timestamp of the audio due (of the packet for Packet)
    uint32_t duration = 0;   // timestamp units this outcome stands for (> 0 once started)
    uint16_t sequence = 0;   // Packet only
    uint8_t tag = 0;         // Packet only: what the caller gave put()
    // Packet only: valid until the next put(), get() or reset().
    std::span<const uint8_t> payload;
    // Missing only: the packet that starts right where this gap ends, when it is already here
    // (Opus in-band FEC recovers the gap from it, RFC 6716 §2.1.7). It stays buffered and is
    // the next get()'s Packet. Valid until the next put(), get() or reset().
    std::span<const uint8_t> next;
    // Packet and Missing: audio already handed out as Empty (the buffer had run dry) that this
    // packet's sequence number shows was lost, in timestamp units. Counting only: it is played.
    uint32_t lostBefore = 0;
  };

  struct Stats {
    uint64_t received = 0;  // accepted by put()
    uint64_t played = 0;    // returned as Packet
    uint64_t missing = 0;
    uint64_t inserted = 0;
    uint64_t empty = 0;
    uint64_t late = 0;  // arrived after their audio was due: dropped
    uint64_t duplicate = 0;
    uint64_t tooLarge = 0;        // payload over maxPayload
    uint64_t overflow = 0;        // every slot full: dropped
    uint64_t shrinkDropped = 0;   // discarded to shorten the delay
    uint64_t resyncs = 0;         // timestamp jumps that restarted the buffer
    uint64_t lostWhileEmpty = 0;  // losses first played as Empty, found out later (lostBefore)
  };

  // Throws std::invalid_argument for a zero rate, frame, payload or gap, or under two slots.
  explicit JitterBuffer(const JitterBufferConfig& config = {});

  // duration: timestamp units of audio in the packet (0: one frameDuration). untilNextGet: how
  // long before the caller's next get() the packet came, in timestamp units (0: not known).
  // Returns false when the packet is dropped (late, duplicate, too large, no free slot); see
  // stats().
  bool put(uint16_t sequence,
           uint32_t timestamp,
           std::span<const uint8_t> payload,
           uint32_t duration = 0,
           uint8_t flags = 0,
           uint8_t tag = 0,
           uint32_t untilNextGet = 0);
  // The next piece of audio, in order. Call it until the caller holds a tick's worth (once per
  // tick with 20 ms packets); every outcome advances the playout point by its duration.
  Frame get();
  // Forgets every packet and starts over at the next put(); keeps the learned delay.
  void reset();

  [[nodiscard]] uint32_t targetDelayMs() const;
  [[nodiscard]] std::size_t bufferedPackets() const { return buffered_; }
  [[nodiscard]] const Stats& stats() const { return stats_; }

 private:
  struct Slot {
    bool used = false;
    uint8_t flags = 0;
    uint8_t tag = 0;
    uint16_t sequence = 0;
    uint32_t timestamp = 0;
    uint32_t duration = 0;
    std::size_t length = 0;
  };

  void start(uint32_t timestamp);
  void clearSlots();
  void release(Slot& slot);
  // The buffered packet with the earliest timestamp (dropping any whose time has passed).
  Slot* earliest();
  [[nodiscard]] std::span<uint8_t> slotBytes(const Slot& slot);
  void noteMargin(int64_t margin, uint32_t duration);
  void shrink();

  JitterBufferConfig config_;
  uint32_t frame_;
  uint32_t minDelay_;  // timestamp units, whole frames
  uint32_t maxDelay_;
  uint32_t guard_;  // timestamp units
  std::vector<Slot> slots_;
  std::vector<uint8_t> bytes_;  // capacity * maxPayload
  Stats stats_;

  bool started_ = false;
  uint32_t playout_ = 0;       // RTP timestamp of the next audio due
  uint32_t leadInUntil_ = 0;   // audio before this timestamp is the initial delay: Empty
  bool silence_ = false;       // the last packet played said silence follows (no loss till next)
  bool playedAny_ = false;     // since the start: lastSequence_ is set
  uint16_t lastSequence_ = 0;  // of the last packet played
  uint32_t unexplained_ = 0;   // handed out as Empty since then, with packets played before
  std::size_t buffered_ = 0;
  uint32_t delay_;  // timestamp units
  uint32_t pendingGrow_ = 0;
  bool pendingShrink_ = false;
  int64_t minMargin_ = INT64_MAX;  // smallest margin (timestamp units) since the last adaptation
  uint64_t marginTime_ = 0;        // audio (timestamp units) those margins came with
};

}  // namespace confab::dsp
