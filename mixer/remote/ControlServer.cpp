#include "mixer/remote/ControlServer.hpp"

#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <iostream>
#include <optional>
#include <sstream>

#include "mixer/remote/ControlTls.hpp"
#include "mixer/remote/Handshake.hpp"
#include "mixer/remote/LineStream.hpp"
#include "mixer/remote/Protocol.hpp"

namespace confab::mixer::remote {

namespace asio = boost::asio;
using asio::ip::tcp;

// One client: what it created, and the requests it sends, answered in order.
class ControlServer::Connection final : public LineStream::Listener,
                                        public std::enable_shared_from_this<Connection> {
 public:
  // 'stream': a plain socket or a TLS stream past its handshake; 'binding': that TLS session's
  // exporter value, which the proofs cover ("" without TLS).
  template <class Stream>
  Connection(ControlServer& server, Stream stream, std::string binding)
      : server_(&server),
        peer_(peerOf(lowest(stream))),
        binding_(std::move(binding)),
        stream_(std::make_shared<LineStream>(std::move(stream), *this)),
        statsTimer_(server.io_),
        heartbeatTimer_(server.io_) {}

  void start() { stream_->start(server_->settings_.helloTimeout); }

  void send(const Message& message) { stream_->send(serialize(message)); }

  // Gives back everything it owns and closes; the server forgets it next.
  void close() {
    stream_->closeAfterSending();  // a refusal still reaches the client
    statsTimer_.cancel();
    heartbeatTimer_.cancel();
    if (server_ == nullptr) {
      return;
    }
    Control& mixer = server_->mixer_;
    for (const auto& [endpoint, mix] : endpoints_) {
      mixer.release(endpoint);
      server_->endpointOwners_.erase(endpoint);
    }
    endpoints_.clear();
    for (const auto& [clientMix, serverMix] : mixes_) {
      mixer.destroyMix(serverMix);
      server_->mixOwners_.erase(serverMix);
    }
    mixes_.clear();
    clientMixes_.clear();
    server_ = nullptr;
  }

  [[nodiscard]] std::optional<MixId> clientMixOf(MixId serverMix) const {
    auto found = clientMixes_.find(serverMix);
    return found == clientMixes_.end() ? std::nullopt : std::optional<MixId>(found->second);
  }

 private:
  void onLine(std::string_view line) override {
    auto parsed = parse(line);
    if (!parsed) {
      send(Failed{parsed.error().id, parsed.error().message});
      if (!greeted_) {
        stream_->closeAfterSending();
        drop();
      }
      return;
    }
    if (!greeted_) {
      if (auto refusal = greet(*parsed)) {
        send(Failed{requestIdOf(*parsed), *refusal});
        stream_->closeAfterSending();
        drop();
      }
      return;
    }
    std::visit([this](auto& message) { handle(message); }, *parsed);
  }

  void onClosed(const std::string& /*why*/) override { drop(); }

  static const tcp::socket& lowest(const tcp::socket& socket) { return socket; }
  static const tcp::socket& lowest(const TlsStream& stream) { return stream.next_layer(); }

  static std::string peerOf(const tcp::socket& socket) {
    boost::system::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    if (ec) {
      return "?";
    }
    std::ostringstream out;
    out << remote;
    return out.str();
  }

  // The handshake (docs/mixer-protocol.md): hello, and with a secret a challenge and the
  // client's proof, before any request. A refusal to send before closing, or nothing.
  std::optional<std::string> greet(const Message& message) {
    const std::string& secret = server_->settings_.secret;
    if (clientNonce_.empty()) {
      const auto* hello = std::get_if<Hello>(&message);
      if (hello == nullptr) {
        return "say hello first";
      }
      if (hello->version != kProtocolVersion) {
        return "protocol version " + std::to_string(hello->version) +
               " not supported; this mixer speaks " + std::to_string(kProtocolVersion);
      }
      if (secret.empty()) {
        ready({});
        return std::nullopt;
      }
      if (!isNonce(hello->nonce)) {
        refused("no nonce in hello");
        return "this mixer wants authentication: give confab the shared secret "
               "(mixer-secret-file)";
      }
      clientNonce_ = hello->nonce;
      serverNonce_ = makeNonce();
      send(Challenge{serverNonce_});
      return std::nullopt;
    }
    const auto* answer = std::get_if<Authenticate>(&message);
    if (answer == nullptr) {
      return "authenticate first";
    }
    if (!verifyHandshakeProof(secret, HandshakeSide::kClient, clientNonce_, serverNonce_,
                              answer->proof, binding_)) {
      refused("wrong proof");
      return "authentication failed";
    }
    ready(handshakeProof(secret, HandshakeSide::kServer, clientNonce_, serverNonce_, binding_));
    return std::nullopt;
  }

  void ready(std::string proof) {
    greeted_ = true;
    stream_->setIdleTimeout(std::chrono::milliseconds(0));
    Hello hello;
    hello.mediaAddress = server_->settings_.mediaAddress;
    hello.proof = std::move(proof);
    hello.heartbeatMs = server_->settings_.heartbeatInterval.count();
    send(hello);
    scheduleStats();
    scheduleHeartbeat();
  }

  // Who knocks without the secret is worth an operator's attention.
  void refused(const char* why) const {
    std::cerr << "confab-mixer: refused control connection from " << peer_ << ": " << why << "\n";
  }

  // Leaves the server's books (which closes us); safe from our own handlers.
  void drop() {
    auto self = shared_from_this();
    if (server_ != nullptr) {
      server_->forget(*this);
    }
  }

  Control& mixer() { return server_->mixer_; }

  void handle(const Hello& m) {
    send(Failed{0, "hello again (version " + std::to_string(m.version) + ")"});
  }
  void handle(const Authenticate& /*m*/) { send(Failed{0, "authenticated already"}); }

  void handle(const CreateMix& m) {
    if (mixes_.count(m.mix) != 0) {
      send(Failed{m.id, "mix " + std::to_string(m.mix) + " exists already"});
      return;
    }
    const MixId serverMix = mixer().createMix(m.settings);
    mixes_[m.mix] = serverMix;
    clientMixes_[serverMix] = m.mix;
    server_->mixOwners_[serverMix] = this;
    send(Ok{m.id});
  }

  void handle(const DestroyMix& m) {
    auto found = mixes_.find(m.mix);
    if (found == mixes_.end()) {
      send(Failed{m.id, "no mix " + std::to_string(m.mix)});
      return;
    }
    const MixId serverMix = found->second;
    mixer().destroyMix(serverMix);
    // The mixer forgets the mix's participants with it.
    for (auto it = endpoints_.begin(); it != endpoints_.end();) {
      if (it->second == serverMix) {
        server_->endpointOwners_.erase(it->first);
        it = endpoints_.erase(it);
      } else {
        ++it;
      }
    }
    server_->mixOwners_.erase(serverMix);
    clientMixes_.erase(serverMix);
    mixes_.erase(found);
    send(Ok{m.id});
  }

  void handle(const Reserve& m) {
    auto reservation = mixer().reserve();
    if (!reservation) {
      send(Failed{m.id, "no media ports free"});
      return;
    }
    endpoints_[reservation->id] = std::nullopt;
    server_->endpointOwners_[reservation->id] = this;
    send(Reserved{m.id, reservation->id, reservation->rtpPort});
  }

  void handle(const Join& m) {
    auto endpoint = endpoints_.find(m.endpoint);
    auto mix = mixes_.find(m.mix);
    if (endpoint == endpoints_.end() || endpoint->second) {
      send(Failed{m.id, "no reserved endpoint " + std::to_string(m.endpoint)});
      return;
    }
    if (mix == mixes_.end()) {
      send(Failed{m.id, "no mix " + std::to_string(m.mix)});
      return;
    }
    if (!mixer().join(m.endpoint, mix->second, m.media)) {
      // The mixer closed the reserved ports with the failed attempt.
      mixer().release(m.endpoint);
      endpoints_.erase(endpoint);
      server_->endpointOwners_.erase(m.endpoint);
      send(Failed{m.id, "the mixer refused the endpoint (unusable SRTP keys?)"});
      return;
    }
    endpoint->second = mix->second;
    send(Ok{m.id});
  }

  // The endpoint, if this connection joined it to a mix.
  bool joined(EndpointId endpoint) const {
    auto found = endpoints_.find(endpoint);
    return found != endpoints_.end() && found->second.has_value();
  }

  void handle(const Update& m) {
    if (!joined(m.endpoint)) {
      send(Failed{m.id, "no joined endpoint " + std::to_string(m.endpoint)});
      return;
    }
    if (!mixer().update(m.endpoint, m.media)) {
      send(Failed{m.id, "the mixer refused the update"});
      return;
    }
    send(Ok{m.id});
  }

  void handle(const Move& m) {
    if (!joined(m.endpoint)) {
      send(Failed{m.id, "no joined endpoint " + std::to_string(m.endpoint)});
      return;
    }
    auto mix = mixes_.find(m.mix);
    if (mix == mixes_.end()) {
      send(Failed{m.id, "no mix " + std::to_string(m.mix)});
      return;
    }
    if (!mixer().move(m.endpoint, mix->second)) {
      send(Failed{m.id, "the mixer refused the move"});
      return;
    }
    endpoints_[m.endpoint] = mix->second;
    send(Ok{m.id});
  }

  void handle(const Release& m) {
    auto found = endpoints_.find(m.endpoint);
    if (found == endpoints_.end()) {
      send(Failed{m.id, "no endpoint " + std::to_string(m.endpoint)});
      return;
    }
    mixer().release(m.endpoint);
    endpoints_.erase(found);
    server_->endpointOwners_.erase(m.endpoint);
    send(Ok{m.id});
  }

  void handle(const SetControls& m) {
    if (!joined(m.endpoint)) {
      send(Failed{m.id, "no joined endpoint " + std::to_string(m.endpoint)});
      return;
    }
    mixer().setControls(m.endpoint, m.controls);
    send(Ok{m.id});
  }

  // The server's id of a mix this connection created.
  std::optional<MixId> serverMixOf(RequestId id, MixId clientMix) {
    auto found = mixes_.find(clientMix);
    if (found == mixes_.end()) {
      send(Failed{id, "no mix " + std::to_string(clientMix)});
      return std::nullopt;
    }
    return found->second;
  }

  void handle(const StartRecording& m) {
    if (auto mix = serverMixOf(m.id, m.mix)) {
      if (mixer().startRecording(*mix, m.path, m.format)) {
        send(Ok{m.id});
      } else {
        send(Failed{m.id, "the mixer cannot record this mix now"});
      }
    }
  }
  void handle(const StopRecording& m) {
    if (auto mix = serverMixOf(m.id, m.mix)) {
      mixer().stopRecording(*mix);
      send(Ok{m.id});
    }
  }
  void handle(const Play& m) {
    if (auto mix = serverMixOf(m.id, m.mix)) {
      if (mixer().play(*mix, m.path)) {
        send(Ok{m.id});
      } else {
        send(Failed{m.id, "the mixer cannot play into this mix now"});
      }
    }
  }
  void handle(const StopPlaying& m) {
    if (auto mix = serverMixOf(m.id, m.mix)) {
      mixer().stopPlaying(*mix);
      send(Ok{m.id});
    }
  }

  // Responses and events go the other way.
  template <class Other>
  void handle(const Other& m) {
    RequestId id = 0;
    if constexpr (requires { m.id; }) {
      id = m.id;
    }
    send(Failed{id, "not a request"});
  }

  void scheduleStats() {
    statsTimer_.expires_after(server_->settings_.statsInterval);
    statsTimer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || self->server_ == nullptr) {
        return;
      }
      self->pushStats();
      self->scheduleStats();
    });
  }

  // Between stats pushes, which carry everything and may be long, a short line that says this
  // mixer is alive (docs/mixer-protocol.md, "Stats pushes").
  void scheduleHeartbeat() {
    heartbeatTimer_.expires_after(server_->settings_.heartbeatInterval);
    heartbeatTimer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || self->server_ == nullptr) {
        return;
      }
      self->send(EngineStatsEvent{self->mixer().engineStats()});
      self->scheduleHeartbeat();
    });
  }

  void pushStats() {
    for (const auto& [clientMix, serverMix] : mixes_) {
      if (auto stats = mixer().mixStats(serverMix)) {
        send(MixStatsEvent{clientMix, *stats});
      }
    }
    for (const auto& [endpoint, mix] : endpoints_) {
      if (!mix) {
        continue;
      }
      if (auto stats = mixer().endpointStats(endpoint)) {
        send(EndpointStatsEvent{endpoint, *stats});
      }
    }
    send(EngineStatsEvent{mixer().engineStats()});
  }

  ControlServer* server_;
  std::string peer_;  // address:port, for the log
  std::string binding_;
  std::shared_ptr<LineStream> stream_;
  asio::steady_timer statsTimer_;
  asio::steady_timer heartbeatTimer_;
  bool greeted_ = false;
  // The handshake's nonces; the client's is set once its hello came (with a secret only).
  std::string clientNonce_;
  std::string serverNonce_;
  std::unordered_map<MixId, MixId> mixes_;        // client's id -> server's id
  std::unordered_map<MixId, MixId> clientMixes_;  // server's id -> client's id
  // Reserved endpoints (server ids) and the server mix each joined, if it did.
  std::unordered_map<EndpointId, std::optional<MixId>> endpoints_;
};

