// One TCP or TLS connection carrying SIP (RFC 3261 §18.3): cuts the byte stream into messages,
// answers RFC 5626 keep-alive pings, writes through a bounded queue, and closes itself on a
// framing error, on idleness, or when the connect/handshake overruns its deadline.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "focus/sip/Parser.hpp"
#include "focus/transport/Addressing.hpp"

namespace confab::transport {

class StreamConnection : public std::enable_shared_from_this<StreamConnection> {
 public:
  class Listener {
   public:
    // One whole framed message (not parsed yet).
    virtual void onStreamMessage(StreamConnection& connection, std::string&& bytes) = 0;
    // The stream cannot be framed any more; the connection closes right after.
    virtual void onStreamFramingError(StreamConnection& connection, const sip::Error& error) = 0;
    // Called once, from the io_context (never from inside write() or close()); 'unsent' names
    // the sends that never fully left.
    virtual void onStreamClosed(StreamConnection& connection,
                                const std::string& reason,
                                std::vector<SendId>&& unsent) = 0;

   protected:
    ~Listener() = default;
  };

  struct Settings {
    std::chrono::milliseconds idleTimeout{std::chrono::seconds(120)};
    std::chrono::milliseconds handshakeTimeout{std::chrono::seconds(10)};
    std::size_t maxWriteQueueBytes = 1024 * 1024;
    sip::Limits limits;
  };

  // 'tls' is null for TCP; for TLS it must outlive the connection.
  StreamConnection(ConnectionId id,
                   Protocol protocol,
                   boost::asio::ip::tcp::socket socket,
                   boost::asio::ssl::context* tls,
                   const Settings& settings,
                   Listener& listener);
  StreamConnection(const StreamConnection&) = delete;
  StreamConnection& operator=(const StreamConnection&) = delete;

  // An accepted connection: TLS server handshake if TLS, then reading.
  void startAccepted();
  // An outbound connection: connect, TLS client handshake (SNI = serverName when it is a name),
  // then reading; writes queued before are sent once open.
  void startConnect(const Endpoint& remote, const std::string& serverName, bool verifyPeer);

  // Queues bytes. False when the connection is already closed (nothing queued). A queue growing
  // past maxWriteQueueBytes closes the connection (the sends are reported unsent).
  // 'message': a SIP message (it counts as activity), not a keep-alive pong.
  bool write(std::string bytes, SendId id, bool message = true);
  // A connection that carries a call is not closed for idleness (RFC 5626 keep-alives may be all
  // that crosses it for a long while); counted, so several calls can hold one connection.
  void hold(bool held);
  void close(const std::string& reason);
  // The owner goes away: no more callbacks.
  void detach() { listener_ = nullptr; }

  [[nodiscard]] ConnectionId id() const { return id_; }
  [[nodiscard]] Protocol protocol() const { return protocol_; }
  [[nodiscard]] const Endpoint& remote() const { return remote_; }
  [[nodiscard]] const Endpoint& local() const { return local_; }
  [[nodiscard]] bool isClosed() const { return state_ == State::kClosed; }
  [[nodiscard]] bool isOpen() const { return state_ == State::kOpen; }
  [[nodiscard]] Source source() const { return Source{protocol_, remote_, local_, id_}; }
  [[nodiscard]] std::size_t queuedBytes() const { return queuedBytes_; }

 private:
  enum class State { kIdle, kConnecting, kHandshaking, kOpen, kClosed };
  using Clock = std::chrono::steady_clock;

  struct Pending {
    std::string bytes;
    SendId id = 0;
    bool message = true;  // a SIP message (activity), not a keep-alive pong
  };

  boost::asio::ip::tcp::socket& socket();
  void handshake(bool server);
  void becomeOpen();
  void armTimer(Clock::time_point deadline);
  void onTimer();
  void readSome();
  void onRead(const boost::system::error_code& ec, std::size_t n);
  void writeNext();
  void onWritten(const boost::system::error_code& ec);

  ConnectionId id_;
  Protocol protocol_;
  Settings settings_;
  Listener* listener_;
  std::optional<boost::asio::ip::tcp::socket> tcp_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;
  boost::asio::steady_timer timer_;
  Endpoint remote_;
  Endpoint local_;
  State state_ = State::kIdle;
  // The last SIP message either way. Keep-alives and the bytes of a message still incomplete do
  // not count: a connection that only pings, or trickles a message that never ends, is idle.
  Clock::time_point lastActivity_;
  int holds_ = 0;
  Clock::time_point writeStarted_;
  sip::StreamFramer framer_;
  std::array<char, 16384> readBuffer_{};
  std::deque<Pending> queue_;
  std::size_t queuedBytes_ = 0;
  bool writing_ = false;
};

}  // namespace confab::transport
