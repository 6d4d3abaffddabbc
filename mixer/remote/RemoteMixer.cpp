#include "mixer/remote/RemoteMixer.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdlib>
#include <stdexcept>

#include "mixer/remote/ControlTls.hpp"
#include "mixer/remote/Handshake.hpp"
#include "mixer/remote/LineStream.hpp"

namespace confab::mixer::remote {

namespace asio = boost::asio;
using asio::ip::tcp;

// The link's side: the connection, its requests in flight and the stock refill. Everything here
// runs on the link's thread; the caller's thread reaches it only by posting to io_.
class RemoteMixer::Link final : public LineStream::Listener {
 public:
  explicit Link(RemoteMixer& owner)
      : owner_(owner),
        work_(asio::make_work_guard(io_)),
        connectTimer_(io_),
        retryTimer_(io_),
        backoff_(owner.settings_.reconnectMin),
        tls_(owner.settings_.tls ? makeClientTlsContext() : nullptr) {}

  asio::io_context& io() { return io_; }

  void run() { io_.run(); }

  // Closes everything; run() returns once the handlers have finished.
  void shutdown() {
    stopping_ = true;
    connectTimer_.cancel();
    retryTimer_.cancel();
    if (socket_) {
      boost::system::error_code ignored;
      socket_->close(ignored);
    }
    if (handshaking_) {
      boost::system::error_code ignored;
      handshaking_->next_layer().close(ignored);
    }
    if (stream_) {
      stream_->close();
    }
    work_.reset();
  }

