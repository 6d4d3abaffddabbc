// The mixer in the confab process: N worker threads (one per core by default), each owning whole
// rooms. Calls come from the signalling thread; events go back through eventFd().
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <unordered_map>
#include <vector>

#include "mixer/PortPool.hpp"
#include "mixer/engine/Control.hpp"
#include "mixer/engine/Worker.hpp"
#include "mixer/media/MediaFileThread.hpp"

namespace confab::mixer {

struct MixerSettings {
  unsigned threads = 0;  // 0: one per core
  boost::asio::ip::address bindAddress = boost::asio::ip::address_v4::any();
  PortRange ports;
  std::chrono::milliseconds rtpTimeout{std::chrono::seconds(60)};
  // How often each participant gets an RTCP sender report (RFC 3550 §6.2 suggests 5 s minimum).
  std::chrono::milliseconds rtcpInterval{std::chrono::seconds(5)};
  // Mixer threads read their participants' sockets through io_uring where the kernel allows it
  // (Linux 6.1+, not refused by seccomp), else, or when false, through epoll.
  bool ioUring = true;
};

class InProcessMixer final : public Control {
 public:
  explicit InProcessMixer(MixerSettings settings);
  ~InProcessMixer() override;

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

  [[nodiscard]] const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }
  // How the threads read their sockets, for the log: "io_uring", or "epoll" with the reason io_uring
  // is not used. Waits (at most a second) for the threads to have chosen.
  [[nodiscard]] std::string ioPath() const;

 private:
  struct Pending {
    int rtpFd = -1;
    int rtcpFd = -1;
  };
  Worker* workerOf(EndpointId endpoint);
  // Posts a command about a joined endpoint to its thread; while the endpoint moves between
  // threads, holds it until the move is done, so commands keep their order.
  bool postFor(EndpointId endpoint, Worker::Command command);
  void finishMove(EndpointId endpoint);

  MixerSettings settings_;
  boost::asio::io_context portIo_;  // only to create sockets; never run
  PortPool ports_;
  int eventFd_ = -1;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unordered_map<MixId, Worker*> mixes_;
  std::unordered_map<EndpointId, Pending> reserved_;
  struct Joined {
    Worker* worker = nullptr;
    MixId mix = 0;
  };
  std::unordered_map<EndpointId, Joined> joined_;
  // Endpoints leaving one thread for another: the thread they leave detaches them into 'parcel'
  // and says so (kLegDetached); only then does their new thread get the parcel and, after it,
  // the commands that came meanwhile.
  struct Moving {
    Worker* to = nullptr;
    MixId mix = 0;
    std::shared_ptr<LegParcel> parcel;
    std::vector<Worker::Command> held;
  };
  std::unordered_map<EndpointId, Moving> moving_;
  // The latest snapshots from the workers, for the stats calls.
  std::unordered_map<MixId, MixStats> mixStats_;
  std::unordered_map<EndpointId, MediaStats> endpointStats_;
  // Reads and writes the files of every mix (the mixer threads never touch a file).
  std::unique_ptr<MediaFileThread> mediaFiles_;
  // The current playback and recording of each mix by number (0: none), so an end event of one
  // that was replaced or stopped does not clear the flags of the next.
  struct Files {
    uint64_t playback = 0;
    uint64_t recording = 0;
  };
  std::unordered_map<MixId, Files> files_;
  uint64_t nextFile_ = 1;
  MixId nextMix_ = 1;
  EndpointId nextEndpoint_ = 1;
};

}  // namespace confab::mixer
