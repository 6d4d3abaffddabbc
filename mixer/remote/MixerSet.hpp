// Several mixers behind one Control (issue 14 item 4): the focus keeps driving one mixer, and this
// spreads its rooms over N of them (confab-mixers, each a RemoteMixer; any Control in tests).
// A new room goes where Placement says (the least-loaded ready mixer not draining, ties in turn);
// a participant's ports are reserved on the mixer of the room it will join, so that its media
// and its room are in one process. Ids are this set's own, mapped to (mixer, inner id), and the
// events of all mixers come back through one eventFd (an epoll set of theirs) with the ids
// mapped back. Nothing here knows SIP, and everything runs on the caller's (the focus's) thread.
//
// Failover: when a mixer goes away (its connection drops: RemoteMixer fails its joined
// endpoints), each room that ran there is created again, with the same settings, on the
// least-loaded mixer still up, and each of its participants gets new ports there under the same
// id (onEndpointRelocated): the focus re-INVITEs the phone with the new address and joins it
// again (a draining mixer takes them only when no open one is up). What the room was recording or
// playing ends with kError. With no other mixer up, the calls fail as with one mixer.
//
// A move into a mix on another mixer is the same relocation on request: move() answers false
// there, and relocate() gives the endpoint new ports beside the mix it is to join.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "mixer/engine/Control.hpp"
#include "mixer/remote/Placement.hpp"

namespace confab::mixer::remote {

class MixerSet final : public Control {
 public:
  using Clock = Placement::Clock;

  // 'mixers' in --mixer order (the indexes of setDraining and mixerOf); at least one.
  explicit MixerSet(
      std::vector<std::unique_ptr<Control>> mixers,
      std::function<Clock::time_point()> now = [] { return Clock::now(); });
  ~MixerSet() override;
  MixerSet(const MixerSet&) = delete;
  MixerSet& operator=(const MixerSet&) = delete;

  MixId createMix(const RoomSettings& settings) override;
  MixId createMixBeside(const RoomSettings& settings, MixId near) override;
  void destroyMix(MixId mix) override;
  // On the mixer of the mix created last: the focus creates (or finds) a call's room right
  // before reserving its ports. reserveFor names the mix.
  std::optional<Reservation> reserve() override;
  std::optional<Reservation> reserveFor(MixId mix) override;
  bool join(EndpointId endpoint, MixId mix, const MediaParams& params) override;
  bool update(EndpointId endpoint, const MediaParams& params) override;
  bool move(EndpointId endpoint, MixId mix) override;
  [[nodiscard]] bool canMove(EndpointId endpoint, MixId mix) const override;
  std::optional<Reservation> relocate(EndpointId endpoint, MixId mix) override;
  void release(EndpointId endpoint) override;
  void setControls(EndpointId endpoint, const Controls& controls) override;
  bool startRecording(MixId mix, const std::string& path, RecordingFormat format) override;
  void stopRecording(MixId mix) override;
  bool play(MixId mix, const std::string& path) override;
  void stopPlaying(MixId mix) override;
  [[nodiscard]] std::optional<MixStats> mixStats(MixId mix) const override;
  [[nodiscard]] std::optional<MediaStats> endpointStats(EndpointId endpoint) const override;
  // Every mixer's threads, in mixer order.
  [[nodiscard]] std::vector<EngineThreadStats> engineStats() const override;
  // Some mixer can take new rooms.
  [[nodiscard]] bool ready() const override;
  [[nodiscard]] int eventFd() const override { return epollFd_; }
  void deliverEvents(MixerEvents& events) override;

  // A draining mixer keeps its rooms (and new callers of those rooms) but gets no new room.
  void setDraining(std::size_t mixer, bool draining);
  [[nodiscard]] std::size_t size() const { return mixers_.size(); }
  // Which mixer runs the mix, or holds the endpoint (nullopt: unknown id).
  [[nodiscard]] std::optional<std::size_t> mixerOf(MixId mix) const;
  [[nodiscard]] std::optional<std::size_t> mixerOfEndpoint(EndpointId endpoint) const;
  // Participants reserved or joined on a mixer through this set: the load Placement weighs.
  [[nodiscard]] std::size_t endpointsOn(std::size_t mixer) const;

 private:
  struct Inner {
    std::size_t mixer = 0;
    uint64_t id = 0;  // the inner mixer's MixId or EndpointId
  };
  class Translator;

  // Placement told what each mixer looks like now.
  void refreshPlacement();
  std::optional<Reservation> reserveOn(std::size_t mixer);
  MixId createOn(std::size_t mixer, const RoomSettings& settings);
  // The endpoint's mixer is gone: its room moves (relocateMix) and it gets ports beside it, told
  // to 'up'. False when it cannot (no other mixer up, it was not joined, no ports there).
  bool failOver(EndpointId endpoint, MixerEvents& up);
  // New ports for a known endpoint on mixer 'to', under its id; the old ones are released.
  std::optional<Reservation> moveEndpoint(EndpointId endpoint, std::size_t to);
  // A mix whose mixer is gone is created again on another (ends of its recording and playback
  // told to 'up' when given); true when it runs on a live mixer now.
  bool relocateMix(MixId mix, MixerEvents* up);
  // Forgets an inner mix's id, keeping it for late events a while (destroyed mixes).
  void retire(Inner inner);
  // Destroys the mixes left behind on a mixer that went away (relocateMix).
  void destroyOrphans();
  [[nodiscard]] const Inner* findMix(MixId mix) const;
  [[nodiscard]] const Inner* findEndpoint(EndpointId endpoint) const;

  std::vector<std::unique_ptr<Control>> mixers_;
  std::function<Clock::time_point()> now_;
  Placement placement_;
  std::vector<std::size_t> load_;  // endpoints per mixer
  int epollFd_ = -1;

  MixId nextMix_ = 1;
  EndpointId nextEndpoint_ = 1;
  std::unordered_map<MixId, Inner> mixes_;
  std::unordered_map<MixId, RoomSettings> settings_;  // each mix's, to create it again elsewhere
  std::unordered_map<EndpointId, Inner> endpoints_;
  std::unordered_map<EndpointId, MixId> joinedTo_;  // the mix each joined endpoint is in
  // Inner ids back to ours, per mixer, for the events.
  std::vector<std::unordered_map<uint64_t, MixId>> mixIds_;
  std::vector<std::unordered_map<uint64_t, EndpointId>> endpointIds_;
  std::optional<std::size_t> lastMixer_;  // of the mix created last
  std::deque<Inner> retired_;             // destroyed mixes, oldest first
  std::vector<Inner> orphans_;            // relocated mixes to destroy where they were
};

}  // namespace confab::mixer::remote
