// The SIP transport layer (RFC 3261 §18): owns the UDP sockets, TCP/TLS listeners and
// connections on one io_context, hands parsed messages up with where they came from, and sends
// requests and responses down by the Via and RFC 3581 rules. Single-threaded: call it only from
// the io_context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "focus/sip/Message.hpp"
#include "focus/sip/Parser.hpp"
#include "focus/transport/Addressing.hpp"
#include "focus/transport/StreamAcceptor.hpp"
#include "focus/transport/StreamConnection.hpp"
#include "focus/transport/TransportConfig.hpp"
#include "focus/transport/UdpSocket.hpp"

namespace confab::transport {

// What the layer has dropped or refused, for metrics.
struct TransportCounters {
  std::uint64_t messagesReceived = 0;
  std::uint64_t badMessages = 0;         // parse failures handed up
  std::uint64_t oversizeDatagrams = 0;   // over limits.maxMessageBytes, dropped
  std::uint64_t framingErrors = 0;       // stream connections closed for it
  std::uint64_t refusedConnections = 0;  // over maxConnections or maxConnectionsPerSource
  std::uint64_t sendFailures = 0;
  std::uint64_t foreignResponses = 0;     // top Via not our sent-by (RFC 3261 §18.1.2), dropped
  std::uint64_t stunBindingRequests = 0;  // answered on a UDP port (RFC 5626 §4.4.2)
  std::uint64_t nonSipDatagrams = 0;      // starting with a control octet, not a Binding request
};

class TransportLayer final : private UdpSocket::Listener,
                             private StreamAcceptor::Listener,
                             private StreamConnection::Listener {
 public:
  class Listener {
   public:
    // A message that parsed. Requests already carry received/rport in their top Via.
    virtual void onMessage(sip::Message&& message, const Source& source) = 0;
    // A message that did not parse; failure.partial (when set) is stamped like a request, ready
    // for a 400 (RFC 3261 §21.4.1) sent with sendResponse().
    virtual void onBadMessage(const sip::ParseFailure& failure, const Source& source) = 0;
    // A send that returned an id could not complete (no route, connect/handshake failure,
    // connection lost before the bytes left). RFC 3261 §8.1.3.1: treat like a 503.
    virtual void onSendFailed(SendId /*id*/, const std::string& /*reason*/) {}
    virtual void onConnectionClosed(const Source& /*connection*/, const std::string& /*reason*/) {}
    // A limit refused something from 'source' ("sip-message-too-large",
    // "sip-connection-refused"): for a security log an operator's tools can act on.
    virtual void onLimit(std::string_view /*event*/, const Source& /*source*/) {}

   protected:
    ~Listener() = default;
  };

  TransportLayer(boost::asio::io_context& io, TransportConfig config, Listener& listener);
  ~TransportLayer();
  TransportLayer(const TransportLayer&) = delete;
  TransportLayer& operator=(const TransportLayer&) = delete;

  // Binds every listen address (and loads or creates the TLS identity when a TLS address is
  // configured). Start-up code: throws std::system_error or std::runtime_error.
  void start();
  // Closes everything; no callback after this returns.
  void stop();
  // A configuration reload (SIGHUP): the per-source connection limit and the idle timeout of
  // 'next' apply to what is accepted from now on. Listen addresses, TLS and message limits are
  // fixed at start().
  void reconfigure(const TransportConfig& next);

  // RFC 3261 §18.2.2, RFC 3581 §4: over the request's own connection while it is open, else by
  // the response's top Via. UDP responses leave from the socket the request came in on.
  sip::Result<SendId> sendResponse(const sip::Message& response, const Source& requestSource);
  // A request we originate (BYE, re-INVITE, NOTIFY). TCP/TLS reuse an open connection to the
  // same address and port, whoever opened it; else a new one is opened.
  sip::Result<SendId> send(const sip::Message& request, const Destination& destination);
  // Raw bytes on an open connection (RFC 5626 flows): false when it is gone.
  bool sendOnConnection(ConnectionId connection, const sip::Message& message);
  void closeConnection(ConnectionId connection);
  // A call runs over this connection (or no longer does): it is not closed for idleness while
  // any call holds it.
  void holdConnection(ConnectionId connection, bool held);

  // The sent-by for our Via on 'protocol' (RFC 3261 §18.1.1): hostName when configured, else
  // the bound address; the bound port. Nothing when we do not listen on that protocol.
  [[nodiscard]] std::optional<SentBy> sentBy(Protocol protocol, bool ipv6 = false) const;
  // The sent-by for the Via of a request we originate on 'protocol': sentBy(protocol) when we
  // listen on it, else a placeholder (127.0.0.1 and the default port); the response still finds
  // us on the connection we opened, or by rport (RFC 3581).
  [[nodiscard]] SentBy requestSentBy(Protocol protocol) const;
  // RFC 3261 §18.1.2: whether a response's top Via, received on 'protocol', names a sent-by we
  // insert (either address family; a name compares without case, an absent port is the default).
  [[nodiscard]] bool isOwnSentBy(const sip::Via& via, Protocol protocol) const;
  // The bound addresses after start(), ephemeral ports resolved.
  [[nodiscard]] std::vector<ListenAddress> boundAddresses() const;
  [[nodiscard]] std::optional<Endpoint> boundEndpoint(Protocol protocol, bool ipv6 = false) const;

  [[nodiscard]] std::size_t connectionCount() const { return connections_.size(); }
  [[nodiscard]] const TransportCounters& counters() const { return counters_; }
  [[nodiscard]] const TransportConfig& config() const { return config_; }

 private:
  using RouteKey = std::pair<Protocol, Endpoint>;

  // UdpSocket::Listener
  void onDatagram(UdpSocket& socket, std::string_view bytes, const Endpoint& from) override;
  void onDatagramDropped(UdpSocket& socket, std::string_view head, const Endpoint& from) override;
  void onDatagramSendFailed(SendId id, const std::string& reason) override;
  // StreamAcceptor::Listener
  void onAccepted(StreamAcceptor& acceptor, boost::asio::ip::tcp::socket&& socket) override;
  // StreamConnection::Listener
  void onStreamMessage(StreamConnection& connection, std::string&& bytes) override;
  void onStreamFramingError(StreamConnection& connection, const sip::Error& error) override;
  void onStreamClosed(StreamConnection& connection,
                      const std::string& reason,
                      std::vector<SendId>&& unsent) override;

  // RFC 5626 §4.4.2: answers a STUN Binding request; drops any other non-SIP datagram.
  void answerStun(UdpSocket& socket, std::string_view bytes, const Endpoint& from);
  void deliver(sip::ParseResult&& result, const Source& source);
  // Resolves 'host' (IP literal at once, a name asynchronously) and sends 'bytes' there.
  void route(Protocol protocol,
             const std::string& host,
             std::uint16_t port,
             std::string bytes,
             SendId id,
             std::optional<Endpoint> udpLocal);
  void sendResolved(Protocol protocol,
                    const Endpoint& target,
                    const std::string& serverName,
                    std::string bytes,
                    SendId id,
                    const std::optional<Endpoint>& udpLocal);
  std::shared_ptr<StreamConnection> findConnection(Protocol protocol, const Endpoint& remote) const;
  std::shared_ptr<StreamConnection> findConnection(ConnectionId id) const;
  UdpSocket* udpSocketFor(const Endpoint& target, const std::optional<Endpoint>& local) const;
  bool admitConnection(const boost::asio::ip::address& remote);
  std::shared_ptr<StreamConnection> addConnection(Protocol protocol,
                                                  boost::asio::ip::tcp::socket socket);
  // Reports a failure later, from the io_context, never from inside the caller's send().
  void failLater(SendId id, std::string reason);
  boost::asio::ssl::context& clientTls();

  boost::asio::io_context& io_;
  TransportConfig config_;
  Listener& listener_;
  StreamConnection::Settings connectionSettings_;
  std::optional<boost::asio::ssl::context> serverTls_;
  std::optional<boost::asio::ssl::context> clientTls_;
  std::vector<std::shared_ptr<UdpSocket>> udpSockets_;
  std::vector<std::shared_ptr<StreamAcceptor>> acceptors_;
  std::unordered_map<ConnectionId, std::shared_ptr<StreamConnection>> connections_;
  std::map<RouteKey, ConnectionId> routes_;  // connection reuse by remote address and port
  std::map<boost::asio::ip::address, std::size_t> perSource_;
  ConnectionId nextConnectionId_ = 1;
  SendId nextSendId_ = 1;
  TransportCounters counters_;
  // Handlers that outlive the layer (resolves, posted reports) check this before touching it.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace confab::transport
