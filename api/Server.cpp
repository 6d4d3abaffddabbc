#include "api/Server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "api/Events.hpp"
#include "api/Problem.hpp"
#include "api/Router.hpp"

namespace confab::api {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;

// What the listener and every connection share. Connections hold it by shared_ptr, so the
// router stays alive for a connection that outlives the Server object.
struct Server::Shared {
  Shared(policy::Store& store,
         Limits l,
         Live* live,
         EventHub* hub,
         net::ssl::context* context,
         WebhookOptions webhooks)
      : auth(store), router(store, auth, live, webhooks), limits(l), events(hub), tls(context) {}

  Auth auth;
  Router router;
  Limits limits;
  EventHub* events;        // null: no /v1/events stream
  net::ssl::context* tls;  // null: plain HTTP
  std::mutex mutex;  // guards sessions and stopped: accept and stop() run on different strands
  std::vector<std::weak_ptr<Connection>> sessions;
  std::vector<std::weak_ptr<Subscription>> streams;
  bool stopped = false;
};

class Server::Connection {
 public:
  Connection() = default;
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  virtual void start() = 0;
  // Safe from any thread.
  virtual void close() = 0;
  // Who it is for the per-address limit, and since when it waits for a header (0: it does not;
  // a request is being read, handled or answered). Read by the listener under Shared::mutex.
  [[nodiscard]] virtual const std::string& addressKey() const = 0;
  [[nodiscard]] virtual int64_t waitingSince() const = 0;
};

class Server::Subscription {
 public:
  Subscription() = default;
  virtual ~Subscription() = default;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // Safe from any thread; 'why' is the Close frame's reason, a literal.
  virtual void close(const char* why) = 0;
  // The API key it streams for (fixed at the upgrade).
  [[nodiscard]] virtual int64_t keyId() const = 0;
};

namespace {

template <class Stream>
constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

}  // namespace

// One /v1/events subscriber (issue 13 item 3): a WebSocket (RFC 6455) the hub's events go out
// on as text frames, in order, through a bounded queue; a client that falls 256 events behind is
// closed ("too slow") rather than make the server hold an ever longer queue for it.
template <class Stream>
class Server::EventStream final : public std::enable_shared_from_this<Server::EventStream<Stream>>,
                                  public Subscription,
                                  public EventSink {
 public:
  static constexpr std::size_t kMaxQueued = 256;

  EventStream(Stream&& stream, std::shared_ptr<Shared> shared, Principal who, std::string room)
      : ws_(std::move(stream)), shared_(std::move(shared)), who_(who), room_(std::move(room)) {}
  [[nodiscard]] int64_t keyId() const override { return who_.keyId; }
  ~EventStream() {
    if (subscribed_) {
      shared_->events->unsubscribe(*this);
    }
  }
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // answerProtocol: the client offered kEventsProtocol, so the handshake names it (a browser
  // fails a handshake that names none of the protocols it offered).
  void run(Request request, bool answerProtocol) {
    // RFC 6455 keep-alive: pings when idle, and a dead peer is dropped (Beast's suggestion for
    // servers: 30 s handshake, 300 s idle with pings).
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(4096);  // we read nothing but close frames and pings
    if (answerProtocol) {
      ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
        response.set(http::field::sec_websocket_protocol, kEventsProtocol);
      }));
    }
    request_ = std::move(request);
    ws_.async_accept(request_,
                     beast::bind_front_handler(&EventStream::onAccept, this->shared_from_this()));
  }

  void close(const char* why) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), why] { self->stop(why); });
  }

  void push(std::shared_ptr<const std::string> event) override {
    if (closing_) {
      return;
    }
    if (queue_.size() >= kMaxQueued) {
      stop("too slow");
      return;
    }
    queue_.push_back(std::move(event));
    if (!writing_) {
      write();
    }
  }

 private:
  void onAccept(beast::error_code ec) {
    if (ec || closing_) {
      return;  // refused, or the server stopped during the handshake (the socket is closed)
    }
    accepted_ = true;
    shared_->events->subscribe(*this, who_, room_);
    subscribed_ = true;
    read();
  }

  void read() {
    ws_.async_read(buffer_,
                   beast::bind_front_handler(&EventStream::onRead, this->shared_from_this()));
  }

  void onRead(beast::error_code ec, std::size_t /*bytes*/) {
    buffer_.consume(buffer_.size());
    if (ec) {
      unsubscribe();  // closed by the peer, or gone
      return;
    }
    read();  // what a client sends is not for us: read on, to see pings and the close
  }

  void write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(*queue_.front()),
                    beast::bind_front_handler(&EventStream::onWrite, this->shared_from_this()));
  }

  void onWrite(beast::error_code ec, std::size_t /*bytes*/) {
    if (!queue_.empty()) {
      queue_.pop_front();
    }
    writing_ = false;
    if (ec) {
      unsubscribe();
      return;
    }
    if (closing_) {
      sendClose();
    } else if (!queue_.empty()) {
      write();
    }
  }

  void stop(const char* why) {
    if (closing_) {
      return;
    }
    closing_ = true;
    why_ = why;
    unsubscribe();
    if (!accepted_) {
      // The handshake is still going: a Close frame would overlap it, and before the
      // connection is established there is none to send (RFC 6455 §7.1.7): just close.
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
      return;
    }
    // The event being written stays until its write ends: the write reads from it.
    queue_.erase(writing_ ? std::next(queue_.begin()) : queue_.begin(), queue_.end());
    if (!writing_) {
      sendClose();  // else once the write in flight ends: the two must not overlap
    }
  }

  void sendClose() {
    ws_.async_close(websocket::close_reason(websocket::close_code::policy_error, why_),
                    [self = this->shared_from_this()](beast::error_code) {});
  }

  void unsubscribe() {
    if (subscribed_) {
      shared_->events->unsubscribe(*this);
      subscribed_ = false;
    }
  }

  websocket::stream<Stream> ws_;
  std::shared_ptr<Shared> shared_;
  Principal who_;
  std::string room_;
  Request request_;
  beast::flat_buffer buffer_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  bool writing_ = false;
  bool closing_ = false;
  bool subscribed_ = false;
  bool accepted_ = false;
  const char* why_ = "";
};

