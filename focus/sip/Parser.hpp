// Turns bytes from the network into sip::Message: whole datagrams (UDP) and a byte stream cut into
// messages by Content-Length (TCP, TLS; RFC 3261 §18.3).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "focus/sip/Message.hpp"
#include "focus/sip/Result.hpp"

namespace confab::sip {

// What a failed parse still knows: enough of the request, when it was a request whose Via and
// CSeq could be read, to send the error response (RFC 3261 §8.2, §21.4.1).
struct ParseFailure {
  Error error;
  std::optional<Message> partial;  // set when the message was a request (not ACK) with a usable
                                   // top Via and a CSeq; From, To and Call-ID are copied when
                                   // present (RFC 4475 §3.3.1)
};

using ParseResult = std::variant<Message, ParseFailure>;

// Parses one complete message. 'datagram' is true for UDP, where a missing Content-Length means
// the body is the rest of the datagram and octets past Content-Length are ignored (RFC 3261
// §18.3); on a stream the framer has already cut the message to size.
ParseResult parseMessage(std::string_view bytes, bool datagram, const Limits& limits = {});

// Cuts a TCP/TLS byte stream into messages. Feed bytes as they arrive, then take messages until
// it returns nothing. Leading CRLFs between messages are skipped (RFC 3261 §7.5) and reported so
// the transport can answer an RFC 5626 §4.4.1 double-CRLF keep-alive with a single CRLF.
class StreamFramer {
 public:
  enum class Status { kNeedMore, kMessage, kError };
  explicit StreamFramer(Limits limits = {}) : limits_(limits) {}

  void feed(std::string_view bytes);
  // kMessage: 'out' holds one whole message (header section plus Content-Length bytes of body).
  // kError: the stream cannot be framed any more (bad or missing Content-Length, over a limit);
  // the transport must close the connection (RFC 3261 §18.3). 'error' says why.
  Status next(std::string& out, Error& error);
  // Count of keep-alive pings (CRLFCRLF seen between messages) since the last call.
  std::size_t takePings();
  [[nodiscard]] std::size_t buffered() const { return buffer_.size() - offset_; }

 private:
  Limits limits_;
  std::string buffer_;
  std::size_t offset_ = 0;
  std::size_t pings_ = 0;
  std::size_t pendingCrlf_ = 0;
};

}  // namespace confab::sip
