#include "focus/transport/StreamAcceptor.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <chrono>

namespace confab::transport {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

StreamAcceptor::StreamAcceptor(asio::io_context& io,
                               Protocol protocol,
                               const Endpoint& bind,
                               Listener& listener)
    : protocol_(protocol), acceptor_(io), backoff_(io), listener_(&listener) {
  const tcp::endpoint endpoint(bind.address, bind.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  if (bind.address.is_v6()) {
    acceptor_.set_option(asio::ip::v6_only(true));
  }
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  const auto local = acceptor_.local_endpoint();
  local_ = Endpoint{local.address(), local.port()};
}

void StreamAcceptor::start() {
  accept();
}

void StreamAcceptor::accept() {
  auto self = shared_from_this();
  acceptor_.async_accept([self](const error_code& ec, tcp::socket socket) {
    if (self->closed_ || ec == asio::error::operation_aborted) {
      return;
    }
    if (ec) {
      // Out of descriptors or memory: pause rather than spin on the same error.
      self->backoff_.expires_after(std::chrono::milliseconds(100));
      self->backoff_.async_wait([self](const error_code& waitError) {
        if (!waitError && !self->closed_) {
          self->accept();
        }
      });
      return;
    }
    if (self->listener_ != nullptr) {
      self->listener_->onAccepted(*self, std::move(socket));
    }
    if (!self->closed_) {
      self->accept();
    }
  });
}

void StreamAcceptor::close() {
  closed_ = true;
  error_code ignored;
  acceptor_.close(ignored);
  backoff_.cancel();
}

}  // namespace confab::transport
