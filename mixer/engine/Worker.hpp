// A mixer thread: owns whole rooms and their participants' sockets, wakes every 20 ms on an
// absolute timer (so ticks do not drift), reads RTP as it arrives, and meets the signalling
// thread only at two SPSC queues (commands in, events out). Nothing in the tick allocates,
// locks or blocks.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "mixer/engine/Control.hpp"
#include "mixer/engine/IoRing.hpp"
#include "mixer/engine/SpscQueue.hpp"
#include "mixer/net/MediaEndpoint.hpp"
#include "mixer/room/Room.hpp"
#include "mixer/rtp/ReceiveStats.hpp"
#include "mixer/rtp/SourceChange.hpp"

namespace confab::mixer {

class PlaybackFeed;
class RecordingFeed;

struct WorkerEvent {
  enum class Kind : uint8_t {
    kDtmf,
    kRtpTimeout,
    kTalking,
    kPlaybackEnded,  // recordings end on the media file thread (MediaFileThread)
    kEndpointStats,
    kMixStats,
    kSource,  // a latch or a refused source, for the log
    kEndpointFailed,
    kFault,        // an exception on the mixer thread, caught: what it was and where
    kLegDetached,  // a leg moving to another thread's mix left this one (Control::move)
  };
  Kind kind = Kind::kDtmf;
  EndpointId endpoint = 0;
  MixId mix = 0;
  char digit = 0;
  bool talking = false;
  MediaFileEnd how = MediaFileEnd::kFinished;
  uint64_t file = 0;  // kPlaybackEnded: the playback it ends, as numbered by the control side
  MediaStats media;   // kEndpointStats
  MixStats mixStats;  // kMixStats
  SourceNote source;  // kSource
  std::array<char, 128> what{};  // kFault: the exception's text, cut short, NUL-terminated
};

// How late ticks fire, in 50 µs buckets up to 50 ms; read from any thread.
class TickLateness {
 public:
  static constexpr std::size_t kBuckets = 1000;
  static constexpr std::chrono::microseconds kBucket{50};
  void record(std::chrono::nanoseconds late);
  // The lateness below which 'fraction' of ticks fired (e.g. 0.999), in microseconds.
  [[nodiscard]] double percentileMicros(double fraction) const;
  [[nodiscard]] uint64_t ticks() const;
  void reset();

 private:
  std::array<std::atomic<uint64_t>, kBuckets + 1> counts_{};
};

// What the receive side has learnt of a call, carried whole when its leg is rebuilt (a
// re-INVITE, Worker::updateLeg) or moves to another mix, so statistics, refusals and their log
// notes go on.
struct LegHistory {
  // RFC 3550 §6.4: what we learn of their stream (reset when the clock rate changes).
  std::optional<rtp::ReceiveStats> received;
  uint64_t refusedBySequence = 0;  // RFC 3550 A.1 or the timeline refused them (ReceiveStats)
  uint64_t refusedBySsrc = 0;      // not the SSRC being played (a new one on its way in too)
  rtp::SourceChange sourceChange;  // when a new SSRC from them takes over
  uint64_t lastRefusedNoteTick = 0;
  uint64_t refusedReported = 0;  // the endpoint's refused count in the last note sent
  // The room's counters of the participants a rebuild or a move replaced: published ones go on.
  ParticipantStats carried;
};

// A leg on its way from one mix to another (Control::move): its sockets with their SRTP contexts,
// where its outgoing stream is, and its history, so the caller's stream goes on unbroken (same
// SSRC, sequence numbers and SRTP indices: restarting them under the same key would reuse
// keystream, RFC 3711 §9.1). Filled by the thread the leg leaves, emptied by the one it joins.
struct LegParcel {
  std::optional<MediaEndpoint> endpoint;
  ParticipantSettings settings;
  bool sending = true;
  bool receiving = true;
  std::optional<Room::SendState> continueFrom;
  LegHistory history;
  uint32_t clockRate = 8000;  // the rate the history's RTP timeline was learnt at
  // A key press under way: its remaining packets (RFC 4733 updates and end packets) arriving
  // after the move are the same press, not a new one.
  std::optional<rtp::DtmfDetector::State> dtmf;
};

class Worker {
 public:
  using Command = std::function<void(Worker&)>;

