// The mixer in another process (confab-mixer), behind the same Control interface as the
// in-process one. The focus calls it synchronously on its own thread, so nothing here waits for
// the network: reserve() hands out one of a stock of endpoints reserved ahead, mix ids are chosen
// here, and the other calls are sent and answered later (a refusal comes back as
// onEndpointFailed, onRecordingEnded(kError) or onPlaybackEnded(kError)). The TCP connection runs
// on its own thread and io_context; events come back through eventFd() and deliverEvents() like
// the in-process mixer's. When the connection drops, every joined endpoint fails (the calls end
// with BYE) and the link reconnects with backoff, re-creating the mixes still in use.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "mixer/engine/Control.hpp"
#include "mixer/remote/Protocol.hpp"

namespace confab::mixer::remote {

struct RemoteMixerSettings {
  boost::asio::ip::tcp::endpoint server{boost::asio::ip::make_address_v4("127.0.0.1"), 7070};
  // Endpoints kept reserved ahead, so that reserve() can answer at once.
  std::size_t stock = 16;
  std::chrono::milliseconds reconnectMin{100};
  std::chrono::milliseconds reconnectMax{5000};
  std::chrono::milliseconds connectTimeout{3000};
  // This long without a line means the server is gone (hung, or its machine off the network with
  // the connection still open), until its hello says how often it beats: then three missed beats
  // and 100 ms (1.6 s at confab-mixer's 500 ms), so that a MixerSet moves its rooms within 2 s.
  // For a server from before heartbeats, which pushes stats every second, it stays: three
  // missed pushes and a margin.
  std::chrono::milliseconds idleTimeout{3500};
  // Non-empty: prove it to the server and accept only a server that proves it back
  // (mixer/remote/Handshake.hpp). Empty: a server that asks for one is refused.
  std::string secret;
  // TLS 1.3 to a server that runs it (mixer/remote/ControlTls.hpp); only with a secret.
  bool tls = false;
};

class RemoteMixer final : public Control {
 public:
  explicit RemoteMixer(RemoteMixerSettings settings);
  ~RemoteMixer() override;
  RemoteMixer(const RemoteMixer&) = delete;
  RemoteMixer& operator=(const RemoteMixer&) = delete;

  MixId createMix(const RoomSettings& settings) override;
  void destroyMix(MixId mix) override;
  std::optional<Reservation> reserve() override;
  bool join(EndpointId endpoint, MixId mix, const MediaParams& params) override;
  bool update(EndpointId endpoint, const MediaParams& params) override;
  bool move(EndpointId endpoint, MixId mix) override;
  void release(EndpointId endpoint) override;
  void setControls(EndpointId endpoint, const Controls& controls) override;
  bool startRecording(MixId mix, const std::string& path, RecordingFormat format) override;
  void stopRecording(MixId mix) override;
  bool play(MixId mix, const std::string& path) override;
  void stopPlaying(MixId mix) override;
  [[nodiscard]] std::optional<MixStats> mixStats(MixId mix) const override;
  [[nodiscard]] std::optional<MediaStats> endpointStats(EndpointId endpoint) const override;
  [[nodiscard]] std::vector<EngineThreadStats> engineStats() const override;
  [[nodiscard]] int eventFd() const override { return eventFd_; }
  void deliverEvents(MixerEvents& events) override;

  // Waits (at most 'timeout') until connected with at least 'endpoints' in stock; for start-up
  // and tests. True when it got there.
  bool waitUntilReady(std::chrono::milliseconds timeout, std::size_t endpoints = 1) const;
  [[nodiscard]] bool connected() const;
  // Why the last handshake failed ("" when none did): for the log when the mixer is not ready.
  [[nodiscard]] std::string refusal() const;
  [[nodiscard]] bool ready() const override { return connected(); }

 private:
  class Link;
  friend class Link;

  // The connection dropped: everything of that generation is gone.
  struct Disconnected {
    uint64_t generation = 0;
  };
  // What the link hands the caller's thread; endpoint ids already the caller's.
  using Inbound = std::variant<Message, Disconnected>;

  // An endpoint reserved on the server, not yet handed out.
  struct Stocked {
    EndpointId serverId = 0;
    uint16_t rtpPort = 0;
    uint64_t generation = 0;
  };

  // Between the caller's thread and the link's, under mutex_.
  struct Shared {
    uint64_t generation = 0;  // of the live connection; 0: none
    std::string mediaAddress;
    std::string refusal;
    std::deque<Stocked> stock;
    std::deque<Inbound> inbound;
  };

  // An endpoint as the caller knows it (caller's thread only).
  struct Endpoint {
    EndpointId serverId = 0;
    uint64_t generation = 0;
    std::optional<MixId> mix;  // joined
    bool failed = false;
  };

  void push(Inbound inbound);
  template <class Action>
  void toLink(Action action);
  // The endpoint if it is joined and alive.
  Endpoint* live(EndpointId endpoint);

  RemoteMixerSettings settings_;
  int eventFd_ = -1;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  Shared shared_;

  // Caller's thread only.
  EndpointId nextEndpoint_ = 1;
  MixId nextMix_ = 1;
  std::unordered_map<EndpointId, Endpoint> endpoints_;
  std::unordered_map<MixId, MixStats> mixes_;  // every live mix, with its latest stats
  // End events still to come for playbacks and recordings the caller already replaced or
  // stopped: they must not clear the flag of what runs now.
  struct StaleEnds {
    unsigned playbacks = 0;
    unsigned recordings = 0;
  };
  std::unordered_map<MixId, StaleEnds> staleEnds_;
  std::unordered_map<EndpointId, MediaStats> endpointStats_;
  std::vector<EngineThreadStats> engineStats_;

  std::unique_ptr<Link> link_;
  std::thread thread_;
};

}  // namespace confab::mixer::remote
