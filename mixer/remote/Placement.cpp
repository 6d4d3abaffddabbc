#include "mixer/remote/Placement.hpp"

namespace confab::mixer::remote {

Placement::Placement(std::size_t mixers, Clock::duration heartbeatTimeout)
    : mixers_(mixers), heartbeatTimeout_(heartbeatTimeout) {}

void Placement::onConnected(std::size_t mixer, Clock::time_point now) {
  mixers_.at(mixer).connected = true;
  // A fresh connection counts as a heartbeat: the first stats push is up to a second away.
  mixers_.at(mixer).lastHeartbeat = now;
  mixers_.at(mixer).endpoints = 0;
}

void Placement::onDisconnected(std::size_t mixer) {
  mixers_.at(mixer).connected = false;
}

void Placement::onHeartbeat(std::size_t mixer, Clock::time_point now, uint32_t endpoints) {
  Mixer& m = mixers_.at(mixer);
  m.lastHeartbeat = now;
  m.endpoints = endpoints;
}

void Placement::setDraining(std::size_t mixer, bool draining) {
  mixers_.at(mixer).draining = draining;
}

bool Placement::live(std::size_t mixer, Clock::time_point now) const {
  const Mixer& m = mixers_.at(mixer);
  return m.connected && now - m.lastHeartbeat <= heartbeatTimeout_;
}

bool Placement::draining(std::size_t mixer) const {
  return mixers_.at(mixer).draining;
}

std::optional<std::size_t> Placement::choose(Clock::time_point now) {
  return leastLoaded(std::nullopt, false, now);
}

std::optional<std::size_t> Placement::failoverTarget(std::size_t dead, Clock::time_point now) {
  if (auto open = leastLoaded(dead, false, now)) {
    return open;
  }
  return leastLoaded(dead, true, now);
}

std::optional<std::size_t> Placement::leastLoaded(std::optional<std::size_t> excluded,
                                                  bool allowDraining,
                                                  Clock::time_point now) {
  std::optional<std::size_t> best;
  const std::size_t n = mixers_.size();
  // Scan from next_ so that equal loads take turns (the first of equals wins).
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (next_ + k) % n;
    if (i == excluded || !live(i, now) || (mixers_[i].draining && !allowDraining)) {
      continue;
    }
    if (!best || mixers_[i].endpoints < mixers_[*best].endpoints) {
      best = i;
    }
  }
  if (best) {
    next_ = (*best + 1) % n;
  }
  return best;
}

}  // namespace confab::mixer::remote