  void connect() {
    if (stopping_) {
      return;
    }
    socket_ = std::make_unique<tcp::socket>(io_);
    connectTimer_.expires_after(owner_.settings_.connectTimeout);
    connectTimer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && socket_) {
        boost::system::error_code ignored;
        socket_->close(ignored);  // the connect below completes with an error
      }
    });
    socket_->async_connect(owner_.settings_.server, [this](const boost::system::error_code& ec) {
      connectTimer_.cancel();
      if (stopping_) {
        return;
      }
      if (ec) {
        retryLater();
        return;
      }
      if (tls_) {
        secure();
        return;
      }
      binding_.clear();
      begin(std::make_shared<LineStream>(std::move(*socket_), *this));
      socket_.reset();
    });
  }

  // TLS on the connected socket, bounded by connectTimeout like the connect itself.
  void secure() {
    handshaking_ = std::make_shared<TlsStream>(std::move(*socket_), *tls_);
    socket_.reset();
    connectTimer_.expires_after(owner_.settings_.connectTimeout);
    connectTimer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && handshaking_) {
        boost::system::error_code ignored;
        handshaking_->next_layer().close(ignored);
      }
    });
    handshaking_->async_handshake(
        asio::ssl::stream_base::client, [this](const boost::system::error_code& ec) {
          connectTimer_.cancel();
          auto stream = std::move(handshaking_);
          if (stopping_) {
            return;
          }
          binding_ = ec ? std::string() : channelBinding(*stream);
          if (binding_.empty()) {
            noteRefusal("no TLS with the mixer (does it run with --tls?): " +
                        (ec ? ec.message() : std::string("no exporter value")));
            retryLater();
            return;
          }
          begin(std::make_shared<LineStream>(std::move(*stream), *this));
        });
  }

  void begin(std::shared_ptr<LineStream> stream) {
    stream_ = std::move(stream);
    stream_->start(owner_.settings_.idleTimeout);
    Hello hello;
    if (!owner_.settings_.secret.empty()) {
      nonce_ = makeNonce();
      serverNonce_.clear();
      hello.nonce = nonce_;
    }
    stream_->send(serialize(hello));
  }

  // ---- from the caller's thread (posted) ----

  void createMix(MixId mix, const RoomSettings& settings) {
    mixes_[mix] = settings;
    if (generation_ != 0) {
      send(CreateMix{nextId(), mix, settings});
    }
  }

  void destroyMix(MixId mix, const std::vector<std::pair<EndpointId, uint64_t>>& endpoints) {
    mixes_.erase(mix);
    for (const auto& [serverId, generation] : endpoints) {
      if (generation == generation_) {
        serverToClient_.erase(serverId);
      }
    }
    if (generation_ != 0) {
      send(DestroyMix{nextId(), mix});
    }
  }

  void join(EndpointId client,
            EndpointId serverId,
            uint64_t generation,
            MixId mix,
            const MediaParams& params) {
    if (generation != generation_ || generation_ == 0) {
      owner_.push(Message(EndpointFailedEvent{client}));
      return;
    }
    serverToClient_[serverId] = client;
    const RequestId id = nextId();
    pending_[id] = Pending{Pending::kEndpoint, client, 0};
    send(Join{id, serverId, mix, params});
  }

  void update(EndpointId client,
              EndpointId serverId,
              uint64_t generation,
              const MediaParams& params) {
    if (generation != generation_ || generation_ == 0) {
      owner_.push(Message(EndpointFailedEvent{client}));
      return;
    }
    const RequestId id = nextId();
    pending_[id] = Pending{Pending::kEndpoint, client, 0};
    send(Update{id, serverId, params});
  }

  void move(EndpointId client, EndpointId serverId, uint64_t generation, MixId mix) {
    if (generation != generation_ || generation_ == 0) {
      owner_.push(Message(EndpointFailedEvent{client}));
      return;
    }
    const RequestId id = nextId();
    pending_[id] = Pending{Pending::kEndpoint, client, 0};
    send(Move{id, serverId, mix});
  }

  void release(EndpointId serverId, uint64_t generation) {
    if (generation != generation_ || generation_ == 0) {
      return;  // that server forgot it with the connection
    }
    serverToClient_.erase(serverId);
    send(Release{nextId(), serverId});
  }

  // A request about an endpoint whose failure matters to nobody (its controls).
  template <class Request>
  void sendFor(uint64_t generation, Request request) {
    if (generation != generation_ || generation_ == 0) {
      return;
    }
    request.id = nextId();
    send(request);
  }

  // A file request: a refusal, or no connection, ends the recording or playback with kError.
  template <class Request>
  void sendFile(Request request, bool recording) {
    const Pending::Kind kind = recording ? Pending::kRecording : Pending::kPlayback;
    if (generation_ == 0) {
      fileFailed(kind, request.mix);
      return;
    }
    request.id = nextId();
    pending_[request.id] = Pending{kind, 0, request.mix};
    send(request);
  }

  template <class Request>
  void sendMix(Request request) {
    if (generation_ != 0) {
      request.id = nextId();
      send(request);
    }
  }

  // Reserves ahead until the stock (with what is on its way) is full again.
  void refill() {
    if (generation_ == 0) {
      return;
    }
    std::size_t stocked = 0;
    {
      std::lock_guard lock(owner_.mutex_);
      stocked = owner_.shared_.stock.size();
    }
    while (stocked + reservesInFlight_ < owner_.settings_.stock) {
      const RequestId id = nextId();
      pending_[id] = Pending{Pending::kReserve, 0, 0};
      ++reservesInFlight_;
      send(Reserve{id});
    }
  }

 private:
  struct Pending {
    enum Kind { kReserve, kEndpoint, kRecording, kPlayback } kind = kReserve;
    EndpointId client = 0;
    MixId mix = 0;
  };

  RequestId nextId() { return nextRequest_++; }

  void send(const Message& message) {
    if (stream_) {
      stream_->send(serialize(message));
    }
  }

  void fileFailed(Pending::Kind kind, MixId mix) {
    if (kind == Pending::kRecording) {
      owner_.push(Message(RecordingEndedEvent{mix, MediaFileEnd::kError}));
    } else {
      owner_.push(Message(PlaybackEndedEvent{mix, MediaFileEnd::kError}));
    }
  }

  // The caller's id for a server endpoint of this connection.
  std::optional<EndpointId> clientOf(EndpointId serverId) const {
    auto found = serverToClient_.find(serverId);
    return found == serverToClient_.end() ? std::nullopt : std::optional(found->second);
  }

  void onLine(std::string_view line) override {
    auto parsed = parse(line);
    if (!parsed) {
      // Only a server of another build sends what we cannot read (the version matched): skip
      // the line rather than drop every call with the connection.
      return;
    }
    Message& message = *parsed;
    if (generation_ == 0) {
      handshake(message);
      return;
    }
    if (const auto* ok = std::get_if<Ok>(&message)) {
      pending_.erase(ok->id);
    } else if (const auto* reserved = std::get_if<Reserved>(&message)) {
      if (pending_.erase(reserved->id) != 0) {
        --reservesInFlight_;
        {
          std::lock_guard lock(owner_.mutex_);
          owner_.shared_.stock.push_back(
              Stocked{reserved->endpoint, reserved->rtpPort, generation_});
        }
        owner_.changed_.notify_all();
      }
    } else if (const auto* failed = std::get_if<Failed>(&message)) {
      onFailed(*failed);
    } else if (auto* event = std::get_if<DtmfEvent>(&message)) {
      forEndpoint(event->endpoint, message);
    } else if (auto* timeout = std::get_if<RtpTimeoutEvent>(&message)) {
      forEndpoint(timeout->endpoint, message);
    } else if (auto* endpointFailed = std::get_if<EndpointFailedEvent>(&message)) {
      forEndpoint(endpointFailed->endpoint, message);
    } else if (auto* talking = std::get_if<TalkingEvent>(&message)) {
      forEndpoint(talking->endpoint, message);
    } else if (auto* source = std::get_if<SourceEvent>(&message)) {
      forEndpoint(source->endpoint, message);
    } else if (auto* stats = std::get_if<EndpointStatsEvent>(&message)) {
      forEndpoint(stats->endpoint, message);
    } else if (std::holds_alternative<EngineStatsEvent>(message)) {
      refill();  // the server's heartbeat: a stock short after running out of ports refills
      owner_.push(std::move(message));
    } else if (std::holds_alternative<MixStatsEvent>(message) ||
               std::holds_alternative<PlaybackEndedEvent>(message) ||
               std::holds_alternative<RecordingEndedEvent>(message)) {
      owner_.push(std::move(message));  // mix ids are ours already
    }
    // Requests and hellos from a server are nonsense; ignored.
  }

  // Rewrites the server's endpoint id in 'message' to ours and hands it over.
  void forEndpoint(EndpointId& endpoint, Message& message) {
    if (auto client = clientOf(endpoint)) {
      endpoint = *client;
      owner_.push(std::move(message));
    }
  }

  void onFailed(const Failed& failed) {
    auto found = pending_.find(failed.id);
    if (found == pending_.end()) {
      return;  // a release or a setting refused: nothing waits for it
    }
    const Pending pending = found->second;
    pending_.erase(found);
    switch (pending.kind) {
      case Pending::kReserve:
        // Out of ports: asked again with the next reserve() or the next engine stats (each
        // second), since ports come free as calls end.
        --reservesInFlight_;
        break;
      case Pending::kEndpoint:
        owner_.push(Message(EndpointFailedEvent{pending.client}));
        break;
      case Pending::kRecording:
      case Pending::kPlayback:
        fileFailed(pending.kind, pending.mix);
        break;
    }
  }

  // Until the server's hello: with a secret, its challenge answered and its own proof checked
  // (docs/mixer-protocol.md, "Authentication"). A failed handshake drops the connection and is
  // kept as refusal() for the log; the link tries again with backoff.
  void handshake(const Message& message) {
    const std::string& secret = owner_.settings_.secret;
    if (const auto* challenge = std::get_if<Challenge>(&message)) {
      if (secret.empty()) {
        refuse(
            "the mixer wants authentication: give confab the shared secret "
            "(mixer-secret-file)");
      } else if (!serverNonce_.empty() || !isNonce(challenge->nonce)) {
        refuse("the mixer sent a bad challenge");
      } else {
        serverNonce_ = challenge->nonce;
        send(Authenticate{
            handshakeProof(secret, HandshakeSide::kClient, nonce_, serverNonce_, binding_)});
      }
      return;
    }
    const auto* hello = std::get_if<Hello>(&message);
    if (hello == nullptr) {
      const auto* failed = std::get_if<Failed>(&message);
      refuse(failed != nullptr ? "the mixer refused us: " + failed->message
                               : std::string("the mixer spoke before hello"));
    } else if (hello->version != kProtocolVersion) {
      refuse("the mixer speaks protocol version " + std::to_string(hello->version) + ", not " +
             std::to_string(kProtocolVersion));
    } else if (!secret.empty() &&
               !verifyHandshakeProof(secret, HandshakeSide::kServer, nonce_, serverNonce_,
                                     hello->proof, binding_)) {
      // A server without the secret (or one that skipped the challenge) is not ours to trust
      // with calls' media keys.
      refuse("the mixer did not prove it knows the secret");
    } else {
      noteRefusal({});
      greeted(hello->mediaAddress, hello->heartbeatMs);
    }
  }

  void refuse(std::string why) {
    noteRefusal(std::move(why));
    drop();
  }

  void noteRefusal(std::string why) {
    std::lock_guard lock(owner_.mutex_);
    owner_.shared_.refusal = std::move(why);
  }

  void greeted(const std::string& mediaAddress, int64_t heartbeatMs) {
    if (heartbeatMs > 0) {
      // Three beats missed (and a margin for the network) and the mixer is taken as hung; a
      // server from before heartbeats keeps the settings' timeout, three of its stats pushes.
      const int64_t beat = std::clamp<int64_t>(heartbeatMs, 10, 60 * 1000);
      stream_->setIdleTimeout(std::chrono::milliseconds(3 * beat + 100));
    }
    generation_ = ++generations_;
    backoff_ = owner_.settings_.reconnectMin;
    {
      std::lock_guard lock(owner_.mutex_);
      owner_.shared_.generation = generation_;
      owner_.shared_.mediaAddress = mediaAddress;
    }
    owner_.changed_.notify_all();
    // A new server (or the same one again) knows none of our mixes: tell it those in use.
    for (const auto& [mix, settings] : mixes_) {
      send(CreateMix{nextId(), mix, settings});
    }
    refill();
  }

  void onClosed(const std::string& /*why*/) override { drop(); }

  void drop() {
    if (stream_) {
      stream_->close();
      stream_.reset();
    }
    if (generation_ != 0) {
      {
        std::lock_guard lock(owner_.mutex_);
        owner_.shared_.generation = 0;
        owner_.shared_.stock.clear();
      }
      owner_.push(Disconnected{generation_});
      for (const auto& [id, pending] : pending_) {
        if (pending.kind == Pending::kRecording || pending.kind == Pending::kPlayback) {
          fileFailed(pending.kind, pending.mix);
        }
      }
    }
    generation_ = 0;
    pending_.clear();
    serverToClient_.clear();
    reservesInFlight_ = 0;
    retryLater();
  }

  void retryLater() {
    if (stopping_) {
      return;
    }
    socket_.reset();
    retryTimer_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, owner_.settings_.reconnectMax);
    retryTimer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) {
        connect();
      }
    });
  }

  RemoteMixer& owner_;
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::steady_timer connectTimer_;
  asio::steady_timer retryTimer_;
  std::chrono::milliseconds backoff_;
  std::unique_ptr<tcp::socket> socket_;  // while connecting
  // With settings.tls: the client context, and the stream during its TLS handshake.
  std::unique_ptr<asio::ssl::context> tls_;
  std::shared_ptr<TlsStream> handshaking_;
  std::string binding_;  // the connection's TLS exporter value; "" without TLS
  std::shared_ptr<LineStream> stream_;
  bool stopping_ = false;
  uint64_t generation_ = 0;  // of the greeted connection; 0: none
  // This connection's handshake nonces (with a secret only).
  std::string nonce_;
  std::string serverNonce_;
  uint64_t generations_ = 0;
  RequestId nextRequest_ = 1;
  std::unordered_map<RequestId, Pending> pending_;
  std::size_t reservesInFlight_ = 0;
  std::unordered_map<EndpointId, EndpointId> serverToClient_;
  std::unordered_map<MixId, RoomSettings> mixes_;  // in use, re-created on reconnect
};

