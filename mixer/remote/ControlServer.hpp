// The confab-mixer side of the control protocol (docs/mixer-protocol.md): accepts TCP
// connections, drives a local mixer (an InProcessMixer) on their behalf and sends each
// connection the events and stats of what it owns. A connection owns the mixes it created and
// the endpoints it reserved; when it goes, everything it owned is destroyed and released, so a
// focus that crashes leaks no ports. Runs on one io_context thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "mixer/engine/Control.hpp"

namespace confab::mixer::remote {

struct ControlServerSettings {
  boost::asio::ip::tcp::endpoint listen{boost::asio::ip::make_address_v4("127.0.0.1"), 7070};
  // Told to clients in hello: the address their peers send media to (Reservation::address).
  std::string mediaAddress;
  // Non-empty: every client must prove it knows this secret before anything else
  // (mixer/remote/Handshake.hpp), and gets the server's proof back in hello.
  std::string secret;
  // TLS 1.3 on every connection (mixer/remote/ControlTls.hpp); only with a secret.
  bool tls = false;
  // Stats pushes (mix, endpoint, engine) to each connection.
  std::chrono::milliseconds statsInterval{1000};
  // The heartbeat: the engine stats alone (one short line) this often, told to clients in hello.
  // A client takes three missed beats as a hung mixer and moves its rooms (under 2 s at 500 ms).
  std::chrono::milliseconds heartbeatInterval{500};
  // A client that has not said hello after this long is dropped.
  std::chrono::milliseconds helloTimeout{10000};
  std::size_t maxConnections = 64;
};

class ControlServer {
 public:
  ControlServer(boost::asio::io_context& io, Control& mixer, ControlServerSettings settings);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds and listens, then accepts and forwards mixer events until stop().
  boost::system::error_code start();
  // Closes the acceptor and every connection (releasing what they own).
  void stop();

  [[nodiscard]] boost::asio::ip::tcp::endpoint localEndpoint() const;
  [[nodiscard]] std::size_t connectionCount() const { return connections_.size(); }

 private:
  class Connection;
  class EventRouter;
  friend class Connection;
  friend class EventRouter;

  void accept();
  void handshake(boost::asio::ip::tcp::socket socket);
  void adopt(std::shared_ptr<Connection> connection);
  void waitForMixerEvents();
  void forget(Connection& connection);

  boost::asio::io_context& io_;
  Control& mixer_;
  ControlServerSettings settings_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::posix::stream_descriptor mixerEvents_;
  std::unique_ptr<EventRouter> router_;
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections_;
  // Who owns what, for routing mixer events (server-side ids).
  std::unordered_map<EndpointId, Connection*> endpointOwners_;
  std::unordered_map<MixId, Connection*> mixOwners_;
  std::unique_ptr<boost::asio::ssl::context> tls_;  // with settings_.tls
  std::size_t tlsHandshakes_ = 0;                   // under way, counted as connections
};

}  // namespace confab::mixer::remote
