#include "mixer/engine/InProcessMixer.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "mixer/media/Playback.hpp"
#include "mixer/media/Recording.hpp"

namespace confab::mixer {

InProcessMixer::InProcessMixer(MixerSettings settings)
    : settings_(settings), ports_(portIo_, settings_.bindAddress, settings_.ports) {
  eventFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (eventFd_ < 0) {
    throw std::runtime_error("mixer: cannot create its event descriptor");
  }
  mediaFiles_ = std::make_unique<MediaFileThread>(eventFd_);
  const unsigned threads = settings_.threads != 0
                               ? settings_.threads
                               : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) {
    workers_.push_back(
        std::make_unique<Worker>(eventFd_, settings_.rtpTimeout, settings_.rtcpInterval,
                                 settings_.ioUring));
    workers_.back()->start();
  }
}

InProcessMixer::~InProcessMixer() {
  for (auto& w : workers_) {
    w->stop();
  }
  workers_.clear();
  // Only now that nothing feeds them: open recordings are completed, playable files.
  mediaFiles_->stop();
  for (auto& [id, pending] : reserved_) {
    ::close(pending.rtpFd);
    ::close(pending.rtcpFd);
  }
  ::close(eventFd_);
}

MixId InProcessMixer::createMix(const RoomSettings& settings) {
  // Whole rooms to the least loaded thread.
  Worker* worker =
      std::min_element(workers_.begin(), workers_.end(), [](const auto& a, const auto& b) {
        return a->mixCount() < b->mixCount();
      })->get();
  const MixId id = nextMix_++;
  mixes_[id] = worker;
  mixStats_[id] = MixStats{};
  worker->post([id, settings](Worker& w) { w.addMix(id, settings); });
  return id;
}

void InProcessMixer::destroyMix(MixId mix) {
  auto found = mixes_.find(mix);
  if (found == mixes_.end()) {
    return;
  }
  found->second->post([mix](Worker& w) { w.removeMix(mix); });
  // Only this mix's participants: the worker may run other mixes too.
  for (auto it = joined_.begin(); it != joined_.end();) {
    if (it->second.mix == mix) {
      endpointStats_.erase(it->first);
      it = joined_.erase(it);
    } else {
      ++it;
    }
  }
  mixStats_.erase(mix);
  files_.erase(mix);
  mixes_.erase(found);
}

std::optional<Reservation> InProcessMixer::reserve() {
  auto ports = ports_.allocate();
  if (!ports) {
    return std::nullopt;
  }
  const uint16_t port = ports->rtpPort();
  const EndpointId id = nextEndpoint_++;
  reserved_[id] = Pending{ports->rtp.release(), ports->rtcp.release()};
  return Reservation{id, port, {}};
}

bool InProcessMixer::join(EndpointId endpoint, MixId mix, const MediaParams& params) {
  auto pending = reserved_.find(endpoint);
  auto worker = mixes_.find(mix);
  if (pending == reserved_.end() || worker == mixes_.end()) {
    return false;
  }
  auto created =
      MediaEndpoint::create(pending->second.rtpFd, pending->second.rtcpFd, params.endpoint);
  reserved_.erase(pending);  // the endpoint (or its failed creation) owns the sockets now
  if (!created) {
    return false;
  }
  auto shared = std::make_shared<MediaEndpoint>(std::move(*created));
  const ParticipantSettings participant = params.participant;
  const bool sending = params.sending;
  const bool receiving = params.receiving;
  if (!worker->second->post([endpoint, mix, shared, participant, sending, receiving](Worker& w) {
        // Fails when the mix went away meanwhile, throws when the room refuses the settings.
        w.forLeg(endpoint, mix, [&] {
          return w.addLeg(endpoint, mix, std::move(*shared), participant, sending, receiving);
        });
      })) {
    return false;
  }
  joined_[endpoint] = Joined{worker->second, mix};
  endpointStats_[endpoint] = MediaStats{};
  return true;
}

bool InProcessMixer::update(EndpointId endpoint, const MediaParams& params) {
  Worker* worker = workerOf(endpoint);
  if (worker == nullptr) {
    return false;
  }
  // Keys the SRTP library refuses would leave the leg without media on the mixer thread: they are
  // tried here first, so the re-INVITE is refused and the call goes on as it was.
  if (const auto& keys = params.endpoint.srtp;
      keys &&
      (!srtp::Session::create(keys->suite, srtp::Direction::kInbound, keys->remoteKeySalt) ||
       !srtp::Session::create(keys->suite, srtp::Direction::kOutbound, keys->localKeySalt))) {
    return false;
  }
  return postFor(endpoint, [endpoint, params](Worker& w) {
    w.forLeg(endpoint, 0, [&] {
      return w.updateLeg(endpoint, params.endpoint, params.participant, params.sending,
                         params.receiving);
    });
  });
}