// ---- the caller's side
// ---------------------------------------------------------------------------

RemoteMixer::RemoteMixer(RemoteMixerSettings settings) : settings_(std::move(settings)) {
  eventFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (eventFd_ < 0) {
    throw std::runtime_error("remote mixer: cannot create its event descriptor");
  }
  link_ = std::make_unique<Link>(*this);
  asio::post(link_->io(), [this] { link_->connect(); });
  thread_ = std::thread([this] { link_->run(); });
}

RemoteMixer::~RemoteMixer() {
  try {
    asio::post(link_->io(), [this] { link_->shutdown(); });
    thread_.join();
  } catch (...) {
    // Only a failed allocation or a broken thread gets here, and the link thread would then
    // outlive the object it works for.
    std::abort();
  }
  link_.reset();
  ::close(eventFd_);
}

template <class Action>
void RemoteMixer::toLink(Action action) {
  asio::post(link_->io(), std::move(action));
}

void RemoteMixer::push(Inbound inbound) {
  {
    std::lock_guard lock(mutex_);
    shared_.inbound.push_back(std::move(inbound));
  }
  const uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(eventFd_, &one, sizeof(one));
}

bool RemoteMixer::waitUntilReady(std::chrono::milliseconds timeout, std::size_t endpoints) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(
      lock, timeout, [&] { return shared_.generation != 0 && shared_.stock.size() >= endpoints; });
}

