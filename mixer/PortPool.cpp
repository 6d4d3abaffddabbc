#include "mixer/PortPool.hpp"

namespace confab::mixer {

namespace asio = boost::asio;
using asio::ip::udp;

PortPool::PortPool(asio::io_context& io, asio::ip::address bindAddress, PortRange range)
    : io_(io), bindAddress_(std::move(bindAddress)), range_(range), next_(range.first & ~1u) {}

std::optional<MediaPorts> PortPool::allocate() {
  const uint32_t first = range_.first & ~1u;
  const uint32_t pairs = (static_cast<uint32_t>(range_.last) + 1u - first) / 2u;
  for (uint32_t tried = 0; tried < pairs; ++tried) {
    const uint32_t port = next_;
    next_ += 2;
    if (next_ + 1 > range_.last) {
      next_ = first;
    }
    // Ports freed by ended calls are found again by trying to bind: the kernel knows best.
    boost::system::error_code ec;
    udp::socket rtp(io_);
    rtp.open(bindAddress_.is_v6() ? udp::v6() : udp::v4(), ec);
    if (ec) {
      return std::nullopt;
    }
    rtp.bind(udp::endpoint(bindAddress_, static_cast<uint16_t>(port)), ec);
    if (ec) {
      continue;
    }
    udp::socket rtcp(io_);
    rtcp.open(bindAddress_.is_v6() ? udp::v6() : udp::v4(), ec);
    rtcp.bind(udp::endpoint(bindAddress_, static_cast<uint16_t>(port + 1)), ec);
    if (ec) {
      continue;
    }
    return MediaPorts{std::move(rtp), std::move(rtcp)};
  }
  return std::nullopt;
}

}  // namespace confab::mixer