// The local mixer's events, each to the connection that owns the endpoint or mix.
class ControlServer::EventRouter final : public MixerEvents {
 public:
  explicit EventRouter(ControlServer& server) : server_(server) {}

  void onDtmf(EndpointId endpoint, char digit) override {
    toOwner(endpoint, DtmfEvent{endpoint, digit});
  }
  void onRtpTimeout(EndpointId endpoint) override { toOwner(endpoint, RtpTimeoutEvent{endpoint}); }
  void onEndpointFailed(EndpointId endpoint) override {
    toOwner(endpoint, EndpointFailedEvent{endpoint});
  }
  void onTalking(EndpointId endpoint, bool talking) override {
    toOwner(endpoint, TalkingEvent{endpoint, talking});
  }
  void onMediaSource(EndpointId endpoint, const MediaSourceEvent& event) override {
    toOwner(endpoint, SourceEvent{endpoint, event});
  }
  void onMixerFault(EndpointId endpoint, MixId mix, const std::string& what) override {
    // Logged here, on the machine whose mixer thread it was; a leg's fault also ends its call
    // (an endpointFailed event follows), and engine stats count every fault.
    std::cerr << "confab-mixer: error: exception on a mixer thread (endpoint " << endpoint
              << ", mix " << mix << "): " << what << std::endl;
  }
  void onPlaybackEnded(MixId mix, MediaFileEnd how) override {
    if (auto [owner, clientMix] = ownerOfMix(mix); owner != nullptr) {
      owner->send(PlaybackEndedEvent{clientMix, how});
    }
  }
  void onRecordingEnded(MixId mix, MediaFileEnd how) override {
    if (auto [owner, clientMix] = ownerOfMix(mix); owner != nullptr) {
      owner->send(RecordingEndedEvent{clientMix, how});
    }
  }

