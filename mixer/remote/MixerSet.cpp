#include "mixer/remote/MixerSet.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace confab::mixer::remote {

namespace {

// A mixer that has not answered its stats for this long takes no new rooms. RemoteMixer's own
// ready() already drops at once on a lost connection; this covers a hung one.
constexpr auto kHeartbeatTimeout = std::chrono::seconds(3);
// Destroyed mixes whose late events are still passed up: far more than are ever ending at once.
constexpr std::size_t kRetiredMixes = 4096;

}  // namespace

// An inner mixer's events, passed up with its ids mapped to ours; an id we do not know (released
// meanwhile) is dropped, as the single mixers drop events of released endpoints.
class MixerSet::Translator final : public MixerEvents {
 public:
  Translator(MixerSet& set, std::size_t mixer, MixerEvents& up)
      : set_(set), mixer_(mixer), up_(up) {}

  void onDtmf(EndpointId endpoint, char digit) override {
    if (auto id = endpoint_(endpoint)) {
      up_.onDtmf(*id, digit);
    }
  }
  void onRtpTimeout(EndpointId endpoint) override {
    if (auto id = endpoint_(endpoint)) {
      up_.onRtpTimeout(*id);
    }
  }
  void onEndpointFailed(EndpointId endpoint) override {
    if (auto id = endpoint_(endpoint); id && !set_.failOver(*id, up_)) {
      up_.onEndpointFailed(*id);
    }
  }
  void onTalking(EndpointId endpoint, bool talking) override {
    if (auto id = endpoint_(endpoint)) {
      up_.onTalking(*id, talking);
    }
  }
  void onPlaybackEnded(MixId mix, MediaFileEnd how) override {
    if (auto id = mix_(mix)) {
      up_.onPlaybackEnded(*id, how);
    }
  }
  void onRecordingEnded(MixId mix, MediaFileEnd how) override {
    if (auto id = mix_(mix)) {
      up_.onRecordingEnded(*id, how);
    }
  }
  void onMediaSource(EndpointId endpoint, const MediaSourceEvent& event) override {
    if (auto id = endpoint_(endpoint)) {
      up_.onMediaSource(*id, event);
    }
  }
  void onMixerFault(EndpointId endpoint, MixId mix, const std::string& what) override {
    // Zero means "neither" and stays zero.
    up_.onMixerFault(endpoint == 0 ? 0 : endpoint_(endpoint).value_or(0),
                     mix == 0 ? 0 : mix_(mix).value_or(0), what);
  }

 private:
  std::optional<EndpointId> endpoint_(EndpointId inner) const {
    const auto& ids = set_.endpointIds_[mixer_];
    const auto found = ids.find(inner);
    return found == ids.end() ? std::nullopt : std::optional<EndpointId>(found->second);
  }
  std::optional<MixId> mix_(MixId inner) const {
    const auto& ids = set_.mixIds_[mixer_];
    const auto found = ids.find(inner);
    return found == ids.end() ? std::nullopt : std::optional<MixId>(found->second);
  }

  MixerSet& set_;
  std::size_t mixer_;
  MixerEvents& up_;
};

MixerSet::MixerSet(std::vector<std::unique_ptr<Control>> mixers,
                   std::function<Clock::time_point()> now)
    : mixers_(std::move(mixers)),
      now_(std::move(now)),
      placement_(mixers_.size(), kHeartbeatTimeout),
      load_(mixers_.size(), 0),
      mixIds_(mixers_.size()),
      endpointIds_(mixers_.size()) {
  if (mixers_.empty()) {
    throw std::invalid_argument("a mixer set needs a mixer");
  }
  // One descriptor for the focus to wait on: epoll's is readable while any of its members is.
  epollFd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epollFd_ < 0) {
    throw std::runtime_error("epoll_create1 failed");
  }
  for (std::size_t i = 0; i < mixers_.size(); ++i) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    if (::epoll_ctl(epollFd_, EPOLL_CTL_ADD, mixers_[i]->eventFd(), &event) != 0) {
      ::close(epollFd_);
      throw std::runtime_error("epoll_ctl failed for a mixer's event descriptor");
    }
  }
}

