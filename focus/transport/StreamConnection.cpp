#include "focus/transport/StreamConnection.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <utility>

namespace confab::transport {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

Endpoint toEndpoint(const tcp::endpoint& endpoint) {
  return Endpoint{endpoint.address(), endpoint.port()};
}

}  // namespace

StreamConnection::StreamConnection(ConnectionId id,
                                   Protocol protocol,
                                   tcp::socket socket,
                                   asio::ssl::context* tls,
                                   const Settings& settings,
                                   Listener& listener)
    : id_(id),
      protocol_(protocol),
      settings_(settings),
      listener_(&listener),
      timer_(socket.get_executor()),
      framer_(settings.limits) {
  if (tls != nullptr) {
    tls_.emplace(std::move(socket), *tls);
  } else {
    tcp_.emplace(std::move(socket));
  }
}

tcp::socket& StreamConnection::socket() {
  return tls_ ? tls_->next_layer() : *tcp_;
}

void StreamConnection::startAccepted() {
  error_code ec;
  const auto remote = socket().remote_endpoint(ec);
  const auto local = socket().local_endpoint(ec);
  if (ec) {
    close("accepted socket unusable: " + ec.message());
    return;
  }
  remote_ = toEndpoint(remote);
  local_ = toEndpoint(local);
  if (tls_) {
    state_ = State::kHandshaking;
    armTimer(Clock::now() + settings_.handshakeTimeout);
    handshake(true);
  } else {
    becomeOpen();
  }
}

void StreamConnection::startConnect(const Endpoint& remote,
                                    const std::string& serverName,
                                    bool verifyPeer) {
  remote_ = remote;
  state_ = State::kConnecting;
  // One deadline covers connect and TLS handshake together.
  armTimer(Clock::now() + settings_.handshakeTimeout);
  if (tls_) {
    const auto literal = parseIpLiteral(serverName);
    if (!serverName.empty() && !literal) {
      // RFC 5922 §7.4 / RFC 6066 §3: name the SIP domain we want, so a host serving several
      // domains presents the right certificate. SNI carries names only, never IP literals.
      SSL_set_tlsext_host_name(tls_->native_handle(), serverName.c_str());
    }
    if (verifyPeer) {
      tls_->set_verify_mode(asio::ssl::verify_peer);
      if (literal) {
        // An address literal is matched against the certificate's IP subjectAltName.
        const std::string ip = literal->to_string();
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tls_->native_handle()), ip.c_str());
      } else {
        // The name we meant to reach, or for a bare address our target's address.
        const std::string name = serverName.empty() ? remote.address.to_string() : serverName;
        tls_->set_verify_callback(asio::ssl::host_name_verification(name));
      }
    }
  }
  auto self = shared_from_this();
  socket().async_connect(tcp::endpoint(remote.address, remote.port), [self](const error_code& ec) {
    if (self->state_ == State::kClosed) {
      return;
    }
    if (ec) {
      self->close("connect failed: " + ec.message());
      return;
    }
    error_code localError;
    self->local_ = toEndpoint(self->socket().local_endpoint(localError));
    if (self->tls_) {
      self->state_ = State::kHandshaking;
      self->handshake(false);
    } else {
      self->becomeOpen();
    }
  });
}

void StreamConnection::handshake(bool server) {
  auto self = shared_from_this();
  tls_->async_handshake(server ? asio::ssl::stream_base::server : asio::ssl::stream_base::client,
                        [self](const error_code& ec) {
                          if (self->state_ == State::kClosed) {
                            return;
                          }
                          if (ec) {
                            self->close("TLS handshake failed: " + ec.message());
                            return;
                          }
                          self->becomeOpen();
                        });
}

void StreamConnection::becomeOpen() {
  state_ = State::kOpen;
  lastActivity_ = Clock::now();
  armTimer(lastActivity_ + settings_.idleTimeout);
  readSome();
  if (!queue_.empty() && !writing_) {
    writeNext();
  }
}

void StreamConnection::armTimer(Clock::time_point deadline) {
  timer_.expires_at(deadline);
  auto self = shared_from_this();
  timer_.async_wait([self](const error_code& ec) {
    if (!ec) {
      self->onTimer();
    }
  });
}

void StreamConnection::onTimer() {
  if (state_ == State::kClosed) {
    return;
  }
  if (state_ != State::kOpen) {
    close(tls_ ? "connect or TLS handshake timed out" : "connect timed out");
    return;
  }
  // The idle deadline moves with every byte; rather than re-arming the timer per read, it wakes
  // at the old deadline and sleeps again until the new one.
  const auto now = Clock::now();
  auto deadline = lastActivity_ + settings_.idleTimeout;
  if (writing_) {
    // A write that makes no progress for as long means the peer stopped reading.
    const auto writeDeadline = writeStarted_ + settings_.idleTimeout;
    if (now >= writeDeadline) {
      close("write timed out");
      return;
    }
    deadline = std::min(deadline, writeDeadline);
  }
  if (now >= deadline && holds_ > 0) {
    deadline = now + settings_.idleTimeout;  // carries a call: looked at again later
  } else if (now >= deadline) {
    close("idle timeout");
    return;
  }
  armTimer(deadline);
}