bool RemoteMixer::connected() const {
  std::lock_guard lock(mutex_);
  return shared_.generation != 0;
}

std::string RemoteMixer::refusal() const {
  std::lock_guard lock(mutex_);
  return shared_.refusal;
}

MixId RemoteMixer::createMix(const RoomSettings& settings) {
  const MixId mix = nextMix_++;
  mixes_[mix] = MixStats{};
  toLink([this, mix, settings] { link_->createMix(mix, settings); });
  return mix;
}

void RemoteMixer::destroyMix(MixId mix) {
  if (mixes_.erase(mix) == 0) {
    return;
  }
  staleEnds_.erase(mix);
  // Like the in-process mixer: the mix's participants go with it.
  std::vector<std::pair<EndpointId, uint64_t>> gone;
  for (auto it = endpoints_.begin(); it != endpoints_.end();) {
    if (it->second.mix == mix) {
      gone.emplace_back(it->second.serverId, it->second.generation);
      endpointStats_.erase(it->first);
      it = endpoints_.erase(it);
    } else {
      ++it;
    }
  }
  toLink([this, mix, gone = std::move(gone)] { link_->destroyMix(mix, gone); });
}

std::optional<Reservation> RemoteMixer::reserve() {
  std::optional<Stocked> taken;
  std::string address;
  {
    std::lock_guard lock(mutex_);
    while (!shared_.stock.empty() && !taken) {
      if (shared_.stock.front().generation == shared_.generation) {
        taken = shared_.stock.front();
        address = shared_.mediaAddress;
      }
      shared_.stock.pop_front();
    }
  }
  toLink([this] { link_->refill(); });
  if (!taken) {
    return std::nullopt;
  }
  const EndpointId id = nextEndpoint_++;
  endpoints_[id] = Endpoint{taken->serverId, taken->generation, std::nullopt, false};
  return Reservation{id, taken->rtpPort, address};
}