MixerSet::~MixerSet() {
  if (epollFd_ >= 0) {
    ::close(epollFd_);
  }
}

void MixerSet::refreshPlacement() {
  const auto now = now_();
  for (std::size_t i = 0; i < mixers_.size(); ++i) {
    if (mixers_[i]->ready()) {
      if (!placement_.live(i, now)) {
        placement_.onConnected(i, now);
      }
      // The mixer's own count (its last stats push) sees every confab's participants; ours sees
      // our reservations at once, before a push can. The larger of the two.
      std::size_t joined = 0;
      for (const auto& thread : mixers_[i]->engineStats()) {
        joined += thread.participants;
      }
      placement_.onHeartbeat(i, now, static_cast<uint32_t>(std::max(load_[i], joined)));
    } else {
      placement_.onDisconnected(i);
    }
  }
}

const MixerSet::Inner* MixerSet::findMix(MixId mix) const {
  const auto found = mixes_.find(mix);
  return found == mixes_.end() ? nullptr : &found->second;
}

const MixerSet::Inner* MixerSet::findEndpoint(EndpointId endpoint) const {
  const auto found = endpoints_.find(endpoint);
  return found == endpoints_.end() ? nullptr : &found->second;
}

MixId MixerSet::createMix(const RoomSettings& settings) {
  refreshPlacement();
  // None live and open: the first mixer takes it anyway (its calls are refused as with a single
  // mixer that is down, and it works again once that one is back).
  return createOn(placement_.choose(now_()).value_or(0), settings);
}

MixId MixerSet::createMixBeside(const RoomSettings& settings, MixId near) {
  const Inner* beside = findMix(near);
  return beside != nullptr ? createOn(beside->mixer, settings) : createMix(settings);
}

MixId MixerSet::createOn(std::size_t mixer, const RoomSettings& settings) {
  const MixId inner = mixers_[mixer]->createMix(settings);
  const MixId id = nextMix_++;
  mixes_[id] = Inner{mixer, inner};
  settings_.emplace(id, settings);
  mixIds_[mixer][inner] = id;
  lastMixer_ = mixer;
  return id;
}

void MixerSet::destroyMix(MixId mix) {
  const auto found = mixes_.find(mix);
  if (found == mixes_.end()) {
    return;
  }
  const Inner inner = found->second;
  mixes_.erase(found);
  settings_.erase(mix);
  mixers_[inner.mixer]->destroyMix(inner.id);
  retire(inner);
}

void MixerSet::retire(Inner inner) {
  // Its end events still come (a recording is closed after destroyMix, then onRecordingEnded), so
  // its inner id still maps to ours for a while; the oldest such ids go once there are many
  // (inner ids are never reused).
  retired_.push_back(inner);
  if (retired_.size() > kRetiredMixes) {
    mixIds_[retired_.front().mixer].erase(retired_.front().id);
    retired_.pop_front();
  }
}

bool MixerSet::relocateMix(MixId mix, MixerEvents* up) {
  const auto found = mixes_.find(mix);
  if (found == mixes_.end()) {
    return false;
  }
  const Inner old = found->second;
  if (mixers_[old.mixer]->ready()) {
    return true;
  }
  refreshPlacement();
  // A draining mixer only when no open one is up: keeping calls up beats draining strictly.
  const auto to = placement_.failoverTarget(old.mixer, now_());
  if (!to || *to == old.mixer) {
    return false;
  }
  // Read before the old mix goes: what it was doing ends here, since the new one starts bare.
  const auto stats = mixers_[old.mixer]->mixStats(old.id);
  const MixId inner = mixers_[*to]->createMix(settings_.at(mix));
  found->second = Inner{*to, inner};
  mixIds_[*to][inner] = mix;
  // Destroyed there too, so that a RemoteMixer that reconnects does not create it again; its
  // events (none should come) no longer name our mix. Not yet: destroying it takes its
  // participants with it, and the ones still to fail over need their failure events first.
  orphans_.push_back(old);
  mixIds_[old.mixer].erase(old.id);
  if (up != nullptr && stats) {
    if (stats->recording) {
      up->onRecordingEnded(mix, MediaFileEnd::kError);
    }
    if (stats->playing) {
      up->onPlaybackEnded(mix, MediaFileEnd::kError);
    }
  }
  return true;
}

