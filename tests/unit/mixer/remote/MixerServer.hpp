// confab-mixer in a thread for the remote-mixer tests: a real InProcessMixer behind a real
// ControlServer on a loopback port, and the RemoteMixer settings that reach it quickly.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "mixer/engine/InProcessMixer.hpp"
#include "mixer/remote/ControlServer.hpp"
#include "mixer/remote/RemoteMixer.hpp"
#include "tests/unit/mixer/engine/LoopbackPhone.hpp"

namespace confab::test {

// confab-mixer in a thread: an InProcessMixer on 127.0.0.1 served on a loopback port.
class MixerServer {
 public:
  MixerServer(mixer::PortRange ports,
              uint16_t controlPort = 0,
              std::string secret = {},
              bool tls = false)
      : mixer_(settings(ports)),
        server_(io_, mixer_, serverSettings(controlPort, std::move(secret), tls)) {
    ec_ = server_.start();
    port_ = server_.localEndpoint().port();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~MixerServer() {
    boost::asio::post(io_, [this] {
      server_.stop();
      io_.stop();
    });
    thread_.join();
  }
  MixerServer(const MixerServer&) = delete;
  MixerServer& operator=(const MixerServer&) = delete;

  [[nodiscard]] boost::system::error_code startError() const { return ec_; }
  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] boost::asio::ip::tcp::endpoint endpoint() const {
    return {boost::asio::ip::make_address_v4("127.0.0.1"), port_};
  }
  // How many clients are connected, asked on the server's thread.
  std::size_t connections() {
    std::promise<std::size_t> answer;
    boost::asio::post(io_, [&] { answer.set_value(server_.connectionCount()); });
    return answer.get_future().get();
  }

 private:
  static mixer::MixerSettings settings(mixer::PortRange ports) {
    mixer::MixerSettings s = loopbackMixer(ports);
    s.rtpTimeout = std::chrono::seconds(30);
    return s;
  }
  static mixer::remote::ControlServerSettings serverSettings(uint16_t port,
                                                             std::string secret,
                                                             bool tls) {
    mixer::remote::ControlServerSettings s;
    s.secret = std::move(secret);
    s.tls = tls;
    s.listen = {boost::asio::ip::make_address_v4("127.0.0.1"), port};
    s.mediaAddress = "127.0.0.1";
    s.statsInterval = std::chrono::milliseconds(100);  // stats arrive quickly in tests
    s.helloTimeout = std::chrono::seconds(2);
    return s;
  }

  boost::asio::io_context io_;
  mixer::InProcessMixer mixer_;
  mixer::remote::ControlServer server_;
  boost::system::error_code ec_;
  uint16_t port_ = 0;
  std::thread thread_;
};

inline mixer::remote::RemoteMixerSettings clientSettings(
    const boost::asio::ip::tcp::endpoint& server, std::size_t stock = 4) {
  mixer::remote::RemoteMixerSettings s;
  s.server = server;
  s.stock = stock;
  s.reconnectMin = std::chrono::milliseconds(50);
  s.reconnectMax = std::chrono::milliseconds(200);
  return s;
}

}  // namespace confab::test