bool RemoteMixer::join(EndpointId endpoint, MixId mix, const MediaParams& params) {
  auto found = endpoints_.find(endpoint);
  if (found == endpoints_.end() || found->second.mix || found->second.failed ||
      mixes_.count(mix) == 0) {
    return false;
  }
  {
    std::lock_guard lock(mutex_);
    if (shared_.generation != found->second.generation) {
      return false;  // reserved on a connection that is gone
    }
  }
  found->second.mix = mix;
  endpointStats_[endpoint] = MediaStats{};
  toLink([this, endpoint, e = found->second, mix, params] {
    link_->join(endpoint, e.serverId, e.generation, mix, params);
  });
  return true;
}

RemoteMixer::Endpoint* RemoteMixer::live(EndpointId endpoint) {
  auto found = endpoints_.find(endpoint);
  if (found == endpoints_.end() || !found->second.mix || found->second.failed) {
    return nullptr;
  }
  return &found->second;
}

bool RemoteMixer::update(EndpointId endpoint, const MediaParams& params) {
  Endpoint* e = live(endpoint);
  if (e == nullptr) {
    return false;
  }
  toLink([this, endpoint, serverId = e->serverId, generation = e->generation, params] {
    link_->update(endpoint, serverId, generation, params);
  });
  return true;
}

