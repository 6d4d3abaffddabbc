#include "focus/transport/TransportLayer.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <utility>

#include "focus/transport/Stun.hpp"
#include "focus/transport/TlsIdentity.hpp"
#include "focus/transport/ViaRouting.hpp"

namespace confab::transport {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

// RFC 768 over IPv4: 65535 minus the IP and UDP headers is the most one datagram holds.
constexpr std::size_t kMaxUdpPayload = 65507;

bool onlyLineBreaks(std::string_view bytes) {
  return bytes.find_first_not_of("\r\n") == std::string_view::npos;
}

// RFC 3261 §18.1.2 compares sent-by values: IP literals as addresses (so "[::1]" matches "::1"),
// names without case (§19.1.4), ports with the protocol's default for an absent one.
bool sameSentBy(const sip::Via& via, Protocol protocol, const SentBy& ours) {
  if (via.port.value_or(defaultPort(protocol)) != ours.port) {
    return false;
  }
  const auto theirAddress = parseIpLiteral(via.host);
  const auto ourAddress = parseIpLiteral(ours.host);
  if (theirAddress || ourAddress) {
    return theirAddress && ourAddress && *theirAddress == *ourAddress;
  }
  return sip::iequals(via.host, ours.host);
}

}  // namespace

TransportLayer::TransportLayer(asio::io_context& io, TransportConfig config, Listener& listener)
    : io_(io), config_(std::move(config)), listener_(listener) {
  connectionSettings_.idleTimeout = config_.idleTimeout;
  connectionSettings_.handshakeTimeout = config_.handshakeTimeout;
  connectionSettings_.maxWriteQueueBytes = config_.maxWriteQueueBytes;
  connectionSettings_.limits = config_.limits;
}

TransportLayer::~TransportLayer() {
  stop();
}

void TransportLayer::reconfigure(const TransportConfig& next) {
  config_.maxConnectionsPerSource = next.maxConnectionsPerSource;
  config_.idleTimeout = next.idleTimeout;
  connectionSettings_.idleTimeout = next.idleTimeout;
}

void TransportLayer::start() {
  const bool wantsTls =
      std::any_of(config_.listen.begin(), config_.listen.end(),
                  [](const ListenAddress& a) { return a.protocol == Protocol::kTls; });
  if (wantsTls) {
    serverTls_.emplace(makeServerContext(ensureTlsIdentity(config_)));
  }
  if (config_.tlsVerifyPeer) {
    clientTls();  // a CA file that cannot be read stops the start, not the first call
  }
  for (const ListenAddress& address : config_.listen) {
    if (address.protocol == Protocol::kUdp) {
      // A socket's in-flight sends are bounded like one connection's write queue.
      auto socket = std::make_shared<UdpSocket>(
          io_, address.endpoint, config_.limits.maxMessageBytes, config_.maxWriteQueueBytes,
          static_cast<UdpSocket::Listener&>(*this));
      socket->start();
      udpSockets_.push_back(std::move(socket));
    } else {
      auto acceptor = std::make_shared<StreamAcceptor>(
          io_, address.protocol, address.endpoint, static_cast<StreamAcceptor::Listener&>(*this));
      acceptor->start();
      acceptors_.push_back(std::move(acceptor));
    }
  }
}

void TransportLayer::stop() {
  alive_ = std::make_shared<int>(0);  // orphan the handlers of resolves and posted reports
  for (auto& socket : udpSockets_) {
    socket->detach();
    socket->close();
  }
  udpSockets_.clear();
  for (auto& acceptor : acceptors_) {
    acceptor->detach();
    acceptor->close();
  }
  acceptors_.clear();
  for (auto& [id, connection] : connections_) {
    connection->detach();
    connection->close("transport stopped");
  }
  connections_.clear();
  routes_.clear();
  perSource_.clear();
}

// ---- receiving ----

