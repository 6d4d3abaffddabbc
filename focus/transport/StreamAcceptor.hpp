// A listening TCP socket for SIP over TCP or TLS; hands each accepted socket to its owner, which
// decides (connection limits) whether it lives.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "focus/transport/Addressing.hpp"

namespace confab::transport {

class StreamAcceptor : public std::enable_shared_from_this<StreamAcceptor> {
 public:
  class Listener {
   public:
    virtual void onAccepted(StreamAcceptor& acceptor, boost::asio::ip::tcp::socket&& socket) = 0;

   protected:
    ~Listener() = default;
  };

  // Binds and listens. Start-up code: throws boost::system::system_error.
  StreamAcceptor(boost::asio::io_context& io,
                 Protocol protocol,
                 const Endpoint& bind,
                 Listener& listener);
  StreamAcceptor(const StreamAcceptor&) = delete;
  StreamAcceptor& operator=(const StreamAcceptor&) = delete;

  void start();
  void close();
  void detach() { listener_ = nullptr; }

  [[nodiscard]] Protocol protocol() const { return protocol_; }
  [[nodiscard]] const Endpoint& local() const { return local_; }

 private:
  void accept();

  Protocol protocol_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  Listener* listener_;
  Endpoint local_;
  bool closed_ = false;
};

}  // namespace confab::transport