bool RemoteMixer::move(EndpointId endpoint, MixId mix) {
  Endpoint* e = live(endpoint);
  if (e == nullptr || mixes_.count(mix) == 0) {
    return false;
  }
  e->mix = mix;
  toLink([this, endpoint, serverId = e->serverId, generation = e->generation, mix] {
    link_->move(endpoint, serverId, generation, mix);
  });
  return true;
}

void RemoteMixer::release(EndpointId endpoint) {
  auto found = endpoints_.find(endpoint);
  if (found == endpoints_.end()) {
    return;
  }
  toLink([this, serverId = found->second.serverId, generation = found->second.generation] {
    link_->release(serverId, generation);
  });
  endpoints_.erase(found);
  endpointStats_.erase(endpoint);
}

void RemoteMixer::setControls(EndpointId endpoint, const Controls& controls) {
  if (Endpoint* e = live(endpoint)) {
    toLink([this, generation = e->generation, request = SetControls{0, e->serverId, controls}] {
      link_->sendFor(generation, request);
    });
  }
}

bool RemoteMixer::startRecording(MixId mix, const std::string& path, RecordingFormat format) {
  auto found = mixes_.find(mix);
  if (found == mixes_.end() || found->second.recording) {
    return false;
  }
  found->second.recording = true;  // until the server's stats or an end say otherwise
  toLink(
      [this, request = StartRecording{0, mix, path, format}] { link_->sendFile(request, true); });
  return true;
}

void RemoteMixer::stopRecording(MixId mix) {
  // Like the in-process mixer: stopped as far as the caller can tell at once; the end event
  // follows when the file is complete.
  if (auto found = mixes_.find(mix); found != mixes_.end()) {
    if (found->second.recording) {
      ++staleEnds_[mix].recordings;
    }
    found->second.recording = false;
    toLink([this, request = StopRecording{0, mix}] { link_->sendMix(request); });
  }
}

bool RemoteMixer::play(MixId mix, const std::string& path) {
  auto found = mixes_.find(mix);
  if (found == mixes_.end()) {
    return false;
  }
  if (found->second.playing) {
    ++staleEnds_[mix].playbacks;  // the one playing now ends, replaced
  }
  found->second.playing = true;
  toLink([this, request = Play{0, mix, path}] { link_->sendFile(request, false); });
  return true;
}

void RemoteMixer::stopPlaying(MixId mix) {
  if (auto found = mixes_.find(mix); found != mixes_.end()) {
    if (found->second.playing) {
      ++staleEnds_[mix].playbacks;
    }
    found->second.playing = false;
    toLink([this, request = StopPlaying{0, mix}] { link_->sendMix(request); });
  }
}

std::optional<MixStats> RemoteMixer::mixStats(MixId mix) const {
  auto found = mixes_.find(mix);
  return found == mixes_.end() ? std::nullopt : std::optional<MixStats>(found->second);
}

std::optional<MediaStats> RemoteMixer::endpointStats(EndpointId endpoint) const {
  auto found = endpointStats_.find(endpoint);
  return found == endpointStats_.end() ? std::nullopt : std::optional<MediaStats>(found->second);
}

std::vector<EngineThreadStats> RemoteMixer::engineStats() const {
  return engineStats_;
}