// One connection, modelled on Beast's async HTTP server: read a request, write its response,
// again while the client keeps the connection alive. All of it runs on the connection's strand.
template <class Stream>
class Server::Session final : public std::enable_shared_from_this<Server::Session<Stream>>,
                              public Connection {
 public:
  Session(tcp::socket&& accepted, std::shared_ptr<Shared> shared, std::string addressKey)
      : stream_(makeStream(std::move(accepted), *shared)),
        executor_(stream_.get_executor()),
        shared_(std::move(shared)),
        addressKey_(std::move(addressKey)) {
    beast::error_code ec;
    source_ = socket().remote_endpoint(ec).address();
  }

  void start() override {
    if constexpr (kTls<Stream>) {
      net::dispatch(stream_.get_executor(),
                    beast::bind_front_handler(&Session::handshake, this->shared_from_this()));
    } else {
      net::dispatch(stream_.get_executor(),
                    beast::bind_front_handler(&Session::read, this->shared_from_this()));
    }
  }

  [[nodiscard]] const std::string& addressKey() const override { return addressKey_; }
  [[nodiscard]] int64_t waitingSince() const override { return waitingSince_.load(); }

  void close() override {
    // The executor kept from the start: after an upgrade the stream belongs to an EventStream.
    net::post(executor_, [self = this->shared_from_this()] {
      self->closed_ = true;
      if (self->upgraded_) {
        return;
      }
      beast::error_code ignored;
      self->socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(self->stream_).close();
    });
  }

 private:
  static Stream makeStream(tcp::socket&& accepted, Shared& shared) {
    if constexpr (kTls<Stream>) {
      return Stream(std::move(accepted), *shared.tls);
    } else {
      return Stream(std::move(accepted));
    }
  }

  tcp::socket& socket() { return beast::get_lowest_layer(stream_).socket(); }

  // The TLS handshake (RFC 8446 §4, RFC 5246 §7.3) counts as waiting for the first header: the
  // same short deadline, and the connection is among the first to give way at a limit. A client
  // that opens TCP and never sends a ClientHello is gone in headerTimeout.
  void handshake() {
    if (closed_) {
      return;
    }
    waitingSince_ = std::chrono::steady_clock::now().time_since_epoch().count();
    beast::get_lowest_layer(stream_).expires_after(shared_->limits.headerTimeout);
    stream_.async_handshake(
        net::ssl::stream_base::server,
        beast::bind_front_handler(&Session::onHandshake, this->shared_from_this()));
  }

  void onHandshake(beast::error_code ec) {
    waitingSince_ = 0;
    if (ec || closed_) {
      return;  // not TLS, a certificate refused, or too slow: dropping the last reference closes
    }
    read();
  }

  void read() {
    if (closed_) {
      return;
    }
    parser_.emplace();
    applyLimits(*parser_, shared_->limits);
    // The header first, under its own short deadline (the idle wait included)...
    waitingSince_ = std::chrono::steady_clock::now().time_since_epoch().count();
    beast::get_lowest_layer(stream_).expires_after(shared_->limits.headerTimeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::onHeader, this->shared_from_this()));
  }

  void onHeader(beast::error_code ec, std::size_t /*bytes*/) {
    waitingSince_ = 0;
    if (ec || closed_) {
      onRead(ec, 0);
      return;
    }
    // ...then the body, within what is left of the request's time.
    beast::get_lowest_layer(stream_).expires_after(shared_->limits.requestTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::onRead, this->shared_from_this()));
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
    if (websocket::is_upgrade(parser_->get()) && shared_->events != nullptr &&
        parser_->get().target().starts_with("/v1/events")) {
      upgrade(parser_->release());
      return;
    }
    write(shared_->router.serve(parser_->get(), source_));
  }

  // GET /v1/events with Upgrade: websocket (RFC 6455 §4.2): the key first, then the stream takes
  // the connection over.
  void upgrade(Request request) {
    const auto offered = offeredProtocols(request);
    const bool answerProtocol = offered.events;
    // A browser's key comes as a subprotocol (api/Auth.hpp), and is checked as a header's is.
    if (offered.bearer) {
      request.set(http::field::authorization, "Bearer " + *offered.bearer);
    }
    auto who = shared_->auth.authenticate(request, source_);
    if (auto* problem = std::get_if<Problem>(&who)) {
      write(toResponse(*problem, request.version(), false));
      return;
    }
    std::string room;
    if (auto target = boost::urls::parse_origin_form(request.target())) {
      for (auto param : target->params()) {
        if (param.key == "room") {
          room = param.value;
        }
      }
    }
    std::shared_ptr<EventStream<Stream>> stream;
    bool keyFull = false;
    {
      std::lock_guard lock(shared_->mutex);
      auto& streams = shared_->streams;
      std::erase_if(streams, [](const auto& s) { return s.expired(); });
      const int64_t key = std::get<Principal>(who).keyId;
      keyFull = std::count_if(streams.begin(), streams.end(), [&](const auto& weak) {
                  auto open = weak.lock();
                  return open && open->keyId() == key;
                }) >= static_cast<std::ptrdiff_t>(kMaxEventStreamsPerKey);
      if (!shared_->stopped && !keyFull && streams.size() < kMaxEventStreams) {
        stream = std::make_shared<EventStream<Stream>>(std::move(stream_), shared_,
                                                       std::get<Principal>(who), std::move(room));
        streams.push_back(stream);
      }
    }
    if (keyFull) {
      // One key cannot take the streams everyone shares (RFC 6585 §4: too many requests).
      write(toResponse(problemWith(http::status::too_many_requests,
                                   "this key has " + std::to_string(kMaxEventStreamsPerKey) +
                                       " event streams open already; close one first"),
                       request.version(), false));
      return;
    }
    if (!stream) {
      write(toResponse(problemWith(http::status::service_unavailable,
                                   "too many event streams open; try again later"),
                       request.version(), false));
      return;
    }
    upgraded_ = true;
    stream->run(std::move(request), answerProtocol);
  }

  static constexpr std::size_t kMaxEventStreams = 128;
  static constexpr std::size_t kMaxEventStreamsPerKey = 16;

  void write(Answer answer) {
    fileWriter_.reset();  // it refers to the answer it wrote
    answer_ = std::move(answer);
    if (auto* file = std::get_if<FileResponse>(&answer_)) {
      fileWriter_.emplace(*file);
      writeSome();
      return;
    }
    beast::get_lowest_layer(stream_).expires_after(shared_->limits.requestTimeout);
    http::async_write(stream_, std::get<Response>(answer_),
                      beast::bind_front_handler(&Session::onWrite, this->shared_from_this()));
  }

  // A file (a recording, maybe hours long) goes out a piece at a time, each piece under the
  // request timeout: the download may take as long as it takes, but a client that stops reading
  // holds the connection for that long only.
  void writeSome() {
    beast::get_lowest_layer(stream_).expires_after(shared_->limits.requestTimeout);
    http::async_write_some(
        stream_, *fileWriter_,
        beast::bind_front_handler(&Session::onWriteSome, this->shared_from_this()));
  }

  void onWriteSome(beast::error_code ec, std::size_t bytes) {
    if (!ec && !closed_ && !fileWriter_->is_done()) {
      writeSome();
      return;
    }
    onWrite(ec, bytes);
  }

  void onWrite(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec || closed_) {
      return;  // a file that could not be read to its end lands here too: the connection closes
    }
    const bool keepAlive = std::visit([](const auto& r) { return r.keep_alive(); }, answer_);
    // The answer is sent: a file closes now, not when the next request comes.
    fileWriter_.reset();
    answer_ = Response();
    if (!keepAlive) {
      shutdown();
      return;
    }
    read();
  }

  void shutdown() {
    if constexpr (kTls<Stream>) {
      // RFC 8446 §6.1: close_notify before the end of the connection, so the client can tell
      // the end of a response without a length from a cut; bounded like any write.
      beast::get_lowest_layer(stream_).expires_after(shared_->limits.headerTimeout);
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        self->socket().shutdown(tcp::socket::shutdown_send, ignored);
        self->linger();
      });
    } else {
      beast::error_code ignored;
      socket().shutdown(tcp::socket::shutdown_send, ignored);
      linger();
    }
  }

  // A connection closed while the client is still sending (a body over the limit answered with
  // 413 before it was read) would be reset by the kernel on close, and a reset can destroy the
  // answer in the client's receive buffer before it reads it (RFC 9112 §9.6). So read and drop
  // what comes until the client closes its side, for a bounded time and amount, then close.
  void linger() {
    beast::get_lowest_layer(stream_).expires_after(kLingerTime);
    lingerRead();
  }

  void lingerRead() {
    beast::get_lowest_layer(stream_).async_read_some(
        net::buffer(lingerBuffer_),
        [self = this->shared_from_this()](beast::error_code ec, std::size_t bytes) {
          self->lingered_ += bytes;
          if (!ec && self->lingered_ < kLingerBytes) {
            self->lingerRead();
          }
          // Otherwise: end of stream, timeout, or enough: the last reference closes the socket.
        });
  }

  static constexpr auto kLingerTime = std::chrono::seconds(2);
  static constexpr std::size_t kLingerBytes = 16U << 20U;
  std::array<char, 4096> lingerBuffer_{};
  std::size_t lingered_ = 0;

  Stream stream_;
  net::any_io_executor executor_;  // the connection's strand
  net::ip::address source_;        // the client, for the lockout of bad keys
  beast::flat_buffer buffer_;
  std::shared_ptr<Shared> shared_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Answer answer_;
  std::optional<http::response_serializer<FileBody>> fileWriter_;  // while a file goes out
  bool closed_ = false;
  bool upgraded_ = false;  // the connection is an EventStream's now
  std::string addressKey_;
  std::atomic<int64_t> waitingSince_{0};  // steady_clock ticks
};

