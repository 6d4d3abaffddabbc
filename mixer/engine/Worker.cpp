#include "mixer/engine/Worker.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "mixer/media/Playback.hpp"
#include "mixer/media/Recording.hpp"
#include "mixer/rtp/Rtcp.hpp"
#include "mixer/rtp/RtpPacket.hpp"

namespace confab::mixer {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kTick = std::chrono::milliseconds(20);
constexpr uint64_t kTicksPerSecond = 50;
constexpr uint64_t kTimerTag = 1;
constexpr uint64_t kCommandTag = 2;
// Late by more than this many ticks: skip ahead instead of bursting (a stalled machine).
constexpr uint64_t kMaxCatchUpTicks = 5;
// The longest rest between two reads of the sockets (see Worker::run).
constexpr auto kReadPause = std::chrono::milliseconds(2);
constexpr uint64_t kEpollTag = 3;
// Datagrams the ring can hold before the thread takes them (8 MB): the thread takes them at
// least every kReadPause, when 2,500 legs send about 250.
constexpr std::size_t kRingBuffers = 4096;

void signal(int fd) {
  const uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(fd, &one, sizeof(one));
}

uint64_t drainCounter(int fd) {
  uint64_t value = 0;
  return ::read(fd, &value, sizeof(value)) == sizeof(value) ? value : 0;
}

WorkerEvent eventOf(WorkerEvent::Kind kind, EndpointId endpoint, MixId mix = 0) {
  WorkerEvent event;
  event.kind = kind;
  event.endpoint = endpoint;
  event.mix = mix;
  return event;
}

}  // namespace

void TickLateness::record(std::chrono::nanoseconds late) {
  const auto bucket = std::min<int64_t>(
      std::max<int64_t>(
          0, late.count() / std::chrono::duration_cast<std::chrono::nanoseconds>(kBucket).count()),
      static_cast<int64_t>(kBuckets));
  counts_[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
}

uint64_t TickLateness::ticks() const {
  uint64_t total = 0;
  for (const auto& c : counts_) {
    total += c.load(std::memory_order_relaxed);
  }
  return total;
}

double TickLateness::percentileMicros(double fraction) const {
  const uint64_t total = ticks();
  if (total == 0) {
    return 0.0;
  }
  const auto wanted = static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(total)));
  uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i].load(std::memory_order_relaxed);
    if (seen >= wanted) {
      return static_cast<double>((i + 1) * static_cast<std::size_t>(kBucket.count()));
    }
  }
  return static_cast<double>(kBuckets * static_cast<std::size_t>(kBucket.count()));
}

void TickLateness::reset() {
  for (auto& c : counts_) {
    c.store(0, std::memory_order_relaxed);
  }
}

struct Worker::Leg final : MediaEndpoint::Receiver {
  void onRtp(std::span<uint8_t> packet) override;
  void onRtcp(std::span<uint8_t> packet) override;

  Worker* worker = nullptr;
  EndpointId id = 0;
  ParticipantSettings settings;
  Mix* mix = nullptr;
  ParticipantId participant = 0;
  std::optional<MediaEndpoint> endpoint;
  bool sending = true;
  bool receiving = true;
  uint64_t lastRtpTick = 0;
  bool timedOut = false;
  LegHistory history;
  uint32_t clockRate = 8000;
  MediaQuality quality;
  uint64_t nextReportTick = 0;
  bool removed = false;  // in the graveyard: events still queued for it are ignored
  bool inBacklog = false;
};

struct Worker::Mix final : Room::Sink {
  Mix(Worker& w, MixId mixId, const RoomSettings& settings)
      : worker(w), id(mixId), room(std::make_unique<Room>(settings, *this)) {}

  // The leg of a participant in this mix; null once it has left.
  Leg* legOf(ParticipantId participant) const {
    auto found = byParticipant.find(participant);
    return found != byParticipant.end() ? found->second : nullptr;
  }

  void onRtp(ParticipantId to, std::span<const uint8_t> packet) override {
    Leg* leg = legOf(to);
    if (leg == nullptr || !leg->sending || !leg->endpoint ||
        packet.size() > sendBuffer.size() - 64) {
      return;  // gone, on hold (RFC 3264 §5.1: recvonly/inactive towards them), or too big
    }
    std::memcpy(sendBuffer.data(), packet.data(), packet.size());
    leg->endpoint->sendRtp(sendBuffer, packet.size());
  }
  void onDtmf(ParticipantId from, char digit) override {
    if (Leg* leg = legOf(from)) {
      WorkerEvent event = eventOf(WorkerEvent::Kind::kDtmf, leg->id);
      event.digit = digit;
      worker.emit(event);
    }
  }
  void onTalking(ParticipantId who, bool talking) override {
    if (Leg* leg = legOf(who)) {
      WorkerEvent event = eventOf(WorkerEvent::Kind::kTalking, leg->id);
      event.talking = talking;
      worker.emit(event);
    }
  }