void TransportLayer::onDatagram(UdpSocket& socket, std::string_view bytes, const Endpoint& from) {
  // RFC 3261 §7.5 lets CRLFs precede a message; a datagram of nothing else is a keep-alive.
  if (onlyLineBreaks(bytes)) {
    return;
  }
  // No SIP message starts with a control octet; STUN (RFC 5626 §4.4.2) starts with 0x00 or 0x01.
  if (static_cast<unsigned char>(bytes.front()) < 0x20) {
    answerStun(socket, bytes, from);
    return;
  }
  const Source source{Protocol::kUdp, from, socket.local(), 0};
  deliver(sip::parseMessage(bytes, true, config_.limits), source);
}

void TransportLayer::answerStun(UdpSocket& socket, std::string_view bytes, const Endpoint& from) {
  const auto request = StunMessage::parse(
      std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  // Only Binding requests are answered (RFC 8489 §6.3.1); indications, responses, other methods
  // and RFC 3489 messages without the magic cookie are not ours to answer.
  if (!request || request->type() != kStunBindingRequest) {
    ++counters_.nonSipDatagrams;
    return;
  }
  // The flow's source address and port as we see them: the client compares them with the last
  // answer to notice a NAT rebinding (RFC 5626 §4.4.2).
  std::array<std::uint8_t, kStunBindingSuccessMaxSize> response{};
  const std::size_t size = writeBindingSuccess(response, request->transactionId(), from);
  if (!socket.sendTo(std::string(reinterpret_cast<const char*>(response.data()), size), from, 0)) {
    ++counters_.sendFailures;
    return;
  }
  ++counters_.stunBindingRequests;
}

void TransportLayer::onDatagramDropped(UdpSocket& socket,
                                       std::string_view head,
                                       const Endpoint& from) {
  ++counters_.oversizeDatagrams;
  const Source source{Protocol::kUdp, from, socket.local(), 0};
  listener_.onLimit("sip-message-too-large", source);
  // RFC 3261 §21.5.11 (and §18.1.1's size rules): a request too large gets 513 when what we read
  // of it shows who to answer, i.e. its start line, Via, CSeq and the dialog headers parse. The
  // rest (its body, cut here) is not needed for that.
  sip::Limits whole = config_.limits;
  whole.maxMessageBytes = head.size();
  auto result = sip::parseMessage(head, true, whole);
  std::optional<sip::Message> request;
  if (auto* message = std::get_if<sip::Message>(&result)) {
    request = std::move(*message);
  } else if (auto& failure = std::get<sip::ParseFailure>(result); failure.partial) {
    request = std::move(failure.partial);
  }
  if (!request || !request->isRequest() || request->method == "ACK" || !request->topVia()) {
    return;  // a response, an ACK or unreadable: nothing to answer (§17.2.1, §18.1.2)
  }
  stampReceived(*request, from);
  listener_.onBadMessage(
      sip::ParseFailure{sip::Error{513, "Message Too Large"}, std::move(request)}, source);
}

void TransportLayer::onDatagramSendFailed(SendId id, const std::string& reason) {
  if (id != 0) {
    failLater(id, reason);
  }
}

void TransportLayer::onStreamMessage(StreamConnection& connection, std::string&& bytes) {
  deliver(sip::parseMessage(bytes, false, config_.limits), connection.source());
}

void TransportLayer::onStreamFramingError(StreamConnection& connection, const sip::Error& error) {
  ++counters_.framingErrors;
  ++counters_.badMessages;
  listener_.onBadMessage(sip::ParseFailure{error, std::nullopt}, connection.source());
}

void TransportLayer::deliver(sip::ParseResult&& result, const Source& source) {
  if (auto* message = std::get_if<sip::Message>(&result)) {
    if (message->isResponse()) {
      // RFC 3261 §18.1.2: a response whose top Via is not ours is silently discarded, before
      // any transaction can match its branch.
      const auto via = message->topVia();
      if (!via || !isOwnSentBy(*via, source.protocol)) {
        ++counters_.foreignResponses;
        return;
      }
    }
    ++counters_.messagesReceived;
    if (message->isRequest()) {
      stampReceived(*message, source.remote);
    }
    listener_.onMessage(std::move(*message), source);
    return;
  }
  auto& failure = std::get<sip::ParseFailure>(result);
  ++counters_.badMessages;
  if (failure.partial && failure.partial->isRequest()) {
    stampReceived(*failure.partial, source.remote);
  }
  listener_.onBadMessage(failure, source);
}

// ---- connections ----

bool TransportLayer::admitConnection(const asio::ip::address& remote) {
  if (connections_.size() >= config_.maxConnections) {
    return false;
  }
  const auto it = perSource_.find(remote);
  return it == perSource_.end() || it->second < config_.maxConnectionsPerSource;
}

std::shared_ptr<StreamConnection> TransportLayer::addConnection(Protocol protocol,
                                                                tcp::socket socket) {
  asio::ssl::context* tls = nullptr;
  if (protocol == Protocol::kTls) {
    tls = serverTls_ ? &*serverTls_ : nullptr;
  }
  const ConnectionId id = nextConnectionId_++;
  auto connection =
      std::make_shared<StreamConnection>(id, protocol, std::move(socket), tls, connectionSettings_,
                                         static_cast<StreamConnection::Listener&>(*this));
  connections_.emplace(id, connection);
  return connection;
}

void TransportLayer::onAccepted(StreamAcceptor& acceptor, tcp::socket&& socket) {
  error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec || !admitConnection(remote.address())) {
    // Over a limit: close at once, before any TLS work is spent on the peer.
    ++counters_.refusedConnections;
    if (!ec) {
      listener_.onLimit("sip-connection-refused",
                        Source{acceptor.protocol(), Endpoint{remote.address(), remote.port()}, {}});
    }
    socket.close(ec);
    return;
  }
  if (acceptor.protocol() == Protocol::kTls && !serverTls_) {
    socket.close(ec);
    return;
  }
  auto connection = addConnection(acceptor.protocol(), std::move(socket));
  ++perSource_[remote.address()];
  connection->startAccepted();
  if (!connection->isClosed()) {
    routes_[{connection->protocol(), connection->remote()}] = connection->id();
  }
}

