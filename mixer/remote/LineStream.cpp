#include "mixer/remote/LineStream.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "mixer/remote/Protocol.hpp"

namespace confab::mixer::remote {

namespace asio = boost::asio;

LineStream::LineStream(Plain socket, Listener& listener, std::size_t maxQueuedBytes)
    : stream_(std::move(socket)),
      listener_(&listener),
      input_(kMaxLineBytes),
      idle_(this->socket().get_executor()),
      maxQueuedBytes_(maxQueuedBytes) {
  boost::system::error_code ignored;
  // Small messages that someone waits for: no Nagle delay. Keep-alive finds a peer whose machine
  // vanished even when no stats flow.
  this->socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  this->socket().set_option(asio::socket_base::keep_alive(true), ignored);
}

LineStream::LineStream(Tls stream, Listener& listener, std::size_t maxQueuedBytes)
    : stream_(std::move(stream)),
      listener_(&listener),
      input_(kMaxLineBytes),
      idle_(socket().get_executor()),
      maxQueuedBytes_(maxQueuedBytes) {
  boost::system::error_code ignored;
  socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  socket().set_option(asio::socket_base::keep_alive(true), ignored);
}

LineStream::Plain& LineStream::socket() {
  if (auto* tls = std::get_if<Tls>(&stream_)) {
    return tls->next_layer();
  }
  return std::get<Plain>(stream_);
}

void LineStream::start(std::chrono::milliseconds idleTimeout) {
  idleTimeout_ = idleTimeout;
  armTimer();
  readLine();
}

void LineStream::setIdleTimeout(std::chrono::milliseconds idleTimeout) {
  idleTimeout_ = idleTimeout;
  armTimer();
}

void LineStream::armTimer() {
  idle_.cancel();
  if (idleTimeout_.count() <= 0 || !isOpen()) {
    return;
  }
  idle_.expires_after(idleTimeout_);
  idle_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) {
      self->fail("nothing received for " + std::to_string(self->idleTimeout_.count()) + " ms");
    }
  });
}

void LineStream::readLine() {
  auto handler = [self = shared_from_this()](const boost::system::error_code& ec,
                                             std::size_t length) {
    if (!self->isOpen()) {
      return;
    }
    if (ec == asio::error::not_found) {
      self->fail("a line longer than " + std::to_string(kMaxLineBytes) + " bytes");
      return;
    }
    if (ec) {
      self->fail(ec == asio::error::eof ? "closed by the peer" : ec.message());
      return;
    }
    self->armTimer();
    const auto data = self->input_.data();
    std::string line(asio::buffers_begin(data),
                     asio::buffers_begin(data) + static_cast<std::ptrdiff_t>(length - 1));
    self->input_.consume(length);
    self->listener_->onLine(line);
    if (self->isOpen()) {
      self->readLine();
    }
  };
  std::visit([&](auto& stream) { asio::async_read_until(stream, input_, '\n', handler); }, stream_);
}

void LineStream::send(std::string line) {
  if (!isOpen()) {
    return;
  }
  if (!socketOpen_) {
    return;  // failed already; the owner hears of it from the posted handler
  }
  queuedBytes_ += line.size();
  if (queuedBytes_ > maxQueuedBytes_) {
    // Told later, from the loop: the owner is in the middle of sending.
    boost::system::error_code ignored;
    socketOpen_ = false;
    socket().close(ignored);
    asio::post(socket().get_executor(), [self = shared_from_this()] {
      if (self->isOpen()) {
        self->fail("the peer does not read (more than " + std::to_string(self->maxQueuedBytes_) +
                   " bytes queued)");
      }
    });
    return;
  }
  output_.push_back(std::move(line));
  if (!writing_) {
    writeNext();
  }
}

void LineStream::writeNext() {
  if (output_.empty() || !socketOpen_) {
    writing_ = false;
    if (!isOpen()) {
      close();  // closeAfterSending() and all is sent
    }
    return;
  }
  writing_ = true;
  auto handler = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
    if (!self->socketOpen_) {
      return;
    }
    if (ec) {
      self->fail(ec.message());
      return;
    }
    self->queuedBytes_ -= self->output_.front().size();
    self->output_.pop_front();
    self->writeNext();
  };
  std::visit(
      [&](auto& stream) { asio::async_write(stream, asio::buffer(output_.front()), handler); },
      stream_);
}

void LineStream::fail(const std::string& why) {
  Listener* listener = listener_;
  close();
  if (listener != nullptr) {
    listener->onClosed(why);
  }
}

void LineStream::closeAfterSending() {
  listener_ = nullptr;
  idle_.cancel();
  if (!writing_) {
    close();
  }
}

void LineStream::close() {
  listener_ = nullptr;
  socketOpen_ = false;
  boost::system::error_code ignored;
  idle_.cancel();
  // A TLS stream closes without close_notify: every line is framed, so a cut is seen as one.
  socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
}

}  // namespace confab::mixer::remote