  // Tick: a playback that played its last frame says so, once, and stops being pulled.
  void checkPlayback() {
    if (playback && !playbackReported && playback->finished()) {
      reportPlayback(playback->end());
      room->setPlaybackSource(nullptr);
      worker.endedPlaybacks_ = true;
    }
  }
  // Between ticks: detaches and frees the playback, telling how it ended if it has not yet.
  void endPlayback(MediaFileEnd how) {
    if (playback && !playbackReported) {
      reportPlayback(how);
    }
    room->setPlaybackSource(nullptr);
    if (playback) {
      pastUnderruns += playback->underruns();
    }
    playback.reset();
  }
  // Between ticks: detaches the recording (its file completes) and keeps its count of drops.
  void endRecording() {
    room->setRecordingTap(nullptr);
    if (recording) {
      pastDrops += recording->drops();
    }
    recording.reset();
  }
  void reportPlayback(MediaFileEnd how) {
    WorkerEvent event = eventOf(WorkerEvent::Kind::kPlaybackEnded, 0, id);
    event.how = how;
    event.file = playbackFile;
    worker.emit(event);
    playbackReported = true;
  }

  Worker& worker;
  MixId id;
  std::unique_ptr<Room> room;
  std::unordered_map<ParticipantId, Leg*> byParticipant;
  std::array<uint8_t, 1600> sendBuffer{};  // room for the SRTP trailer after the packet
  // The room points at these; it calls them only from tick(), so they may go first.
  std::shared_ptr<PlaybackFeed> playback;
  uint64_t playbackFile = 0;
  bool playbackReported = false;
  std::shared_ptr<RecordingFeed> recording;
  uint64_t pastUnderruns = 0;  // of the playbacks before this one
  uint64_t pastDrops = 0;      // of the recordings before this one
};

void Worker::Leg::onRtp(std::span<uint8_t> packet) {
  auto header = rtp::RtpPacket::parse(packet);
  if (!header) {
    return;  // the endpoint let only valid RTP through
  }
  auto& received = history.received;
  if (!received) {
    received.emplace(header->ssrc(), clockRate, false);  // the endpoint latched strictly
  }
  const auto arrived = Clock::now();
  if (received->ssrc() != header->ssrc()) {
    if (!history.sourceChange.onOther(header->ssrc(), header->sequenceNumber(), arrived)) {
      ++history.refusedBySsrc;
      return;
    }
    // Their phone started a new source (hold, transfer, restart): a new timeline for RFC 3550
    // A.1, a new jitter buffer and decoder state in the room. With SRTP the new SSRC has its own
    // cryptographic context already (RFC 3711 §3.2.3: one per SSRC; libsrtp derives it from the
    // same master key on its first authenticated packet, rollover counter 0).
    received.emplace(header->ssrc(), clockRate, false);
    mix->room->restartSource(participant);
  } else {
    history.sourceChange.onCurrent(arrived);
  }
  // RFC 3550 A.1 and the timeline check decide what is played: a stray packet with this SSRC
  // (UDP source addresses can be forged) is refused here, before it can disturb the jitter
  // buffer. Arrival in the stream's clock units (A.8): the monotonic clock, scaled.
  const auto now = arrived.time_since_epoch();
  const auto units = static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(now).count() * clockRate / 1'000'000);
  switch (received->onPacket(header->sequenceNumber(), header->timestamp(), units)) {
    case rtp::ReceiveStats::Verdict::kAccept:
      break;
    case rtp::ReceiveStats::Verdict::kProbation:
      lastRtpTick = worker->tickCount_;
      return;
    case rtp::ReceiveStats::Verdict::kSequenceJump:
    case rtp::ReceiveStats::Verdict::kTimestampJump:
      ++history.refusedBySequence;
      return;
  }
  lastRtpTick = worker->tickCount_;
  const auto untilTick = std::chrono::duration_cast<std::chrono::microseconds>(
      worker->nextTickDue_ - arrived);
  mix->room->receive(participant, packet,
                     untilTick.count() > 0 ? static_cast<uint32_t>(untilTick.count()) : 0);
}

void Worker::Leg::onRtcp(std::span<uint8_t> packet) {
  lastRtpTick = worker->tickCount_;
  auto compound = rtp::RtcpCompound::parse(packet);
  if (!compound) {
    return;
  }
  const ParticipantStats* ours = mix->room->stats(participant);
  const uint32_t ourSsrc = ours != nullptr ? settings.ssrc : 0;
  auto takeBlocks = [&](const auto& report) {
    for (std::size_t i = 0; i < report.reportCount(); ++i) {
      const rtp::ReportBlock block = report.reportBlock(i);
      if (block.ssrc != ourSsrc) {
        continue;
      }
      quality.theirFractionLost = block.fractionLost;
      mix->room->lossReported(participant, block.fractionLost);  // FEC while they lose packets
      quality.theirCumulativeLost = block.cumulativeLost;
      quality.theirJitter = block.jitter;
      const uint32_t now =
          rtp::compactNtp(rtp::ntpFromSystemTime(std::chrono::system_clock::now()));
      if (auto rtt =
              rtp::roundTripTime(now, block.lastSenderReport, block.delaySinceLastSenderReport)) {
        quality.roundTripMicros =
            static_cast<uint32_t>(static_cast<uint64_t>(*rtt) * 1'000'000 / 65536);
      }
    }
  };
  for (const auto& view : *compound) {
    if (view.type == static_cast<uint8_t>(rtp::RtcpType::kSenderReport)) {
      if (auto sr = rtp::SenderReport::parse(view)) {
        if (auto& received = history.received; received && sr->ssrc() == received->ssrc()) {
          received->onSenderReport(sr->senderInfo().ntpTimestamp, Clock::now());
        }
        takeBlocks(*sr);
      }
    } else if (view.type == static_cast<uint8_t>(rtp::RtcpType::kReceiverReport)) {
      if (auto rr = rtp::ReceiverReport::parse(view)) {
        takeBlocks(*rr);
      }
    }
  }
}

