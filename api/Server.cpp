#include "api/Server.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/Problem.hpp"
#include "api/Router.hpp"

namespace confab::api {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

// What the listener and every connection share. Connections hold it by shared_ptr, so the
// router stays alive for a connection that outlives the Server object.
struct Server::Shared {
  Shared(policy::Store& store, Limits l, Live* live)
      : auth(store), router(store, auth, live), limits(l) {}

  Auth auth;
  Router router;
  Limits limits;
  std::mutex mutex;  // guards sessions and stopped: accept and stop() run on different strands
  std::vector<std::weak_ptr<Session>> sessions;
  bool stopped = false;
};

// One connection, modelled on Beast's async HTTP server: read a request, write its response,
// again while the client keeps the connection alive. All of it runs on the connection's strand.
class Server::Session : public std::enable_shared_from_this<Server::Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared, std::string addressKey)
      : stream_(std::move(socket)), shared_(std::move(shared)), addressKey_(std::move(addressKey)) {
    beast::error_code ec;
    source_ = stream_.socket().remote_endpoint(ec).address();
  }

  void start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::read, shared_from_this()));
  }

  // Who it is for the per-address limit, and since when it waits for a header (0: it does not;
  // a request is being read, handled or answered). Read by the listener under Shared::mutex.
  [[nodiscard]] const std::string& addressKey() const { return addressKey_; }
  [[nodiscard]] int64_t waitingSince() const { return waitingSince_.load(); }

  // Safe from any thread.
  void close() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closed_ = true;
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      self->stream_.close();
    });
  }

 private:
  void read() {
    if (closed_) {
      return;
    }
    parser_.emplace();
    applyLimits(*parser_, shared_->limits);
    // The header first, under its own short deadline (the idle wait included)...
    waitingSince_ = std::chrono::steady_clock::now().time_since_epoch().count();
    stream_.expires_after(shared_->limits.headerTimeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::onHeader, shared_from_this()));
  }

  void onHeader(beast::error_code ec, std::size_t /*bytes*/) {
    waitingSince_ = 0;
    if (ec || closed_) {
      onRead(ec, 0);
      return;
    }
    // ...then the body, within what is left of the request's time.
    stream_.expires_after(shared_->limits.requestTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::onRead, shared_from_this()));
  }

  void onRead(beast::error_code ec, std::size_t /*bytes*/) {
    if (closed_) {
      return;
    }
    if (ec == http::error::end_of_stream) {
      shutdown();
      return;
    }
    if (isProtocolError(ec)) {
      // The stream is out of step with the message boundaries now: answer, then close.
      write(toResponse(fromParseError(ec), 11, false));
      return;
    }
    if (ec) {
      return;  // timeout or socket error: dropping the last reference closes the socket
    }
    write(shared_->router.route(parser_->get(), source_));
  }

  void write(Response response) {
    response_ = std::move(response);
    stream_.expires_after(shared_->limits.requestTimeout);
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::onWrite, shared_from_this()));
  }

  void onWrite(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec || closed_) {
      return;
    }
    if (!response_.keep_alive()) {
      shutdown();
      return;
    }
    read();
  }

  void shutdown() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  net::ip::address source_;  // the client, for the lockout of bad keys
  beast::flat_buffer buffer_;
  std::shared_ptr<Shared> shared_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Response response_;
  bool closed_ = false;
  std::string addressKey_;
  std::atomic<int64_t> waitingSince_{0};  // steady_clock ticks
};

class Server::Listener : public std::enable_shared_from_this<Server::Listener> {
 public:
  Listener(net::io_context& io, std::shared_ptr<Shared> shared)
      : io_(io), acceptor_(net::make_strand(io)), shared_(std::move(shared)) {}