bool MixerSet::failOver(EndpointId endpoint, MixerEvents& up) {
  const auto found = endpoints_.find(endpoint);
  const auto joined = joinedTo_.find(endpoint);
  if (found == endpoints_.end() || joined == joinedTo_.end()) {
    return false;
  }
  const Inner old = found->second;
  // A mixer that is still up refused this one endpoint: that is the call's failure, not the
  // mixer's.
  if (mixers_[old.mixer]->ready() || !relocateMix(joined->second, &up)) {
    return false;
  }
  auto reservation = moveEndpoint(endpoint, mixes_.at(joined->second).mixer);
  if (!reservation) {
    return false;
  }
  up.onEndpointRelocated(endpoint, *reservation);
  return true;
}

std::optional<Reservation> MixerSet::moveEndpoint(EndpointId endpoint, std::size_t to) {
  auto reservation = mixers_[to]->reserve();
  if (!reservation) {
    return std::nullopt;
  }
  Inner& inner = endpoints_.at(endpoint);
  const Inner old = inner;
  endpointIds_[old.mixer].erase(old.id);
  --load_[old.mixer];
  mixers_[old.mixer]->release(old.id);
  inner = Inner{to, reservation->id};
  endpointIds_[to][reservation->id] = endpoint;
  ++load_[to];
  joinedTo_.erase(endpoint);  // joined again by the focus, once the phone has the new address
  reservation->id = endpoint;
  return reservation;
}

std::optional<Reservation> MixerSet::relocate(EndpointId endpoint, MixId mix) {
  const Inner* e = findEndpoint(endpoint);
  const Inner* m = findMix(mix);
  if (e == nullptr || m == nullptr || e->mixer == m->mixer) {
    return std::nullopt;
  }
  return moveEndpoint(endpoint, m->mixer);
}

std::optional<Reservation> MixerSet::reserveOn(std::size_t mixer) {
  auto reservation = mixers_[mixer]->reserve();
  if (!reservation) {
    return std::nullopt;
  }
  const EndpointId id = nextEndpoint_++;
  endpoints_[id] = Inner{mixer, reservation->id};
  endpointIds_[mixer][reservation->id] = id;
  ++load_[mixer];
  reservation->id = id;
  return reservation;
}

std::optional<Reservation> MixerSet::reserve() {
  if (lastMixer_) {
    return reserveOn(*lastMixer_);
  }
  refreshPlacement();
  return reserveOn(placement_.choose(now_()).value_or(0));
}

std::optional<Reservation> MixerSet::reserveFor(MixId mix) {
  // A room whose mixer went away with nobody joined (a lobby, a prompt) moves on its next caller.
  (void)relocateMix(mix, nullptr);
  destroyOrphans();
  const Inner* inner = findMix(mix);
  return inner != nullptr ? reserveOn(inner->mixer) : reserve();
}

bool MixerSet::join(EndpointId endpoint, MixId mix, const MediaParams& params) {
  // Media and mix in two processes cannot meet.
  if (!canMove(endpoint, mix)) {
    return false;
  }
  if (!mixers_[endpoints_.at(endpoint).mixer]->join(endpoints_.at(endpoint).id, mixes_.at(mix).id,
                                                    params)) {
    return false;
  }
  joinedTo_[endpoint] = mix;
  return true;
}

bool MixerSet::update(EndpointId endpoint, const MediaParams& params) {
  const Inner* e = findEndpoint(endpoint);
  return e != nullptr && mixers_[e->mixer]->update(e->id, params);
}

bool MixerSet::move(EndpointId endpoint, MixId mix) {
  if (!canMove(endpoint, mix)) {
    return false;
  }
  if (!mixers_[endpoints_.at(endpoint).mixer]->move(endpoints_.at(endpoint).id,
                                                    mixes_.at(mix).id)) {
    return false;
  }
  joinedTo_[endpoint] = mix;
  return true;
}