void TransportLayer::onStreamClosed(StreamConnection& connection,
                                    const std::string& reason,
                                    std::vector<SendId>&& unsent) {
  const auto it = connections_.find(connection.id());
  if (it == connections_.end()) {
    return;
  }
  auto keepAlive = it->second;  // the connection outlives its removal from the maps
  connections_.erase(it);
  const auto route = routes_.find({connection.protocol(), connection.remote()});
  if (route != routes_.end() && route->second == connection.id()) {
    routes_.erase(route);
  }
  if (const auto source = perSource_.find(connection.remote().address);
      source != perSource_.end()) {
    if (--source->second == 0) {
      perSource_.erase(source);
    }
  }
  for (const SendId id : unsent) {
    ++counters_.sendFailures;
    listener_.onSendFailed(id, reason);
  }
  listener_.onConnectionClosed(connection.source(), reason);
}

std::shared_ptr<StreamConnection> TransportLayer::findConnection(Protocol protocol,
                                                                 const Endpoint& remote) const {
  const auto route = routes_.find({protocol, remote});
  if (route == routes_.end()) {
    return nullptr;
  }
  return findConnection(route->second);
}

std::shared_ptr<StreamConnection> TransportLayer::findConnection(ConnectionId id) const {
  const auto it = connections_.find(id);
  if (it == connections_.end() || it->second->isClosed()) {
    return nullptr;
  }
  return it->second;
}

void TransportLayer::holdConnection(ConnectionId id, bool held) {
  if (auto connection = findConnection(id)) {
    connection->hold(held);
  }
}

void TransportLayer::closeConnection(ConnectionId id) {
  if (auto connection = findConnection(id)) {
    connection->close("closed by the layer above");
  }
}

// ---- sending ----

void TransportLayer::failLater(SendId id, std::string reason) {
  ++counters_.sendFailures;
  asio::post(io_, [this, alive = std::weak_ptr<int>(alive_), id, reason = std::move(reason)] {
    if (alive.lock()) {
      listener_.onSendFailed(id, reason);
    }
  });
}

asio::ssl::context& TransportLayer::clientTls() {
  if (!clientTls_) {
    clientTls_.emplace(makeClientContext(config_.tlsVerifyPeer, config_.tlsCaFile));
  }
  return *clientTls_;
}