  beast::error_code open(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) {
      acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
      acceptor_.bind(endpoint, ec);
    }
    if (!ec) {
      acceptor_.listen(net::socket_base::max_listen_connections, ec);
    }
    return ec;
  }

  tcp::endpoint localEndpoint() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec);
  }

  void accept() {
    acceptor_.async_accept(net::make_strand(io_),
                           beast::bind_front_handler(&Listener::onAccept, shared_from_this()));
  }

  void close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  void onAccept(beast::error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open() || ec == net::error::operation_aborted) {
      return;
    }
    if (!ec) {
      beast::error_code peerError;
      const std::string key = lockoutKey(socket.remote_endpoint(peerError).address());
      std::shared_ptr<Session> session;
      std::shared_ptr<Session> evicted;
      {
        std::lock_guard lock(shared_->mutex);
        auto& sessions = shared_->sessions;
        sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                      [](const auto& s) { return s.expired(); }),
                       sessions.end());
        // The connections waiting longest for a header, overall and from this address: they
        // give way to a new one when a limit is reached, so that idle or slow clients (a header
        // a byte at a time) cannot keep anyone out, not even others behind the same address.
        std::size_t fromThere = 0;
        std::shared_ptr<Session> longestWaiting;
        std::shared_ptr<Session> longestWaitingThere;
        const auto waitsLonger = [](const std::shared_ptr<Session>& s,
                                    const std::shared_ptr<Session>& than) {
          return s->waitingSince() != 0 && (!than || s->waitingSince() < than->waitingSince());
        };
        for (const auto& weak : sessions) {
          if (auto s = weak.lock()) {
            if (s->addressKey() == key) {
              ++fromThere;
              if (waitsLonger(s, longestWaitingThere)) {
                longestWaitingThere = s;
              }
            }
            if (waitsLonger(s, longestWaiting)) {
              longestWaiting = s;
            }
          }
        }
        if (fromThere >= shared_->limits.maxConnectionsPerAddress) {
          evicted = longestWaitingThere;
        } else if (sessions.size() >= shared_->limits.maxConnections) {
          evicted = longestWaiting;
        }
        const bool room = fromThere < shared_->limits.maxConnectionsPerAddress &&
                          sessions.size() < shared_->limits.maxConnections;
        if (!shared_->stopped && !peerError && (room || evicted)) {
          if (evicted) {
            sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                          [&](const auto& s) { return s.lock() == evicted; }),
                           sessions.end());
          }
          session = std::make_shared<Session>(std::move(socket), shared_, key);
          sessions.push_back(session);
        } else {
          evicted.reset();
        }
      }
      if (evicted) {
        evicted->close();
      }
      // Refused, the socket closes here: a client that holds many connections open cannot
      // starve the others of file descriptors.
      if (session) {
        session->start();
      }
    }
    accept();
  }

  net::io_context& io_;
  tcp::acceptor acceptor_;
  std::shared_ptr<Shared> shared_;
};

Server::Server(
    net::io_context& io, tcp::endpoint endpoint, policy::Store& store, Limits limits, Live* live)
    : io_(io),
      endpoint_(std::move(endpoint)),
      shared_(std::make_shared<Shared>(store, limits, live)) {}

Server::~Server() {
  try {
    stop();
  } catch (const std::exception&) {
    // Only a failing mutex gets here; destroying the io_context closes what is left.
  }
}

boost::system::error_code Server::start() {
  if (listener_) {
    return net::error::already_started;
  }
  auto listener = std::make_shared<Listener>(io_, shared_);
  if (auto ec = listener->open(endpoint_)) {
    return ec;
  }
  local_ = listener->localEndpoint();
  listener_ = std::move(listener);
  listener_->accept();
  return {};
}

void Server::stop() {
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->stopped) {
      return;
    }
    shared_->stopped = true;
    for (const auto& weak : shared_->sessions) {
      if (auto session = weak.lock()) {
        open.push_back(std::move(session));
      }
    }
    shared_->sessions.clear();
  }
  if (listener_) {
    listener_->close();
  }
  for (const auto& session : open) {
    session->close();
  }
}

}  // namespace confab::api