 private:
  void toOwner(EndpointId endpoint, const Message& message) {
    auto found = server_.endpointOwners_.find(endpoint);
    if (found != server_.endpointOwners_.end()) {
      found->second->send(message);
    }
  }
  std::pair<Connection*, MixId> ownerOfMix(MixId serverMix) {
    auto found = server_.mixOwners_.find(serverMix);
    if (found == server_.mixOwners_.end()) {
      return {nullptr, 0};
    }
    auto clientMix = found->second->clientMixOf(serverMix);
    return {clientMix ? found->second : nullptr, clientMix.value_or(0)};
  }

  ControlServer& server_;
};

ControlServer::ControlServer(asio::io_context& io, Control& mixer, ControlServerSettings settings)
    : io_(io),
      mixer_(mixer),
      settings_(std::move(settings)),
      acceptor_(io),
      mixerEvents_(io, ::dup(mixer.eventFd())),
      router_(std::make_unique<EventRouter>(*this)),
      tls_(settings_.tls ? makeServerTlsContext() : nullptr) {}

ControlServer::~ControlServer() {
  try {
    stop();
  } catch (...) {
    // Out of memory while saying goodbye: the sockets close with the process or the io_context.
  }
}

boost::system::error_code ControlServer::start() {
  boost::system::error_code ec;
  acceptor_.open(settings_.listen.protocol(), ec);
  if (!ec) {
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor_.bind(settings_.listen, ec);
  }
  if (!ec) {
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return ec;
  }
  accept();
  waitForMixerEvents();
  return {};
}