  // 'wake' is written (eventfd) when an event is queued for the signalling side. useIoRing:
  // the thread takes its legs' datagrams through io_uring (IoRing) when the kernel allows it.
  Worker(int wake,
         std::chrono::milliseconds rtpTimeout,
         std::chrono::milliseconds rtcpInterval = std::chrono::seconds(5),
         bool useIoRing = true);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  void stop();
  // Signalling side: runs 'command' on the mixer thread between ticks. False when the queue is
  // full (the caller retries or fails the request).
  bool post(Command command);
  // Signalling side: DTMF, timeouts, talking and file events (never dropped unless the signalling
  // side stops reading), then the once-a-second stats snapshots (dropped when nobody reads them).
  std::optional<WorkerEvent> popEvent() { return events_.pop(); }
  std::optional<WorkerEvent> popStats() { return stats_.pop(); }
  [[nodiscard]] const TickLateness& lateness() const { return lateness_; }
  // Starts a new measurement window (benchmarks, stats resets); safe from any thread.
  void resetLateness() { lateness_.reset(); }
  [[nodiscard]] std::size_t mixCount() const { return mixCount_.load(std::memory_order_relaxed); }
  // Endpoints joined to its mixes: what a mixer's load is counted in (placement across mixers).
  [[nodiscard]] std::size_t legCount() const { return legCount_.load(std::memory_order_relaxed); }
  // CPU time the mixer thread has used (CLOCK_THREAD_CPUTIME_ID), for benchmarks and stats.
  [[nodiscard]] std::chrono::nanoseconds cpuTime() const {
    return std::chrono::nanoseconds(cpuNanos_.load(std::memory_order_relaxed));
  }
  [[nodiscard]] uint64_t tickCount() const { return ticksDone_.load(std::memory_order_relaxed); }
  // Datagrams the thread has sent through its io_uring (0 on epoll), as of the last tick.
  [[nodiscard]] uint64_t ringSends() const { return ringSends_.load(std::memory_order_relaxed); }
  // Whether the running thread reads through io_uring (false until it has started and chosen);
  // if it was asked to and does not, why.
  [[nodiscard]] bool ioChosen() const { return ioState_.load(std::memory_order_acquire) != 0; }
  [[nodiscard]] bool usingIoRing() const { return ioState_.load(std::memory_order_acquire) == 1; }
  [[nodiscard]] std::string ioRingRefused() const {
    return ioChosen() && !usingIoRing() ? std::string(ioRefused_.data()) : std::string();
  }
  // Exceptions caught on this thread since it started (each one also a kFault event).
  [[nodiscard]] uint64_t faults() const { return faults_.load(std::memory_order_relaxed); }

  // Mixer thread only (from commands).
  void addMix(MixId id, const RoomSettings& settings);
  void removeMix(MixId id);
  bool addLeg(EndpointId id,
              MixId mix,
              MediaEndpoint endpoint,
              const ParticipantSettings& settings,
              bool sending,
              bool receiving,
              std::optional<Room::SendState> continueFrom = std::nullopt);
  void removeLeg(EndpointId id);
  // New media parameters on the same sockets (re-INVITE). False when the keys are unusable.
  bool updateLeg(EndpointId id,
                 const EndpointSettings& endpoint,
                 const ParticipantSettings& settings,
                 bool sending,
                 bool receiving);
  void withLeg(EndpointId id, const std::function<void(Room&, ParticipantId)>& action);
  // Moves a leg to another mix on this thread. False (the leg is gone) when either is unknown.
  bool moveLeg(EndpointId id, MixId to);
  // Takes a leg out of its mix into 'parcel' for attachLeg on another thread, and tells the
  // control side (kLegDetached) whether or not the leg was there; false when it was not (the
  // parcel stays empty).
  bool detachLeg(EndpointId id, LegParcel& parcel);
  // A detached leg joins 'mix' on this thread, its stream and history going on.
  bool attachLeg(EndpointId id, MixId mix, LegParcel&& parcel);
  // The endpoint cannot carry media any more (a failed addLeg or updateLeg): tells the control
  // side, which ends the call rather than leave it answered with no media.
  void failEndpoint(EndpointId id);
  // Runs a command about one leg ('step' returns false when it failed): a failure or an exception
  // ends that leg (failEndpoint), the exception also reported as a fault.
  template <class Step>
  void forLeg(EndpointId id, MixId mix, Step&& step) noexcept {
    try {
      if (!step()) {
        failEndpoint(id);
      }
    } catch (const std::exception& e) {
      fault(id, mix, e.what());
      failEndpoint(id);
    } catch (...) {
      fault(id, mix, "unknown exception");
      failEndpoint(id);
    }
  }
  // Files: the feeds come built from the control side (rings allocated there); here they are
  // only attached and detached. A replaced or stopped playback ends with kPlaybackEnded
  // (kStopped); a finished one reports itself from the tick. Dropping a recording feed tells the
  // media file thread to complete the file.
  void play(MixId id, uint64_t file, std::shared_ptr<PlaybackFeed> feed);
  void stopPlaying(MixId id);
  void record(MixId id, std::shared_ptr<RecordingFeed> feed);
  void stopRecording(MixId id);
  [[nodiscard]] std::optional<MixStats> mixStats(MixId id) const;
  // One 20 ms tick: mix, encode and send in every room. Run by the mixer thread on its clock; a
  // Worker never start()ed can be ticked directly (tests/fuzz/fuzz_leg_updates.cpp drives
  // re-INVITEs and ticks without waiting for real time).
  void tick();

