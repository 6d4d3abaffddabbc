// One bound UDP socket carrying SIP (RFC 3261 §18): one datagram is one message. Receives into a
// buffer sized once from the message limit; sends are bounded by the bytes in flight.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "focus/transport/Addressing.hpp"

namespace confab::transport {

class UdpSocket : public std::enable_shared_from_this<UdpSocket> {
 public:
  class Listener {
   public:
    // 'bytes' is valid during the call only.
    virtual void onDatagram(UdpSocket& socket, std::string_view bytes, const Endpoint& from) = 0;
    // Over the size limit: 'head' is what was read of it (the limit plus one byte), valid during
    // the call only.
    virtual void onDatagramDropped(UdpSocket& socket,
                                   std::string_view head,
                                   const Endpoint& from) = 0;
    virtual void onDatagramSendFailed(SendId id, const std::string& reason) = 0;

   protected:
    ~Listener() = default;
  };

  // Binds (IPv6 sockets are IPv6-only, so an IPv4 socket may share the port). Start-up code:
  // throws boost::system::system_error when the address cannot be bound.
  UdpSocket(boost::asio::io_context& io,
            const Endpoint& bind,
            std::size_t maxMessageBytes,
            std::size_t maxBytesInFlight,
            Listener& listener);
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  void start();
  // False (nothing sent) when closed or when too many bytes are still in flight.
  bool sendTo(std::string bytes, const Endpoint& to, SendId id);
  void close();
  void detach() { listener_ = nullptr; }

  [[nodiscard]] const Endpoint& local() const { return local_; }
  [[nodiscard]] bool isV6() const { return local_.address.is_v6(); }

 private:
  void receive();

  boost::asio::ip::udp::socket socket_;
  Listener* listener_;
  Endpoint local_;
  std::size_t maxMessageBytes_;
  std::size_t maxBytesInFlight_;
  std::size_t bytesInFlight_ = 0;
  std::vector<char> buffer_;  // one byte over the limit, to tell an over-size datagram apart
  boost::asio::ip::udp::endpoint from_;
  bool closed_ = false;
};

}  // namespace confab::transport