Worker::Worker(int wake,
               std::chrono::milliseconds rtpTimeout,
               std::chrono::milliseconds rtcpInterval,
               bool useIoRing)
    : wake_(wake), rtpTimeout_(rtpTimeout), rtcpInterval_(rtcpInterval), useIoRing_(useIoRing) {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  timer_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  commandsReady_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_ < 0 || timer_ < 0 || commandsReady_ < 0) {
    throw std::runtime_error("mixer worker: cannot create epoll/timerfd/eventfd");
  }
  epoll_event timerEvent{};
  timerEvent.events = EPOLLIN;
  timerEvent.data.u64 = kTimerTag;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, timer_, &timerEvent);
  epoll_event commandEvent{};
  commandEvent.events = EPOLLIN;
  commandEvent.data.u64 = kCommandTag;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, commandsReady_, &commandEvent);
}

Worker::~Worker() {
  stop();
  legs_.clear();
  graveyard_.clear();
  mixes_.clear();
  for (int fd : {epoll_, timer_, commandsReady_}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

void Worker::start() {
  running_.store(true);
  thread_ = std::thread([this] { run(); });
}

void Worker::stop() {
  if (!running_.exchange(false)) {
    return;
  }
  signal(commandsReady_);
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool Worker::post(Command command) {
  auto boxed = std::make_unique<Command>(std::move(command));
  if (!commands_.push(boxed)) {
    return false;
  }
  signal(commandsReady_);
  return true;
}

void Worker::fault(EndpointId endpoint, MixId mix, const char* what) noexcept {
  faults_.fetch_add(1, std::memory_order_relaxed);
  WorkerEvent event = eventOf(WorkerEvent::Kind::kFault, endpoint, mix);
  std::strncpy(event.what.data(), what, event.what.size() - 1);
  emit(event);
}

void Worker::emit(const WorkerEvent& event) {
  WorkerEvent copy = event;
  if (events_.push(copy)) {
    signal(wake_);
  }
}

// What the ring reports: a datagram for a leg (its pointer; the low bit set for the RTCP socket
// without rtcp-mux), or the epoll set being readable.
struct Worker::RingHandler final : IoRing::Handler {
  RingHandler(Worker& w, const std::function<void()>& dueTicks) : worker(w), runDueTicks(dueTicks) {}
  void onDatagram(uint64_t tag,
                  std::span<uint8_t> data,
                  std::size_t length,
                  const sockaddr_storage& from,
                  bool truncated) override {
    if ((++since & 63U) == 0) {
      runDueTicks();  // a flood of datagrams never holds a tick back
    }
    Leg& leg = *reinterpret_cast<Leg*>(tag & ~uint64_t{1});
    if (leg.removed || !leg.endpoint) {
      return;
    }
    try {
      leg.endpoint->deliver(data, length, from, (tag & 1U) != 0, truncated, leg);
      worker.noteSources(leg);
    } catch (const std::exception& e) {
      worker.fault(leg.id, leg.mix->id, e.what());
      worker.failEndpoint(leg.id);
    } catch (...) {
      worker.fault(leg.id, leg.mix->id, "unknown exception");
      worker.failEndpoint(leg.id);
    }
  }
  void onReadable(uint64_t /*tag*/) override { epollReady = true; }
  void onSendFailed(uint64_t tag, int /*error*/) override {
    auto found = worker.legs_.find(tag);
    if (found != worker.legs_.end() && found->second->endpoint) {
      found->second->endpoint->countSendFailure();
    }
  }

  Worker& worker;
  const std::function<void()>& runDueTicks;
  bool epollReady = false;
  unsigned since = 0;
};

void Worker::run() {
  // Ticks at absolute times start + n * 20 ms: a late tick does not push the next one back.
  itimerspec spec{};
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  spec.it_value = now;
  spec.it_value.tv_nsec += 20'000'000;
  if (spec.it_value.tv_nsec >= 1'000'000'000) {
    spec.it_value.tv_nsec -= 1'000'000'000;
    ++spec.it_value.tv_sec;
  }
  spec.it_interval.tv_nsec = 20'000'000;
  ::timerfd_settime(timer_, TFD_TIMER_ABSTIME, &spec, nullptr);
  const auto start = Clock::time_point(std::chrono::seconds(spec.it_value.tv_sec) +
                                       std::chrono::nanoseconds(spec.it_value.tv_nsec));
  uint64_t scheduled = 0;  // ticks due so far
  auto& nextDue = nextTickDue_;
  nextDue = start;
  // The clock decides when a tick runs; the timer only wakes us. Checked between sockets too:
  // when a burst of packets lands just before a tick, the timer's event queues behind every
  // ready socket, and would otherwise wait for all of them to be read.
  const auto runDueTicks = [&] {
    const auto at = Clock::now();
    if (at < nextDue) {
      return;
    }
    const auto due = static_cast<uint64_t>((at - start) / kTick) + 1;
    const uint64_t run = std::min(due - scheduled, kMaxCatchUpTicks);
    scheduled = due;
    nextDue = start + kTick * scheduled;
    for (uint64_t t = 0; t < run; ++t) {
      lateness_.record(Clock::now() - (start + kTick * (scheduled - run + t)));
      tick();
    }
  };

  // io_uring where the kernel allows it: the legs' datagrams come from the ring, and the epoll
  // set (timer, commands, and any leg the ring could not take) is one more thing it watches.
  if (useIoRing_) {
    std::string why;
    ring_ = IoRing::create(kRingBuffers, why);
    if (ring_ && ring_->watchReadable(epoll_, kEpollTag)) {
      for (auto& [id, leg] : legs_) {  // legs added before the thread started
        unwatch(*leg);
        watch(*leg);
      }
    } else {
      ring_.reset();
      std::snprintf(ioRefused_.data(), ioRefused_.size(), "%s",
                    why.empty() ? "the ring cannot watch the thread's epoll set" : why.c_str());
    }
  }
  if (!useIoRing_) {
    std::snprintf(ioRefused_.data(), ioRefused_.size(), "%s", "turned off");
  }
  ioState_.store(ring_ != nullptr ? 1 : 2, std::memory_order_release);

  std::array<epoll_event, 64> ready{};
  // One epoll batch: the timer, commands and legs on epoll; returns how many events it took.
  const auto pollEpoll = [&](int timeoutMs) {
    const int n = ::epoll_wait(epoll_, ready.data(), static_cast<int>(ready.size()), timeoutMs);
    for (int i = 0; i < n; ++i) {
      runDueTicks();
      const uint64_t tag = ready[static_cast<std::size_t>(i)].data.u64;
      if (tag == kTimerTag) {
        drainCounter(timer_);
      } else if (tag == kCommandTag) {
        drainCounter(commandsReady_);
        while (auto command = commands_.pop()) {
          // A command that throws (an allocation, a codec refusing its settings) is reported and
          // the thread goes on: every other room on it keeps running (issue 10 item 9).
          try {
            (**command)(*this);
          } catch (const std::exception& e) {
            fault(0, 0, e.what());
          } catch (...) {
            fault(0, 0, "unknown exception");
          }
        }
      } else {
        drain(*reinterpret_cast<Leg*>(tag));
      }
    }
    return std::max(n, 0);
  };
  const std::function<void()> dueTicks = runDueTicks;  // made once, before the loop
  RingHandler handler{*this, dueTicks};
  while (running_.load(std::memory_order_relaxed)) {
    std::size_t taken = 0;
    if (ring_) {
      handler.epollReady = false;
      taken = ring_->wait(backlog_.empty() ? std::chrono::nanoseconds(std::chrono::milliseconds(100))
                                           : std::chrono::nanoseconds(0),
                          handler);
      if (handler.epollReady) {
        taken += static_cast<std::size_t>(pollEpoll(0));
      }
      runDueTicks();
    } else {
      taken = static_cast<std::size_t>(pollEpoll(backlog_.empty() ? 100 : 0));
    }
    draining_.swap(backlog_);
    for (Leg* leg : draining_) {
      runDueTicks();
      leg->inBacklog = false;
      drain(*leg);
    }
    draining_.clear();
    // Only now is no event of this batch left that could point at a removed leg.
    graveyard_.clear();
    if (endedPlaybacks_) {
      freeEndedPlaybacks();
    }
    // Packets are only mixed at the tick, so reading them as they trickle in buys nothing but
    // wake-ups: with hundreds of sockets a wake-up per few packets costs more than the reads.
    // Between batches we rest up to kReadPause (never past the next tick), and take what came
    // in one wait. Arrival times (RFC 3550 jitter) are then known to within kReadPause.
    // The last kReadPause before a tick is left to the wait and the timer: measured, sleeping
    // right up to the tick made it start late by milliseconds now and then (p99.9 lateness).
    // (The ring hands out everything that has come in one wait: after it the thread may always
    // rest. An epoll batch that filled 'ready' may have left sockets unread.)
    if (ring_) {
      ring_->flush();  // nothing sent outside a tick is left queued
    }
    if ((ring_ || taken < ready.size()) && backlog_.empty()) {
      const auto until = std::min(Clock::now() + kReadPause, nextDue - kReadPause);
      if (until > Clock::now()) {
        std::this_thread::sleep_until(until);
      }
    }
  }
  if (ring_) {
    for (auto& [id, leg] : legs_) {
      unwatch(*leg);  // the ring goes with the thread; the legs may go on elsewhere
    }
    ring_.reset();
  }
}

void Worker::drain(Leg& leg) {
  if (leg.removed || !leg.endpoint) {
    return;
  }
  // What throws while taking one leg's packets ends that leg, not the thread.
  try {
    drainLeg(leg);
  } catch (const std::exception& e) {
    fault(leg.id, leg.mix->id, e.what());
    failEndpoint(leg.id);
  } catch (...) {
    fault(leg.id, leg.mix->id, "unknown exception");
    failEndpoint(leg.id);
  }
}

void Worker::drainLeg(Leg& leg) {
  leg.endpoint->drainRtp(leg, batch_);
  if (!leg.endpoint->rtcpMux()) {
    leg.endpoint->drainRtcp(leg, batch_);
  }
  noteSources(leg);
}

void Worker::noteSources(Leg& leg) {
  if (!leg.endpoint) {
    return;
  }
  if (auto note = leg.endpoint->takeSourceNote()) {
    // Latches always reach the log; refused sources at most once a second per call (an attacker
    // spraying the port must not flood the log, the counters keep the rest).
    const bool latch = note->kind == SourceNote::Kind::kLatched;
    if (latch || tickCount_ >= leg.history.lastRefusedNoteTick + kTicksPerSecond ||
        leg.history.lastRefusedNoteTick == 0) {
      if (!latch) {
        leg.history.lastRefusedNoteTick = std::max<uint64_t>(tickCount_, 1);
      }
      WorkerEvent event = eventOf(WorkerEvent::Kind::kSource, leg.id, leg.mix->id);
      event.source = *note;
      event.source.refused =
          note->refused - leg.history.refusedReported;  // since the last note sent
      leg.history.refusedReported = note->refused;
      emit(event);
    }
  }
  if (leg.endpoint->takeBacklog() && !leg.inBacklog) {
    leg.inBacklog = true;
    backlog_.push_back(&leg);
  }
}

void Worker::tick() {
  ++tickCount_;
  for (auto& [id, mix] : mixes_) {
    try {
      mix->room->tick();
      mix->checkPlayback();
    } catch (const std::exception& e) {
      fault(0, id, e.what());  // this mix loses a tick; the others do not
    } catch (...) {
      fault(0, id, "unknown exception");
    }
  }
  if (tickCount_ % 50 == 0) {
    checkTimeouts(Clock::now());
    publishStats();
  }
  for (auto& [id, leg] : legs_) {
    if (tickCount_ >= leg->nextReportTick) {
      sendReport(*leg);
    }
  }
  if (ring_) {
    ring_->flush();  // the tick's packets and reports, in one system call
    ringSends_.store(ring_->counters().sent, std::memory_order_relaxed);
  }
  timespec cpu{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
  cpuNanos_.store(
      static_cast<uint64_t>(cpu.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(cpu.tv_nsec),
      std::memory_order_relaxed);
  ticksDone_.store(tickCount_, std::memory_order_relaxed);
}

void Worker::sendReport(Leg& leg) {
  // RFC 3550 §6.2: reports at a fixed interval, spread by a random-ish offset per participant.
  const auto interval = std::max<uint64_t>(1, static_cast<uint64_t>(rtcpInterval_ / kTick));
  leg.nextReportTick = tickCount_ + interval / 2 + (leg.id * 7919u) % interval;
  const ParticipantStats* stats = leg.mix->room->stats(leg.participant);
  if (stats == nullptr || !leg.endpoint || !leg.sending) {
    return;
  }
  std::array<rtp::ReportBlock, 1> blocks{};
  std::size_t count = 0;
  if (leg.history.received && leg.history.received->valid()) {
    blocks[0] = leg.history.received->makeReportBlock(Clock::now());
    leg.quality.ourFractionLost = blocks[0].fractionLost;
    leg.quality.ourJitter = blocks[0].jitter;
    count = 1;
  }
  rtp::SenderInfo info;
  info.ntpTimestamp = rtp::ntpFromSystemTime(std::chrono::system_clock::now());
  info.rtpTimestamp = stats->lastTimestampSent;
  info.packetCount = static_cast<uint32_t>(stats->packetsSent);
  info.octetCount = static_cast<uint32_t>(stats->octetsSent);
  // A CNAME per endpoint (RFC 7022 allows a random one): stable for the call.
  std::array<char, 24> cname{};
  const int length = std::snprintf(cname.data(), cname.size(), "confab-%llx",
                                   static_cast<unsigned long long>(leg.id));
  std::array<uint8_t, 256> buffer{};
  const std::size_t size = rtp::writeSenderReportCompound(
      buffer, leg.settings.ssrc, info, std::span<const rtp::ReportBlock>(blocks).first(count),
      std::string_view(cname.data(), static_cast<std::size_t>(std::max(0, length))));
  if (size > 0) {
    leg.endpoint->sendRtcp(buffer, size);
  }
}

void Worker::publishStats() {
  // Snapshots for the signalling side (API, logs), once a second: copied into fixed-size events,
  // so nothing here allocates; when the queue is full the newest are dropped, stats being only
  // as good as their last refresh anyway.
  bool pushed = false;
  for (auto& [id, leg] : legs_) {
    WorkerEvent event = eventOf(WorkerEvent::Kind::kEndpointStats, id, leg->mix->id);
    MediaStats& m = event.media;
    const ParticipantStats& was = leg->history.carried;
    if (const ParticipantStats* room = leg->mix->room->stats(leg->participant)) {
      m.packetsReceived = was.packetsReceived + room->packetsReceived;
      m.packetsLate = was.packetsLate + room->packetsLate;
      m.packetsDuplicate = was.packetsDuplicate + room->packetsDuplicate;
      m.packetsMalformed = was.packetsMalformed + room->packetsMalformed;
      m.packetsRefused = was.packetsForeignSsrc + room->packetsForeignSsrc;
      m.framesDecoded = was.framesDecoded + room->framesDecoded;
      m.framesConcealed = was.framesConcealed + was.framesRecoveredFec + room->framesConcealed +
                          room->framesRecoveredFec;
      m.packetsSent = was.packetsSent + room->packetsSent;
      m.talking = room->talking;
    }
    m.packetsRefused += leg->history.refusedBySequence + leg->history.refusedBySsrc;
    if (leg->endpoint) {
      // The endpoint's counters carry over a re-INVITE themselves (MediaEndpoint::create).
      const EndpointStats& net = leg->endpoint->stats();
      m.packetsMalformed += net.droppedMalformed;
      m.packetsUnauthenticated = net.droppedSrtp;
      m.packetsRefused += net.droppedForeignSource + net.refusedSource;
      m.packetsNotMedia = net.droppedNotRtp;
    }
    m.packetsDropped =
        m.packetsLate + m.packetsDuplicate + m.packetsMalformed + m.packetsUnauthenticated;
    event.media.quality = leg->quality;
    pushed = stats_.push(event) || pushed;
  }
  for (auto& [id, mix] : mixes_) {
    WorkerEvent event = eventOf(WorkerEvent::Kind::kMixStats, 0, id);
    event.mixStats.participants = mix->room->size();
    event.mixStats.encodesLastTick = mix->room->encodesLastTick();
    event.mixStats.playbackUnderruns =
        mix->pastUnderruns + (mix->playback ? mix->playback->underruns() : 0);
    event.mixStats.recordingDrops = mix->pastDrops + (mix->recording ? mix->recording->drops() : 0);
    pushed = stats_.push(event) || pushed;
  }
  if (pushed) {
    signal(wake_);
  }
}

void Worker::checkTimeouts(Clock::time_point) {
  const auto limit = static_cast<uint64_t>(rtpTimeout_ / kTick);
  for (auto& [id, leg] : legs_) {
    if (!leg->receiving) {
      leg->lastRtpTick = tickCount_;  // on hold: silence is expected
      continue;
    }
    if (!leg->timedOut && limit > 0 && tickCount_ - leg->lastRtpTick > limit) {
      leg->timedOut = true;
      emit(eventOf(WorkerEvent::Kind::kRtpTimeout, id));
    }
  }
}

void Worker::addMix(MixId id, const RoomSettings& settings) {
  mixes_.emplace(id, std::make_unique<Mix>(*this, id, settings));
  mixCount_.store(mixes_.size(), std::memory_order_relaxed);
}

void Worker::removeMix(MixId id) {
  auto found = mixes_.find(id);
  if (found == mixes_.end()) {
    return;
  }
  for (auto it = legs_.begin(); it != legs_.end();) {
    if (it->second->mix == found->second.get()) {
      const EndpointId legId = it->first;
      ++it;
      removeLeg(legId);
    } else {
      ++it;
    }
  }
  found->second->endPlayback(MediaFileEnd::kStopped);
  mixes_.erase(found);  // a recording feed goes with it: the file is completed
  mixCount_.store(mixes_.size(), std::memory_order_relaxed);
}

void Worker::watch(Leg& leg) {
  if (ring_) {
    const auto tag = reinterpret_cast<uint64_t>(&leg);
    const bool separateRtcp = leg.endpoint->rtcpFd() >= 0 && !leg.endpoint->rtcpMux();
    if (ring_->watch(leg.endpoint->rtpFd(), tag) &&
        (!separateRtcp || ring_->watch(leg.endpoint->rtcpFd(), tag | 1U))) {
      leg.endpoint->setOutbox(ring_.get(), leg.id);  // its sends go out with the tick's others
      return;
    }
    ring_->unwatch(leg.endpoint->rtpFd());  // the ring would not take it: epoll then
  }
  epoll_event event{};
  // Edge-triggered: a drained socket is not polled again until a packet arrives (level-triggered
  // epoll polls every socket it reported once more on the next wait).
  event.events = EPOLLIN | EPOLLET;
  event.data.u64 = reinterpret_cast<uint64_t>(&leg);
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, leg.endpoint->rtpFd(), &event);
  if (leg.endpoint->rtcpFd() >= 0 && !leg.endpoint->rtcpMux()) {
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, leg.endpoint->rtcpFd(), &event);
  }
}

void Worker::unwatch(Leg& leg) {
  if (!leg.endpoint) {
    return;
  }
  if (ring_) {
    ring_->flush();  // no queued send outlives the socket it names (its number may come back)
  }
  leg.endpoint->setOutbox(nullptr, 0);
  for (const int fd : {leg.endpoint->rtpFd(), leg.endpoint->rtcpFd()}) {
    if (fd < 0) {
      continue;
    }
    if (ring_) {
      ring_->unwatch(fd);
    }
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
  }
}

bool Worker::addLeg(EndpointId id,
                    MixId mixId,
                    MediaEndpoint endpoint,
                    const ParticipantSettings& settings,
                    bool sending,
                    bool receiving,
                    std::optional<Room::SendState> continueFrom) {
  auto mix = mixes_.find(mixId);
  if (mix == mixes_.end() || legs_.count(id) != 0) {
    return false;
  }
  auto leg = std::make_unique<Leg>();
  leg->worker = this;
  leg->id = id;
  leg->mix = mix->second.get();
  leg->participant = mix->second->room->add(settings, continueFrom);
  mix->second->room->setListening(leg->participant, sending);
  leg->endpoint.emplace(std::move(endpoint));
  leg->sending = sending;
  leg->receiving = receiving;
  leg->settings = settings;
  leg->clockRate = static_cast<uint32_t>(rtpClockRate(settings.codec));
  leg->nextReportTick = tickCount_ + 1 + id % 50;
  leg->lastRtpTick = tickCount_;
  mix->second->byParticipant[leg->participant] = leg.get();
  watch(*leg);
  legs_.emplace(id, std::move(leg));
  legCount_.store(legs_.size(), std::memory_order_relaxed);
  backlog_.reserve(legs_.size() + graveyard_.size());
  draining_.reserve(legs_.size() + graveyard_.size());
  return true;
}

void Worker::removeLeg(EndpointId id) {
  auto found = legs_.find(id);
  if (found == legs_.end()) {
    return;
  }
  Leg& leg = *found->second;
  unwatch(leg);
  leg.mix->room->remove(leg.participant);
  leg.mix->byParticipant.erase(leg.participant);
  leg.removed = true;
  graveyard_.push_back(std::move(found->second));  // sockets close when the batch is done
  legs_.erase(found);
  legCount_.store(legs_.size(), std::memory_order_relaxed);
}

bool Worker::updateLeg(EndpointId id,
                       const EndpointSettings& endpointSettings,
                       const ParticipantSettings& settings,
                       bool sending,
                       bool receiving) {
  auto found = legs_.find(id);
  if (found == legs_.end() || !found->second->endpoint) {
    return false;
  }
  Leg& leg = *found->second;
  unwatch(leg);
  auto [rtpFd, rtcpFd] = leg.endpoint->releaseSockets();
  // One continuous stream towards them across the re-INVITE: the SRTP contexts go over to the new
  // endpoint while the key is the same (MediaEndpoint::create), and under the same SSRC the
  // sequence number and timestamp go on from where they are. Restarting either under the same
  // master key would encrypt new audio with keystream already sent (RFC 3711 §9.1), and a
  // restarted sequence makes receivers drop the audio as old (RFC 3550 §5.1).
  auto endpoint = MediaEndpoint::create(rtpFd, rtcpFd, endpointSettings, &*leg.endpoint);
  leg.endpoint.reset();
  Mix* mix = leg.mix;
  // The same codec: the participant is updated in place, and the receive side goes on as it was
  // (jitter buffer, decoder, RFC 3550 A.1 state, counters) along with the send side.
  if (endpoint && mix->room->update(leg.participant, settings)) {
    leg.endpoint.emplace(std::move(*endpoint));
    leg.settings = settings;
    leg.sending = sending;
    leg.receiving = receiving;
    mix->room->setListening(leg.participant, sending);
    leg.lastRtpTick = tickCount_;
    leg.timedOut = false;
    watch(leg);
    return true;
  }
  // Under a new SSRC too (see Room::update): an SSRC that comes back must not repeat indices.
  LegParcel parcel = takeLeg(leg);
  if (!endpoint) {
    return false;
  }
  parcel.endpoint.emplace(std::move(*endpoint));
  parcel.settings = settings;
  parcel.sending = sending;
  parcel.receiving = receiving;
  return attachLeg(id, mix->id, std::move(parcel));
}

LegParcel Worker::takeLeg(Leg& leg) {
  LegParcel parcel;
  Room& room = *leg.mix->room;
  parcel.continueFrom = room.sendState(leg.participant);
  parcel.dtmf = room.dtmfState(leg.participant);
  // The receive side goes on too: RFC 3550 A.1 state (no new probation, the same timeline) while
  // the clock rate is the same, and the counters the API shows.
  parcel.history = std::move(leg.history);
  if (const ParticipantStats* stats = room.stats(leg.participant)) {
    ParticipantStats& c = parcel.history.carried;
    c.packetsReceived += stats->packetsReceived;
    c.packetsLate += stats->packetsLate;
    c.packetsDuplicate += stats->packetsDuplicate;
    c.packetsMalformed += stats->packetsMalformed;
    c.packetsForeignSsrc += stats->packetsForeignSsrc;
    c.framesDecoded += stats->framesDecoded;
    c.framesConcealed += stats->framesConcealed;
    c.framesRecoveredFec += stats->framesRecoveredFec;
    c.packetsSent += stats->packetsSent;
  }
  if (leg.endpoint) {
    unwatch(leg);
    parcel.endpoint.emplace(std::move(*leg.endpoint));
    leg.endpoint.reset();
  }
  parcel.settings = leg.settings;
  parcel.clockRate = leg.clockRate;
  parcel.sending = leg.sending;
  parcel.receiving = leg.receiving;
  room.remove(leg.participant);
  leg.mix->byParticipant.erase(leg.participant);
  leg.removed = true;
  const EndpointId id = leg.id;
  auto found = legs_.find(id);
  graveyard_.push_back(std::move(found->second));  // an event of this batch may still name it
  legs_.erase(found);
  legCount_.store(legs_.size(), std::memory_order_relaxed);
  return parcel;
}

bool Worker::attachLeg(EndpointId id, MixId mix, LegParcel&& parcel) {
  if (!parcel.endpoint) {
    return false;
  }
  if (!addLeg(id, mix, std::move(*parcel.endpoint), parcel.settings, parcel.sending,
              parcel.receiving, parcel.continueFrom)) {
    return false;
  }
  Leg& leg = *legs_.at(id);
  if (parcel.dtmf) {
    leg.mix->room->restoreDtmf(leg.participant, *parcel.dtmf);
  }
  leg.history = std::move(parcel.history);
  if (parcel.clockRate != leg.clockRate) {
    leg.history.received.reset();  // another codec's clock: a new timeline
  }
  return true;
}

bool Worker::moveLeg(EndpointId id, MixId to) {
  auto found = legs_.find(id);
  if (found == legs_.end() || mixes_.count(to) == 0) {
    return false;
  }
  if (found->second->mix->id == to) {
    return true;
  }
  return attachLeg(id, to, takeLeg(*found->second));
}

bool Worker::detachLeg(EndpointId id, LegParcel& parcel) {
  auto found = legs_.find(id);
  const bool there = found != legs_.end();
  if (there) {
    parcel = takeLeg(*found->second);
  }
  // Said either way: the control side holds the leg's commands until it hears.
  emit(eventOf(WorkerEvent::Kind::kLegDetached, id));
  return there;
}

void Worker::failEndpoint(EndpointId id) {
  removeLeg(id);
  emit(eventOf(WorkerEvent::Kind::kEndpointFailed, id));
}

void Worker::withLeg(EndpointId id, const std::function<void(Room&, ParticipantId)>& action) {
  auto found = legs_.find(id);
  if (found != legs_.end()) {
    action(*found->second->mix->room, found->second->participant);
  }
}

void Worker::play(MixId id, uint64_t file, std::shared_ptr<PlaybackFeed> feed) {
  auto found = mixes_.find(id);
  if (found == mixes_.end()) {
    return;  // the feed's last owner lets go: the reader stops
  }
  Mix& mix = *found->second;
  mix.endPlayback(MediaFileEnd::kStopped);
  mix.playback = std::move(feed);
  mix.playbackFile = file;
  mix.playbackReported = false;
  mix.room->setPlaybackSource(mix.playback.get());
}

void Worker::stopPlaying(MixId id) {
  if (auto found = mixes_.find(id); found != mixes_.end()) {
    found->second->endPlayback(MediaFileEnd::kStopped);
  }
}

void Worker::record(MixId id, std::shared_ptr<RecordingFeed> feed) {
  auto found = mixes_.find(id);
  if (found == mixes_.end()) {
    return;
  }
  Mix& mix = *found->second;
  mix.endRecording();  // a replaced recording is completed
  mix.room->setRecordingTap(feed.get());
  mix.recording = std::move(feed);
}

void Worker::stopRecording(MixId id) {
  if (auto found = mixes_.find(id); found != mixes_.end()) {
    found->second->endRecording();
  }
}

void Worker::freeEndedPlaybacks() {
  endedPlaybacks_ = false;
  for (auto& [id, mix] : mixes_) {
    if (mix->playbackReported) {
      mix->endPlayback(MediaFileEnd::kFinished);  // already reported: only frees
    }
  }
}

std::optional<MixStats> Worker::mixStats(MixId id) const {
  auto found = mixes_.find(id);
  if (found == mixes_.end()) {
    return std::nullopt;
  }
  return MixStats{found->second->room->size(), found->second->room->encodesLastTick()};
}

}  // namespace confab::mixer