bool MixerSet::canMove(EndpointId endpoint, MixId mix) const {
  const Inner* e = findEndpoint(endpoint);
  const Inner* m = findMix(mix);
  return e != nullptr && m != nullptr && e->mixer == m->mixer;
}

void MixerSet::release(EndpointId endpoint) {
  const auto found = endpoints_.find(endpoint);
  if (found == endpoints_.end()) {
    return;
  }
  const Inner inner = found->second;
  endpoints_.erase(found);
  joinedTo_.erase(endpoint);
  endpointIds_[inner.mixer].erase(inner.id);
  --load_[inner.mixer];
  mixers_[inner.mixer]->release(inner.id);
}

void MixerSet::setControls(EndpointId endpoint, const Controls& controls) {
  if (const Inner* e = findEndpoint(endpoint)) {
    mixers_[e->mixer]->setControls(e->id, controls);
  }
}

bool MixerSet::startRecording(MixId mix, const std::string& path, RecordingFormat format) {
  const Inner* m = findMix(mix);
  return m != nullptr && mixers_[m->mixer]->startRecording(m->id, path, format);
}

void MixerSet::stopRecording(MixId mix) {
  if (const Inner* m = findMix(mix)) {
    mixers_[m->mixer]->stopRecording(m->id);
  }
}

bool MixerSet::play(MixId mix, const std::string& path) {
  const Inner* m = findMix(mix);
  return m != nullptr && mixers_[m->mixer]->play(m->id, path);
}

void MixerSet::stopPlaying(MixId mix) {
  if (const Inner* m = findMix(mix)) {
    mixers_[m->mixer]->stopPlaying(m->id);
  }
}

std::optional<MixStats> MixerSet::mixStats(MixId mix) const {
  const Inner* m = findMix(mix);
  return m != nullptr ? mixers_[m->mixer]->mixStats(m->id) : std::nullopt;
}

std::optional<MediaStats> MixerSet::endpointStats(EndpointId endpoint) const {
  const Inner* e = findEndpoint(endpoint);
  return e != nullptr ? mixers_[e->mixer]->endpointStats(e->id) : std::nullopt;
}

std::vector<EngineThreadStats> MixerSet::engineStats() const {
  std::vector<EngineThreadStats> out;
  for (const auto& mixer : mixers_) {
    auto threads = mixer->engineStats();
    out.insert(out.end(), threads.begin(), threads.end());
  }
  return out;
}

bool MixerSet::ready() const {
  for (std::size_t i = 0; i < mixers_.size(); ++i) {
    if (mixers_[i]->ready() && !placement_.draining(i)) {
      return true;
    }
  }
  return false;
}

void MixerSet::deliverEvents(MixerEvents& events) {
  // Every mixer gets its turn: each drains its own non-blocking descriptor (which is what clears
  // the epoll set's readiness) and a mixer with nothing waiting costs one failed read.
  for (std::size_t i = 0; i < mixers_.size(); ++i) {
    Translator up(*this, i, events);
    mixers_[i]->deliverEvents(up);
  }
  destroyOrphans();
}

void MixerSet::destroyOrphans() {
  for (const Inner& orphan : std::exchange(orphans_, {})) {
    mixers_[orphan.mixer]->destroyMix(orphan.id);
  }
}

void MixerSet::setDraining(std::size_t mixer, bool draining) {
  placement_.setDraining(mixer, draining);
}

std::optional<std::size_t> MixerSet::mixerOf(MixId mix) const {
  const Inner* m = findMix(mix);
  return m != nullptr ? std::optional<std::size_t>(m->mixer) : std::nullopt;
}

std::optional<std::size_t> MixerSet::mixerOfEndpoint(EndpointId endpoint) const {
  const Inner* e = findEndpoint(endpoint);
  return e != nullptr ? std::optional<std::size_t>(e->mixer) : std::nullopt;
}

std::size_t MixerSet::endpointsOn(std::size_t mixer) const {
  return load_.at(mixer);
}

}  // namespace confab::mixer::remote