void ControlServer::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  mixerEvents_.cancel(ignored);
  while (!connections_.empty()) {
    forget(*connections_.begin()->first);
  }
}

tcp::endpoint ControlServer::localEndpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void ControlServer::adopt(std::shared_ptr<Connection> connection) {
  connections_[connection.get()] = connection;
  connection->start();
}

// The TLS handshake, bounded like hello: a peer that starts one and stalls holds a connection
// slot for helloTimeout at most.
void ControlServer::handshake(tcp::socket socket) {
  auto stream = std::make_shared<TlsStream>(std::move(socket), *tls_);
  auto timer = std::make_shared<asio::steady_timer>(io_, settings_.helloTimeout);
  ++tlsHandshakes_;
  timer->async_wait([stream](const boost::system::error_code& ec) {
    if (!ec) {
      boost::system::error_code ignored;
      stream->next_layer().close(ignored);
    }
  });
  stream->async_handshake(
      asio::ssl::stream_base::server,
      [this, stream, timer](const boost::system::error_code& ec) {
        timer->cancel();
        --tlsHandshakes_;
        if (ec || !acceptor_.is_open()) {
          return;  // not TLS, too slow, or the server stopped meanwhile
        }
        std::string binding = channelBinding(*stream);
        if (binding.empty()) {
          return;
        }
        adopt(std::make_shared<Connection>(*this, std::move(*stream), std::move(binding)));
      });
}

void ControlServer::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
      return;
    }
    if (!ec) {
      if (connections_.size() + tlsHandshakes_ >= settings_.maxConnections) {
        boost::system::error_code ignored;
        socket.close(ignored);
      } else if (tls_) {
        handshake(std::move(socket));
      } else {
        adopt(std::make_shared<Connection>(*this, std::move(socket), std::string()));
      }
    }
    accept();
  });
}

void ControlServer::waitForMixerEvents() {
  mixerEvents_.async_wait(asio::posix::stream_descriptor::wait_read,
                          [this](const boost::system::error_code& ec) {
                            if (ec) {
                              return;
                            }
                            mixer_.deliverEvents(*router_);
                            waitForMixerEvents();
                          });
}

void ControlServer::forget(Connection& connection) {
  auto found = connections_.find(&connection);
  if (found == connections_.end()) {
    return;
  }
  auto keep = found->second;  // alive until we are done with it
  connections_.erase(found);
  keep->close();
}

}  // namespace confab::mixer::remote