class Server::Listener : public std::enable_shared_from_this<Server::Listener> {
 public:
  Listener(net::io_context& io, std::shared_ptr<Shared> shared)
      : io_(io),
        acceptor_(net::make_strand(io)),
        keyTimer_(acceptor_.get_executor()),
        shared_(std::move(shared)) {}

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
      self->keyTimer_.cancel();
    });
  }

  // An event stream outlives the request that opened it: a key revoked since (or gone with its
  // tenant) must not go on seeing the tenant's calls. Every keyRecheck the keys of the open
  // streams are looked up again, and the streams of a key that is gone are closed.
  void watchKeys() {
    keyTimer_.expires_after(shared_->limits.keyRecheck);
    keyTimer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->acceptor_.is_open()) {
        return;
      }
      self->closeRevokedStreams();
      self->watchKeys();
    });
  }

 private:
  void closeRevokedStreams() {
    std::vector<std::shared_ptr<Subscription>> open;
    {
      std::lock_guard lock(shared_->mutex);
      for (const auto& weak : shared_->streams) {
        if (auto stream = weak.lock()) {
          open.push_back(std::move(stream));
        }
      }
    }
    std::map<int64_t, bool> issued;  // one lookup per key, however many streams it holds
    for (const auto& stream : open) {
      auto [known, fresh] = issued.try_emplace(stream->keyId(), true);
      if (fresh) {
        known->second = shared_->auth.stillIssued(stream->keyId());
      }
      if (!known->second) {
        stream->close("key revoked");
      }
    }
  }

  void onAccept(beast::error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open() || ec == net::error::operation_aborted) {
      return;
    }
    if (!ec) {
      beast::error_code peerError;
      const std::string key = lockoutKey(socket.remote_endpoint(peerError).address());
      std::shared_ptr<Connection> session;
      std::shared_ptr<Connection> evicted;
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
        std::shared_ptr<Connection> longestWaiting;
        std::shared_ptr<Connection> longestWaitingThere;
        const auto waitsLonger = [](const std::shared_ptr<Connection>& s,
                                    const std::shared_ptr<Connection>& than) {
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
          if (shared_->tls != nullptr) {
            session = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
                std::move(socket), shared_, key);
          } else {
            session = std::make_shared<Session<beast::tcp_stream>>(std::move(socket), shared_, key);
          }
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
  net::steady_timer keyTimer_;
  std::shared_ptr<Shared> shared_;
};

Server::Server(net::io_context& io,
               tcp::endpoint endpoint,
               policy::Store& store,
               Limits limits,
               Live* live,
               EventHub* events,
               net::ssl::context* tls,
               WebhookOptions webhooks)
    : io_(io),
      endpoint_(std::move(endpoint)),
      shared_(std::make_shared<Shared>(store, limits, live, events, tls, webhooks)) {}

Server::~Server() {
  try {
    stop();
  } catch (const std::exception&) {
    // Only a failing mutex gets here; destroying the io_context closes what is left.
  }
}

void Server::logTo(AccessLog* log) { shared_->router.logTo(log); }

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
  if (shared_->events != nullptr) {
    listener_->watchKeys();
  }
  return {};
}

void Server::stop() {
  std::vector<std::shared_ptr<Connection>> open;
  std::vector<std::shared_ptr<Subscription>> streams;
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
    for (const auto& weak : shared_->streams) {
      if (auto stream = weak.lock()) {
        streams.push_back(std::move(stream));
      }
    }
    shared_->streams.clear();
  }
  if (listener_) {
    listener_->close();
  }
  for (const auto& session : open) {
    session->close();
  }
  for (const auto& stream : streams) {
    stream->close("server stopping");
  }
}

}  // namespace confab::api
