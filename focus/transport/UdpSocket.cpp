#include "focus/transport/UdpSocket.hpp"

#include <boost/asio/ip/v6_only.hpp>

namespace confab::transport {

namespace asio = boost::asio;
using boost::system::error_code;
using udp = asio::ip::udp;

UdpSocket::UdpSocket(asio::io_context& io,
                     const Endpoint& bind,
                     std::size_t maxMessageBytes,
                     std::size_t maxBytesInFlight,
                     Listener& listener)
    : socket_(io),
      listener_(&listener),
      maxMessageBytes_(maxMessageBytes),
      maxBytesInFlight_(maxBytesInFlight),
      buffer_(maxMessageBytes + 1) {
  const udp::endpoint endpoint(bind.address, bind.port);
  socket_.open(endpoint.protocol());
  if (bind.address.is_v6()) {
    socket_.set_option(asio::ip::v6_only(true));
  }
  socket_.bind(endpoint);
  const auto local = socket_.local_endpoint();
  local_ = Endpoint{local.address(), local.port()};
}

void UdpSocket::start() {
  receive();
}

void UdpSocket::receive() {
  auto self = shared_from_this();
  socket_.async_receive_from(
      asio::buffer(buffer_), from_, [self](const error_code& ec, std::size_t n) {
        if (self->closed_ || ec == asio::error::operation_aborted) {
          return;
        }
        // Errors on an unconnected UDP socket concern one datagram (an ICMP report, a
        // truncated read): keep receiving.
        if (!ec && self->listener_ != nullptr) {
          const Endpoint from{self->from_.address(), self->from_.port()};
          if (n > self->maxMessageBytes_) {
            self->listener_->onDatagramDropped(*self, std::string_view(self->buffer_.data(), n),
                                               from);
          } else {
            self->listener_->onDatagram(*self, std::string_view(self->buffer_.data(), n), from);
          }
        }
        if (!self->closed_) {
          self->receive();
        }
      });
}

bool UdpSocket::sendTo(std::string bytes, const Endpoint& to, SendId id) {
  if (closed_ || bytesInFlight_ + bytes.size() > maxBytesInFlight_) {
    return false;
  }
  bytesInFlight_ += bytes.size();
  auto data = std::make_shared<std::string>(std::move(bytes));
  auto self = shared_from_this();
  socket_.async_send_to(
      asio::buffer(*data), udp::endpoint(to.address, to.port),
      [self, data, id](const error_code& ec, std::size_t) {
        self->bytesInFlight_ -= data->size();
        if (ec && ec != asio::error::operation_aborted && self->listener_ != nullptr) {
          self->listener_->onDatagramSendFailed(id, "UDP send failed: " + ec.message());
        }
      });
  return true;
}

void UdpSocket::close() {
  closed_ = true;
  error_code ignored;
  socket_.close(ignored);
}

}  // namespace confab::transport