sip::Result<SendId> TransportLayer::sendResponse(const sip::Message& response,
                                                 const Source& requestSource) {
  const SendId id = nextSendId_++;
  std::string bytes = response.serialize();
  if (isReliable(requestSource.protocol)) {
    // RFC 3261 §18.2.2: over the connection the request came on, while it is open.
    if (auto connection = findConnection(requestSource.connection)) {
      connection->write(std::move(bytes), id);
      return id;
    }
  } else if (bytes.size() > kMaxUdpPayload) {
    return sip::Error{503, "response too large for UDP"};
  }
  const auto via = response.topVia();
  if (!via) {
    if (requestSource.protocol != Protocol::kUdp || response.header("Via") == nullptr) {
      return sip::Error{503, "response without a usable Via: " + via.error().reason};
    }
    // A request whose Via we could not read, answered 400 (RFC 4475 §3.1.2.1): the one address
    // we know is the datagram's source, where RFC 3581 would send it too.
    route(requestSource.protocol, requestSource.remote.address.to_string(),
          requestSource.remote.port, std::move(bytes), id, requestSource.local);
    return id;
  }
  auto target = responseTarget(*via, requestSource.protocol);
  if (!target) {
    return target.error();
  }
  std::optional<Endpoint> udpLocal;
  if (requestSource.protocol == Protocol::kUdp) {
    udpLocal = requestSource.local;  // symmetric: out of the socket the request came in on
  }
  route(requestSource.protocol, target->host, target->port, std::move(bytes), id, udpLocal);
  return id;
}

sip::Result<SendId> TransportLayer::send(const sip::Message& request,
                                         const Destination& destination) {
  if (destination.host.empty()) {
    return sip::Error{503, "destination without a host"};
  }
  std::string bytes = request.serialize();
  if (destination.protocol == Protocol::kUdp && bytes.size() > kMaxUdpPayload) {
    return sip::Error{503, "request too large for UDP"};
  }
  const SendId id = nextSendId_++;
  const std::uint16_t port =
      destination.port != 0 ? destination.port : defaultPort(destination.protocol);
  route(destination.protocol, destination.host, port, std::move(bytes), id, std::nullopt);
  return id;
}

bool TransportLayer::sendOnConnection(ConnectionId id, const sip::Message& message) {
  auto connection = findConnection(id);
  return connection && connection->write(message.serialize(), 0);
}

void TransportLayer::route(Protocol protocol,
                           const std::string& host,
                           std::uint16_t port,
                           std::string bytes,
                           SendId id,
                           std::optional<Endpoint> udpLocal) {
  if (const auto address = parseIpLiteral(host)) {
    sendResolved(protocol, Endpoint{*address, port}, host, std::move(bytes), id, udpLocal);
    return;
  }
  // A name: A/AAAA lookup (no RFC 3263 NAPTR/SRV yet), bounded by resolveTimeout.
  auto resolver = std::make_shared<tcp::resolver>(io_);
  auto timer = std::make_shared<asio::steady_timer>(io_, config_.resolveTimeout);
  timer->async_wait([resolver](const error_code& ec) {
    if (!ec) {
      resolver->cancel();
    }
  });
  resolver->async_resolve(
      host, std::to_string(port),
      [this, alive = std::weak_ptr<int>(alive_), resolver, timer, protocol, host, port,
       bytes = std::move(bytes), id,
       udpLocal](const error_code& ec, const tcp::resolver::results_type& results) mutable {
        timer->cancel();
        if (!alive.lock()) {
          return;
        }
        if (ec || results.empty()) {
          ++counters_.sendFailures;
          listener_.onSendFailed(id, "cannot resolve " + host + ": " +
                                         (ec ? ec.message() : std::string("no address")));
          return;
        }
        // Prefer an address family we have a UDP socket for; any will do for TCP and TLS.
        Endpoint target{results.begin()->endpoint().address(), port};
        if (protocol == Protocol::kUdp) {
          for (const auto& entry : results) {
            const Endpoint candidate{entry.endpoint().address(), port};
            if (udpSocketFor(candidate, udpLocal) != nullptr) {
              target = candidate;
              break;
            }
          }
        }
        sendResolved(protocol, target, host, std::move(bytes), id, udpLocal);
      });
}

