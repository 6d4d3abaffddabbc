#include "mixer/PortPool.hpp"

#include <openssl/rand.h>

#include <random>

namespace confab::mixer {

namespace asio = boost::asio;
using asio::ip::udp;

PortPool::PortPool(asio::io_context& io, asio::ip::address bindAddress, PortRange range)
    : io_(io), bindAddress_(std::move(bindAddress)), range_(range) {}

std::optional<MediaPorts> PortPool::allocate() {
  const uint32_t first = range_.first & ~1u;
  const uint32_t pairs = (static_cast<uint32_t>(range_.last) + 1u - first) / 2u;
  if (pairs == 0) {
    return std::nullopt;
  }
  // Each call's ports start at a random pair (issue 10 item 16): ports handed out in order let a
  // stranger aim at the next call's port before its caller's first packet. A CSPRNG, so the
  // sequence cannot be learnt from the ports of earlier calls; from there the first free pair.
  uint32_t random = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&random), sizeof(random)) != 1) {
    random = static_cast<uint32_t>(std::random_device{}());
  }
  const uint32_t start = random % pairs;
  for (uint32_t tried = 0; tried < pairs; ++tried) {
    const uint32_t port = first + 2u * ((start + tried) % pairs);
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