void RemoteMixer::deliverEvents(MixerEvents& events) {
  uint64_t ignored = 0;
  [[maybe_unused]] const auto n = ::read(eventFd_, &ignored, sizeof(ignored));
  std::deque<Inbound> inbound;
  {
    std::lock_guard lock(mutex_);
    inbound.swap(shared_.inbound);
  }
  // Callbacks may release endpoints or destroy mixes: look each one up again, never hold on.
  auto failEndpoint = [&](EndpointId id) {
    auto found = endpoints_.find(id);
    if (found == endpoints_.end() || found->second.failed) {
      return;
    }
    found->second.failed = true;
    if (found->second.mix) {
      events.onEndpointFailed(id);
    }
  };
  for (auto& item : inbound) {
    if (const auto* gone = std::get_if<Disconnected>(&item)) {
      std::vector<EndpointId> ids;
      for (const auto& [id, e] : endpoints_) {
        if (e.generation == gone->generation) {
          ids.push_back(id);
        }
      }
      std::sort(ids.begin(), ids.end());  // in the order they were reserved
      for (EndpointId id : ids) {
        failEndpoint(id);
      }
      // What that mixer played or recorded is gone with it, and so are its end events.
      for (auto& [id, stats] : mixes_) {
        stats.playing = false;
        stats.recording = false;
      }
      staleEnds_.clear();
      continue;
    }
    Message& message = std::get<Message>(item);
    if (const auto* dtmf = std::get_if<DtmfEvent>(&message)) {
      if (live(dtmf->endpoint) != nullptr) {
        events.onDtmf(dtmf->endpoint, dtmf->digit);
      }
    } else if (const auto* timeout = std::get_if<RtpTimeoutEvent>(&message)) {
      if (live(timeout->endpoint) != nullptr) {
        events.onRtpTimeout(timeout->endpoint);
      }
    } else if (const auto* failed = std::get_if<EndpointFailedEvent>(&message)) {
      failEndpoint(failed->endpoint);
    } else if (const auto* talking = std::get_if<TalkingEvent>(&message)) {
      if (live(talking->endpoint) != nullptr) {
        endpointStats_[talking->endpoint].talking = talking->talking;
        events.onTalking(talking->endpoint, talking->talking);
      }
    } else if (const auto* source = std::get_if<SourceEvent>(&message)) {
      if (live(source->endpoint) != nullptr) {
        events.onMediaSource(source->endpoint, source->source);
      }
    } else if (const auto* played = std::get_if<PlaybackEndedEvent>(&message)) {
      if (auto found = mixes_.find(played->mix); found != mixes_.end()) {
        if (unsigned& stale = staleEnds_[played->mix].playbacks; stale > 0) {
          --stale;
        } else {
          found->second.playing = false;
        }
        events.onPlaybackEnded(played->mix, played->how);
      }
    } else if (const auto* recorded = std::get_if<RecordingEndedEvent>(&message)) {
      if (auto found = mixes_.find(recorded->mix); found != mixes_.end()) {
        if (unsigned& stale = staleEnds_[recorded->mix].recordings; stale > 0) {
          --stale;
        } else {
          found->second.recording = false;
        }
        events.onRecordingEnded(recorded->mix, recorded->how);
      }
    } else if (const auto* mixStats = std::get_if<MixStatsEvent>(&message)) {
      if (auto found = mixes_.find(mixStats->mix); found != mixes_.end()) {
        // As in-process: recording and playing end with their events, not with a snapshot that
        // may predate the start.
        const bool recording = found->second.recording;
        const bool playing = found->second.playing;
        found->second = mixStats->stats;
        found->second.recording = recording;
        found->second.playing = playing;
      }
    } else if (const auto* stats = std::get_if<EndpointStatsEvent>(&message)) {
      if (auto found = endpointStats_.find(stats->endpoint); found != endpointStats_.end()) {
        found->second = stats->stats;
      }
    } else if (auto* engine = std::get_if<EngineStatsEvent>(&message)) {
      engineStats_ = std::move(engine->threads);
    }
  }
}

}  // namespace confab::mixer::remote
