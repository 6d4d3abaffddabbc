// The REST API's HTTP/1.1 listener: accepts connections and moves requests to the Router and
// responses back, each connection on its own strand, every read and write bounded (api/Http.hpp);
// plain HTTP, or HTTPS when given a TLS context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>

#include "api/AccessLog.hpp"
#include "api/Events.hpp"
#include "api/Http.hpp"
#include "api/Live.hpp"
#include "api/Webhook.hpp"
#include "policy/Store.hpp"

namespace confab::api {

class Server {
 public:
  // Nothing happens until start(). The store (tenants, rooms, keys) must outlive every
  // connection, i.e. until the io_context has stopped running the server's handlers; the
  // io_context runs on one thread (the store's connection and the lockout are not shared).
  // 'events', when given, is what GET /v1/events streams over a WebSocket; it must outlive the
  // io_context (a stream unsubscribes as it is destroyed).
  // 'tls', when given, makes it HTTPS (and the event stream wss): every connection starts with a
  // TLS handshake under the header timeout. It must outlive the server's connections.
  Server(boost::asio::io_context& io,
         boost::asio::ip::tcp::endpoint endpoint,
         policy::Store& store,
         Limits limits = {},
         Live* live = nullptr,
         EventHub* events = nullptr,
         boost::asio::ssl::context* tls = nullptr,
         WebhookOptions webhooks = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Each request answered is a line in 'log' (api/AccessLog.hpp), which must outlive the
  // io_context; before start().
  void logTo(AccessLog* log);

  // Binds, listens and starts accepting. Returns why it could not (address in use, permission)
  // instead of throwing; start-up code decides what that means.
  boost::system::error_code start();

  // Stops accepting and closes every open connection; idempotent. The closing itself happens on
  // the io_context.
  void stop();

  // The bound address, with the port the system chose when the endpoint asked for port 0.
  [[nodiscard]] boost::asio::ip::tcp::endpoint localEndpoint() const { return local_; }

 private:
  struct Shared;
  // What the listener and stop() see of a connection and of an event stream, plain or TLS.
  class Connection;
  class Subscription;
  // Each over beast::tcp_stream, or beast::ssl_stream<beast::tcp_stream> with TLS.
  template <class Stream>
  class Session;
  template <class Stream>
  class EventStream;
  class Listener;

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::endpoint endpoint_;
  boost::asio::ip::tcp::endpoint local_;
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Listener> listener_;
};

}  // namespace confab::api