bool InProcessMixer::move(EndpointId endpoint, MixId mix) {
  auto joined = joined_.find(endpoint);
  auto target = mixes_.find(mix);
  if (joined == joined_.end() || target == mixes_.end()) {
    return false;
  }
  if (joined->second.mix == mix) {
    return true;
  }
  Worker* from = joined->second.worker;
  Worker* to = target->second;
  if (auto moving = moving_.find(endpoint); moving != moving_.end()) {
    // Still on its way: the parcel goes straight to the new destination, and the commands held
    // for it (all about the endpoint, none about a mix) apply there.
    moving->second.to = to;
    moving->second.mix = mix;
    joined->second = Joined{to, mix};
    return true;
  }
  if (from == to) {
    if (!from->post([endpoint, mix](Worker& w) {
          w.forLeg(endpoint, mix, [&] { return w.moveLeg(endpoint, mix); });
        })) {
      return false;
    }
    joined->second.mix = mix;
    return true;
  }
  auto parcel = std::make_shared<LegParcel>();
  if (!from->post([endpoint, parcel](Worker& w) { w.detachLeg(endpoint, *parcel); })) {
    return false;
  }
  moving_[endpoint] = Moving{to, mix, std::move(parcel), {}};
  joined->second = Joined{to, mix};
  return true;
}

bool InProcessMixer::postFor(EndpointId endpoint, Worker::Command command) {
  if (auto moving = moving_.find(endpoint); moving != moving_.end()) {
    moving->second.held.push_back(std::move(command));
    return true;
  }
  Worker* worker = workerOf(endpoint);
  return worker != nullptr && worker->post(std::move(command));
}

void InProcessMixer::finishMove(EndpointId endpoint) {
  auto found = moving_.find(endpoint);
  if (found == moving_.end()) {
    return;
  }
  Moving moving = std::move(found->second);
  moving_.erase(found);
  // An empty parcel: the leg had gone already (a failure the old thread reported).
  if (moving.parcel->endpoint) {
    moving.to->post([endpoint, mix = moving.mix, parcel = moving.parcel](Worker& w) {
      w.forLeg(endpoint, mix, [&] { return w.attachLeg(endpoint, mix, std::move(*parcel)); });
    });
  }
  for (auto& command : moving.held) {
    moving.to->post(std::move(command));
  }
}

void InProcessMixer::release(EndpointId endpoint) {
  if (auto pending = reserved_.find(endpoint); pending != reserved_.end()) {
    ::close(pending->second.rtpFd);
    ::close(pending->second.rtcpFd);
    reserved_.erase(pending);
    return;
  }
  if (workerOf(endpoint) != nullptr) {
    postFor(endpoint, [endpoint](Worker& w) { w.removeLeg(endpoint); });
    joined_.erase(endpoint);
    endpointStats_.erase(endpoint);
  }
}

Worker* InProcessMixer::workerOf(EndpointId endpoint) {
  auto found = joined_.find(endpoint);
  return found == joined_.end() ? nullptr : found->second.worker;
}

void InProcessMixer::setControls(EndpointId endpoint, const Controls& controls) {
  // The struct travels by value in the command: the mixer thread copies it into the room between
  // ticks, allocating nothing and sharing nothing with this thread.
  postFor(endpoint, [endpoint, controls](Worker& w) {
    w.withLeg(endpoint,
              [&controls](Room& room, ParticipantId p) { room.setControls(p, controls); });
  });
}

void InProcessMixer::deliverEvents(MixerEvents& events) {
  uint64_t ignored = 0;
  [[maybe_unused]] const auto n = ::read(eventFd_, &ignored, sizeof(ignored));
  for (auto& worker : workers_) {
    while (auto event = worker->popStats()) {
      // Snapshots of what is already gone are dropped, not resurrected.
      if (event->kind == WorkerEvent::Kind::kEndpointStats) {
        if (auto found = endpointStats_.find(event->endpoint); found != endpointStats_.end()) {
          found->second = event->media;
        }
      } else if (auto found = mixStats_.find(event->mix); found != mixStats_.end()) {
        found->second = event->mixStats;
      }
    }
    while (auto event = worker->popEvent()) {
      switch (event->kind) {
        case WorkerEvent::Kind::kDtmf:
          events.onDtmf(event->endpoint, event->digit);
          break;
        case WorkerEvent::Kind::kRtpTimeout:
          events.onRtpTimeout(event->endpoint);
          break;
        case WorkerEvent::Kind::kTalking:
          if (auto found = endpointStats_.find(event->endpoint); found != endpointStats_.end()) {
            found->second.talking = event->talking;
          }
          events.onTalking(event->endpoint, event->talking);
          break;
        case WorkerEvent::Kind::kPlaybackEnded:
          if (auto found = files_.find(event->mix);
              found != files_.end() && found->second.playback == event->file) {
            found->second.playback = 0;
          }
          events.onPlaybackEnded(event->mix, event->how);
          break;
        case WorkerEvent::Kind::kFault:
          events.onMixerFault(
              event->endpoint, event->mix,
              std::string(event->what.data(), ::strnlen(event->what.data(), event->what.size())));
          break;
        case WorkerEvent::Kind::kEndpointFailed:
          if (joined_.erase(event->endpoint) != 0) {
            endpointStats_.erase(event->endpoint);
            events.onEndpointFailed(event->endpoint);
          }
          break;
        case WorkerEvent::Kind::kSource:
          if (endpointStats_.count(event->endpoint) != 0) {
            events.onMediaSource(
                event->endpoint,
                MediaSourceEvent{event->source.kind == SourceNote::Kind::kLatched,
                                 addressText(event->source.address), event->source.refused});
          }
          break;
        case WorkerEvent::Kind::kLegDetached:
          finishMove(event->endpoint);
          break;
        case WorkerEvent::Kind::kEndpointStats:
        case WorkerEvent::Kind::kMixStats:
          break;  // only on the stats queue
      }
    }
  }
  while (auto ended = mediaFiles_->popEvent()) {
    if (auto found = files_.find(ended->mix);
        found != files_.end() && found->second.recording == ended->id) {
      found->second.recording = 0;
    }
    events.onRecordingEnded(ended->mix, ended->how);
  }
}