 private:
  struct Mix;
  struct Leg;
  struct RingHandler;

  void run();
  void checkTimeouts(std::chrono::steady_clock::time_point now);
  void emit(const WorkerEvent& event);
  // An exception caught on this thread: counted and reported. 'endpoint' and 'mix' say where
  // (0: not one leg, or not one mix).
  void fault(EndpointId endpoint, MixId mix, const char* what) noexcept;
  void drainLeg(Leg& leg);
  // Takes the leg out of its room (into the graveyard) with everything that must go on.
  LegParcel takeLeg(Leg& leg);
  void publishStats();
  void sendReport(Leg& leg);
  void watch(Leg& leg);
  void unwatch(Leg& leg);
  // Latches and refused sources the leg's endpoint noted, to the log (rate-limited).
  void noteSources(Leg& leg);
  void drain(Leg& leg);
  void freeEndedPlaybacks();

  int wake_;
  std::chrono::milliseconds rtpTimeout_;
  std::chrono::milliseconds rtcpInterval_;
  int epoll_ = -1;
  bool useIoRing_ = true;
  std::unique_ptr<IoRing> ring_;  // made by the thread itself (the ring's only submitter)
  std::atomic<int> ioState_{0};          // 0: not chosen yet, 1: io_uring, 2: epoll
  std::array<char, 160> ioRefused_{};  // written before ioState_ is stored
  int timer_ = -1;
  int commandsReady_ = -1;
  std::thread thread_;
  std::atomic<bool> running_{false};
  SpscQueue<std::unique_ptr<Command>, 1024> commands_;
  SpscQueue<WorkerEvent, 4096> events_;
  SpscQueue<WorkerEvent, 4096> stats_;
  std::unordered_map<MixId, std::unique_ptr<Mix>> mixes_;
  std::unordered_map<EndpointId, std::unique_ptr<Leg>> legs_;
  // Legs removed while an epoll batch that may still name them is being handled; freed after it.
  std::vector<std::unique_ptr<Leg>> graveyard_;
  // Legs whose sockets held more than one read takes. Edge-triggered epoll reports a socket only
  // when a packet arrives, so these are read again after the batch (a flood waits its turn
  // without starving the others). Reserved to the number of legs: no allocation on the way.
  std::vector<Leg*> backlog_;
  std::vector<Leg*> draining_;
  // A playback ended in a tick: its feed is freed after the batch, not in the tick.
  bool endedPlaybacks_ = false;
  std::atomic<std::size_t> mixCount_{0};
  std::atomic<std::size_t> legCount_{0};
  ReceiveBatch batch_;
  TickLateness lateness_;
  uint64_t tickCount_ = 0;
  // When the next tick is due (the thread's clock): a packet's distance to it goes to the jitter
  // buffer with the packet.
  std::chrono::steady_clock::time_point nextTickDue_{};
  std::atomic<uint64_t> cpuNanos_{0};
  std::atomic<uint64_t> ticksDone_{0};
  std::atomic<uint64_t> ringSends_{0};
  std::atomic<uint64_t> faults_{0};
};

}  // namespace confab::mixer