void StreamConnection::readSome() {
  auto self = shared_from_this();
  auto handler = [self](const error_code& ec, std::size_t n) { self->onRead(ec, n); };
  if (tls_) {
    tls_->async_read_some(asio::buffer(readBuffer_), std::move(handler));
  } else {
    tcp_->async_read_some(asio::buffer(readBuffer_), std::move(handler));
  }
}

void StreamConnection::onRead(const error_code& ec, std::size_t n) {
  if (state_ == State::kClosed) {
    return;
  }
  if (ec) {
    const bool peerClosed = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
    close(peerClosed ? "closed by peer" : "read failed: " + ec.message());
    return;
  }
  framer_.feed(std::string_view(readBuffer_.data(), n));
  std::string message;
  sip::Error error;
  for (;;) {
    const auto status = framer_.next(message, error);
    if (status == sip::StreamFramer::Status::kNeedMore) {
      break;
    }
    if (status == sip::StreamFramer::Status::kError) {
      // RFC 3261 §18.3: a stream whose messages cannot be delimited must be closed.
      if (listener_ != nullptr) {
        listener_->onStreamFramingError(*this, error);
      }
      close("framing error: " + error.reason);
      return;
    }
    lastActivity_ = Clock::now();
    if (listener_ != nullptr) {
      listener_->onStreamMessage(*this, std::move(message));
    }
    if (state_ == State::kClosed) {
      return;  // the layer above closed us while handling the message
    }
    message.clear();
  }
  // RFC 5626 §4.4.1: each double-CRLF ping is answered with a single CRLF pong.
  for (std::size_t pings = framer_.takePings(); pings > 0; --pings) {
    write("\r\n", 0, false);
  }
  if (state_ != State::kClosed) {
    readSome();
  }
}

void StreamConnection::hold(bool held) {
  holds_ += held ? 1 : -1;
  if (holds_ < 0) {
    holds_ = 0;
  }
  if (holds_ == 0) {
    lastActivity_ = Clock::now();  // idle from now on, not from the call's last message
  }
}

bool StreamConnection::write(std::string bytes, SendId id, bool message) {
  if (state_ == State::kClosed) {
    return false;
  }
  queuedBytes_ += bytes.size();
  queue_.push_back(Pending{std::move(bytes), id, message});
  if (queuedBytes_ > settings_.maxWriteQueueBytes) {
    // A peer that does not read must not make us hold unbounded memory.
    close("write queue over " + std::to_string(settings_.maxWriteQueueBytes) + " bytes");
    return true;  // queued, then reported unsent by onStreamClosed
  }
  if (state_ == State::kOpen && !writing_) {
    writeNext();
  }
  return true;
}

void StreamConnection::writeNext() {
  writing_ = true;
  writeStarted_ = Clock::now();
  auto self = shared_from_this();
  auto handler = [self](const error_code& ec, std::size_t) { self->onWritten(ec); };
  // The front element stays in place (and its bytes valid) until this write completes.
  const auto buffer = asio::buffer(queue_.front().bytes);
  if (tls_) {
    asio::async_write(*tls_, buffer, std::move(handler));
  } else {
    asio::async_write(*tcp_, buffer, std::move(handler));
  }
}

void StreamConnection::onWritten(const error_code& ec) {
  writing_ = false;
  if (state_ == State::kClosed) {
    return;
  }
  if (ec) {
    close("write failed: " + ec.message());
    return;
  }
  if (queue_.front().message) {
    lastActivity_ = Clock::now();
  }
  queuedBytes_ -= queue_.front().bytes.size();
  queue_.pop_front();
  if (!queue_.empty()) {
    writeNext();
  }
}

void StreamConnection::close(const std::string& reason) {
  if (state_ == State::kClosed) {
    return;
  }
  state_ = State::kClosed;
  timer_.cancel();
  error_code ignored;
  socket().shutdown(tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
  std::vector<SendId> unsent;
  for (const Pending& pending : queue_) {
    if (pending.id != 0) {
      unsent.push_back(pending.id);
    }
  }
  // Drop what is not being written; the element in flight lives until its handler has run.
  while (queue_.size() > (writing_ ? 1U : 0U)) {
    queue_.pop_back();
  }
  queuedBytes_ = 0;
  // Told later, from the io_context: close() may run inside a call from the listener itself.
  auto self = shared_from_this();
  asio::post(timer_.get_executor(), [self, reason, unsent = std::move(unsent)]() mutable {
    if (self->listener_ != nullptr) {
      self->listener_->onStreamClosed(*self, reason, std::move(unsent));
    }
  });
}

}  // namespace confab::transport