UdpSocket* TransportLayer::udpSocketFor(const Endpoint& target,
                                        const std::optional<Endpoint>& local) const {
  if (local) {
    for (const auto& socket : udpSockets_) {
      if (socket->local() == *local) {
        return socket.get();
      }
    }
  }
  for (const auto& socket : udpSockets_) {
    if (socket->isV6() == target.address.is_v6()) {
      return socket.get();
    }
  }
  return nullptr;
}

void TransportLayer::sendResolved(Protocol protocol,
                                  const Endpoint& target,
                                  const std::string& serverName,
                                  std::string bytes,
                                  SendId id,
                                  const std::optional<Endpoint>& udpLocal) {
  if (target.port == 0 || target.address.is_unspecified()) {
    failLater(id, "no route to " + target.str());
    return;
  }
  if (protocol == Protocol::kUdp) {
    UdpSocket* socket = udpSocketFor(target, udpLocal);
    if (socket == nullptr) {
      failLater(id, "no UDP socket for " + target.str());
    } else if (!socket->sendTo(std::move(bytes), target, id)) {
      failLater(id, "UDP send queue full");
    }
    return;
  }
  // Connection reuse: any open connection to that address and port, accepted or opened by us.
  if (auto connection = findConnection(protocol, target)) {
    connection->write(std::move(bytes), id);
    return;
  }
  if (!admitConnection(target.address)) {
    failLater(id, "connection limit reached");
    return;
  }
  asio::ssl::context* tls = protocol == Protocol::kTls ? &clientTls() : nullptr;
  const ConnectionId connectionId = nextConnectionId_++;
  auto connection = std::make_shared<StreamConnection>(
      connectionId, protocol, tcp::socket(io_), tls, connectionSettings_,
      static_cast<StreamConnection::Listener&>(*this));
  connections_.emplace(connectionId, connection);
  ++perSource_[target.address];
  routes_[{protocol, target}] = connectionId;
  connection->write(std::move(bytes), id);
  connection->startConnect(target, serverName, config_.tlsVerifyPeer);
}

// ---- addresses ----

std::vector<ListenAddress> TransportLayer::boundAddresses() const {
  std::vector<ListenAddress> bound;
  for (const auto& socket : udpSockets_) {
    bound.push_back(ListenAddress{Protocol::kUdp, socket->local()});
  }
  for (const auto& acceptor : acceptors_) {
    bound.push_back(ListenAddress{acceptor->protocol(), acceptor->local()});
  }
  return bound;
}

std::optional<Endpoint> TransportLayer::boundEndpoint(Protocol protocol, bool ipv6) const {
  for (const ListenAddress& bound : boundAddresses()) {
    if (bound.protocol == protocol && bound.endpoint.address.is_v6() == ipv6) {
      return bound.endpoint;
    }
  }
  return std::nullopt;
}

std::optional<SentBy> TransportLayer::sentBy(Protocol protocol, bool ipv6) const {
  const auto bound = boundEndpoint(protocol, ipv6);
  if (!bound) {
    return std::nullopt;
  }
  SentBy sentBy{std::string(viaTransport(protocol)), config_.hostName, bound->port};
  if (sentBy.host.empty()) {
    // A wildcard bind has no address to advertise: fall back on the default name, and let
    // received/rport (RFC 3581) carry UDP responses back.
    sentBy.host =
        bound->address.is_unspecified() ? std::string("confab.local") : hostText(bound->address);
  }
  return sentBy;
}

SentBy TransportLayer::requestSentBy(Protocol protocol) const {
  if (auto listening = sentBy(protocol)) {
    return *listening;
  }
  return SentBy{std::string(viaTransport(protocol)), "127.0.0.1", defaultPort(protocol)};
}

bool TransportLayer::isOwnSentBy(const sip::Via& via, Protocol protocol) const {
  if (sameSentBy(via, protocol, requestSentBy(protocol))) {
    return true;
  }
  const auto ipv6 = sentBy(protocol, true);
  return ipv6 && sameSentBy(via, protocol, *ipv6);
}

}  // namespace confab::transport