bool InProcessMixer::startRecording(MixId mix, const std::string& path, RecordingFormat format) {
  auto worker = mixes_.find(mix);
  if (worker == mixes_.end() || files_[mix].recording != 0) {
    return false;
  }
  // Created here, so a bad path is refused now rather than reported later.
  FilePtr file = createRecordingFile(path);
  if (!file) {
    return false;
  }
  auto channel = std::make_shared<RecordingChannel>();
  auto feed = std::make_shared<RecordingFeed>(channel);
  if (!worker->second->post([mix, feed](Worker& w) { w.record(mix, feed); })) {
    return false;
  }
  const uint64_t id = nextFile_++;
  mediaFiles_->record(std::make_unique<Recorder>(mix, id, format, std::move(file), channel));
  files_[mix].recording = id;
  return true;
}

void InProcessMixer::stopRecording(MixId mix) {
  auto worker = mixes_.find(mix);
  if (worker == mixes_.end() || files_[mix].recording == 0) {
    return;
  }
  // Once the mixer thread lets go of the feed, the file thread completes the file and
  // onRecordingEnded(kStopped) follows.
  worker->second->post([mix](Worker& w) { w.stopRecording(mix); });
  files_[mix].recording = 0;
}

bool InProcessMixer::play(MixId mix, const std::string& path) {
  auto worker = mixes_.find(mix);
  if (worker == mixes_.end()) {
    return false;
  }
  // Opened and its header checked here: a missing or unsupported file is refused at once.
  auto file = openForPlayback(path);
  if (!file) {
    return false;
  }
  auto channel = std::make_shared<PlaybackChannel>();
  auto feed = std::make_shared<PlaybackFeed>(channel);
  const uint64_t id = nextFile_++;
  if (!worker->second->post([mix, id, feed](Worker& w) { w.play(mix, id, feed); })) {
    return false;
  }
  mediaFiles_->play(std::make_unique<PlaybackReader>(std::move(file), channel));
  files_[mix].playback = id;
  return true;
}

void InProcessMixer::stopPlaying(MixId mix) {
  auto worker = mixes_.find(mix);
  if (worker == mixes_.end() || files_[mix].playback == 0) {
    return;
  }
  // The mixer thread reports onPlaybackEnded(kStopped), unless it finished first.
  worker->second->post([mix](Worker& w) { w.stopPlaying(mix); });
  files_[mix].playback = 0;
}

std::optional<MixStats> InProcessMixer::mixStats(MixId mix) const {
  auto found = mixStats_.find(mix);
  if (found == mixStats_.end()) {
    return std::nullopt;
  }
  // The worker's snapshot, with what runs now (the snapshot may predate a start or stop).
  MixStats stats = found->second;
  if (auto files = files_.find(mix); files != files_.end()) {
    stats.recording = files->second.recording != 0;
    stats.playing = files->second.playback != 0;
  }
  return stats;
}

std::optional<MediaStats> InProcessMixer::endpointStats(EndpointId endpoint) const {
  auto found = endpointStats_.find(endpoint);
  return found == endpointStats_.end() ? std::nullopt : std::optional<MediaStats>(found->second);
}

std::vector<EngineThreadStats> InProcessMixer::engineStats() const {
  std::vector<EngineThreadStats> out;
  for (const auto& w : workers_) {
    EngineThreadStats s;
    s.ticks = w->tickCount();
    s.latenessP50Micros = w->lateness().percentileMicros(0.5);
    s.latenessP99Micros = w->lateness().percentileMicros(0.99);
    s.latenessP999Micros = w->lateness().percentileMicros(0.999);
    s.cpuSeconds = std::chrono::duration<double>(w->cpuTime()).count();
    s.mixes = w->mixCount();
    s.participants = w->legCount();
    s.faults = w->faults();
    out.push_back(s);
  }
  return out;
}

std::string InProcessMixer::ioPath() const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (const auto& worker : workers_) {
    while (!worker->ioChosen() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!worker->usingIoRing()) {
      const std::string why = worker->ioRingRefused();
      return "epoll (io_uring: " + (why.empty() ? std::string("not started") : why) + ")";
    }
  }
  return "io_uring";
}

}  // namespace confab::mixer
