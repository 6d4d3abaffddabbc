// Where a new room goes when the focus has several mixers (issue 14 item 4): the least-loaded
// live mixer that is not draining, ties broken round-robin. Liveness comes from the mixers'
// stats heartbeat (pushed every second); time is passed in, so it is tested without sleeping.
// Pure bookkeeping: it owns no connection and knows nothing of SIP.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace confab::mixer::remote {

class Placement {
 public:
  using Clock = std::chrono::steady_clock;

  // heartbeatTimeout: a connected mixer whose last stats push is older than this is dead.
  Placement(std::size_t mixers, Clock::duration heartbeatTimeout);

  void onConnected(std::size_t mixer, Clock::time_point now);
  void onDisconnected(std::size_t mixer);
  // One stats push: its load, counted in joined endpoints (what costs mixing time).
  void onHeartbeat(std::size_t mixer, Clock::time_point now, uint32_t endpoints);
  // A draining mixer keeps its rooms but gets no new ones.
  void setDraining(std::size_t mixer, bool draining);

  [[nodiscard]] bool live(std::size_t mixer, Clock::time_point now) const;
  [[nodiscard]] bool draining(std::size_t mixer) const;

  // The mixer for a new room, or nothing when no mixer is live and open.
  [[nodiscard]] std::optional<std::size_t> choose(Clock::time_point now);
  // The mixer to re-create a dead mixer's rooms on; a draining mixer is a last resort, since
  // keeping calls up beats refusing them.
  [[nodiscard]] std::optional<std::size_t> failoverTarget(std::size_t dead, Clock::time_point now);

 private:
  struct Mixer {
    bool connected = false;
    bool draining = false;
    Clock::time_point lastHeartbeat{};
    uint32_t endpoints = 0;
  };

  std::optional<std::size_t> leastLoaded(std::optional<std::size_t> excluded,
                                         bool allowDraining,
                                         Clock::time_point now);

  std::vector<Mixer> mixers_;
  Clock::duration heartbeatTimeout_;
  std::size_t next_ = 0;  // round-robin start among equally loaded mixers
};

}  // namespace confab::mixer::remote
