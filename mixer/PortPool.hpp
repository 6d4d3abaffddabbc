// Hands out RTP ports from the configured range: an even port for RTP and the odd one above it
// for RTCP (RFC 3550 §11), each pair bound on UDP so no other program holds it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

namespace confab::mixer {

struct PortRange {
  uint16_t first = 20000;
  uint16_t last = 29999;
};

// A bound RTP/RTCP socket pair; the ports return to the pool when it is destroyed.
struct MediaPorts {
  boost::asio::ip::udp::socket rtp;
  boost::asio::ip::udp::socket rtcp;
  [[nodiscard]] uint16_t rtpPort() const { return rtp.local_endpoint().port(); }
};

class PortPool {
 public:
  PortPool(boost::asio::io_context& io, boost::asio::ip::address bindAddress, PortRange range);
  // Binds a free even/odd pair picked at random, or nothing when the range is exhausted.
  std::optional<MediaPorts> allocate();

 private:
  boost::asio::io_context& io_;
  boost::asio::ip::address bindAddress_;
  PortRange range_;
};

}  // namespace confab::mixer
