// One TCP connection (plain, or TLS once its handshake is done: mixer/remote/ControlTls.hpp)
// carrying the mixer control protocol's framing: lines in, lines out. Reads
// are bounded (kMaxLineBytes) and may have an idle timeout; writes queue in order, and a peer
// that stops reading is dropped when the queue passes its bound, never buffered without end.
// Runs on one io_context thread; the owner and the handlers meet only there.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace confab::mixer::remote {

class LineStream : public std::enable_shared_from_this<LineStream> {
 public:
  class Listener {
   public:
    // One line without its newline; valid during the call.
    virtual void onLine(std::string_view line) = 0;
    // The stream closed by itself (peer gone, timeout, overflow, over-long line); not called
    // after close().
    virtual void onClosed(const std::string& why) = 0;

   protected:
    ~Listener() = default;
  };

  static constexpr std::size_t kDefaultMaxQueuedBytes = 4 * 1024 * 1024;

  using Plain = boost::asio::ip::tcp::socket;
  using Tls = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

  LineStream(Plain socket, Listener& listener, std::size_t maxQueuedBytes = kDefaultMaxQueuedBytes);
  LineStream(Tls stream, Listener& listener, std::size_t maxQueuedBytes = kDefaultMaxQueuedBytes);

  // Starts reading. 'idleTimeout' (0: none) closes the stream when no line arrives for so long.
  void start(std::chrono::milliseconds idleTimeout);
  void setIdleTimeout(std::chrono::milliseconds idleTimeout);
  // Queues one line (newline included); dropped when the stream is closed.
  void send(std::string line);
  // Closes the socket; the listener hears nothing more.
  void close();
  // Sends what is queued, then closes (a refusal the peer should read); no more callbacks.
  void closeAfterSending();
  [[nodiscard]] bool isOpen() const { return listener_ != nullptr; }

 private:
  void readLine();
  void armTimer();
  void writeNext();
  void fail(const std::string& why);
  Plain& socket();

  std::variant<Plain, Tls> stream_;
  Listener* listener_;
  boost::asio::streambuf input_;
  boost::asio::steady_timer idle_;
  std::chrono::milliseconds idleTimeout_{0};
  std::deque<std::string> output_;
  std::size_t queuedBytes_ = 0;
  std::size_t maxQueuedBytes_;
  bool writing_ = false;
  bool socketOpen_ = true;
};

}  // namespace confab::mixer::remote
