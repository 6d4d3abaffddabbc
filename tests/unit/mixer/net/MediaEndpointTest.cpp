// Media endpoints on real loopback sockets: latching, strangers dropped (RTP bleed), SRTP with
// replay and tamper refused, rtcp-mux demultiplexing.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "mixer/PortPool.hpp"
#include "mixer/net/MediaEndpoint.hpp"
#include "mixer/rtp/Rtcp.hpp"
#include "mixer/rtp/RtpPacket.hpp"

namespace confab::mixer {
namespace {

// A test peer: one UDP socket on 127.0.0.1.
class Peer {
 public:
  Peer() : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  }
  ~Peer() { ::close(fd_); }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  void sendTo(uint16_t port, std::span<const uint8_t> bytes) const {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  }
  // One datagram within 1 s, or empty.
  std::vector<uint8_t> receive() const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 1000) != 1) {
      return {};
    }
    std::vector<uint8_t> buffer(1500);
    const auto n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    buffer.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return buffer;
  }
  sockaddr_storage address() const {
    sockaddr_storage a{};
    socklen_t length = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &length);
    return a;
  }

 private:
  int fd_;
};

struct Collector final : MediaEndpoint::Receiver {
  void onRtp(std::span<uint8_t> packet) override {
    rtp.emplace_back(packet.begin(), packet.end());
  }
  void onRtcp(std::span<uint8_t> packet) override {
    rtcp.emplace_back(packet.begin(), packet.end());
  }
  std::vector<std::vector<uint8_t>> rtp;
  std::vector<std::vector<uint8_t>> rtcp;
};

std::vector<uint8_t> rtpPacket(uint16_t seq, uint32_t ssrc = 0x1234, std::size_t room = 0) {
  std::vector<uint8_t> payload(160, 0xFF);
  rtp::RtpHeader h;
  h.payloadType = 0;
  h.sequenceNumber = seq;
  h.timestamp = seq * 160u;
  h.ssrc = ssrc;
  std::vector<uint8_t> packet(1500);
  packet.resize(rtp::writeRtpPacket(packet, h, payload) + room);
  return packet;
}

class MixerEndpoint : public ::testing::Test {
 protected:
  MediaEndpoint open(EndpointSettings settings) {
    auto ports = pool_.allocate();
    EXPECT_TRUE(ports);
    const int rtpFd = ports->rtp.release();
    const int rtcpFd = ports->rtcp.release();
    auto endpoint = MediaEndpoint::create(rtpFd, rtcpFd, std::move(settings));
    EXPECT_TRUE(endpoint);
    return std::move(*endpoint);
  }
  // Drains RTP until `done` holds, for at most 2 s; returns how many packets came through in
  // all. Loopback datagrams land in the kernel's time, not ours: one drain after a fixed pause
  // can come before them.
  template <class Done>
  std::size_t drainUntil(MediaEndpoint& endpoint, Done done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    std::size_t delivered = endpoint.drainRtp(got_, batch_);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      ::usleep(1000);
      delivered += endpoint.drainRtp(got_, batch_);
    }
    return delivered;
  }

  boost::asio::io_context io_;
  PortPool pool_{io_, boost::asio::ip::make_address("127.0.0.1"), PortRange{42000, 42999}};
  ReceiveBatch batch_;
  Collector got_;
};

TEST_F(MixerEndpoint, LatchesToTheFirstSourceAndDropsStrangers) {
  MediaEndpoint endpoint = open({});
  Peer phone;
  Peer stranger;
  phone.sendTo(endpoint.rtpPort(), rtpPacket(1));
  EXPECT_EQ(drainUntil(endpoint, [&] { return got_.rtp.size() >= 1; }), 1u);
  EXPECT_TRUE(endpoint.latched());
  stranger.sendTo(endpoint.rtpPort(), rtpPacket(2, 0x1234));
  stranger.sendTo(endpoint.rtpPort(), rtpPacket(3, 0x9999));
  phone.sendTo(endpoint.rtpPort(), rtpPacket(4));
  const auto allThree = [&] {
    return got_.rtp.size() >= 2 && endpoint.stats().droppedForeignSource >= 2;
  };
  EXPECT_EQ(drainUntil(endpoint, allThree), 1u);
  ASSERT_EQ(got_.rtp.size(), 2u);
  EXPECT_EQ(endpoint.stats().droppedForeignSource, 2u);
  // What we send goes to the latched phone, not the stranger.
  auto out = rtpPacket(7);
  ASSERT_TRUE(endpoint.sendRtp(out, out.size()));
  EXPECT_EQ(phone.receive().size(), out.size());
}

TEST_F(MixerEndpoint, NothingIsSentBeforeWeKnowWhere) {
  MediaEndpoint silent = open({});
  auto out = rtpPacket(1);
  EXPECT_FALSE(silent.sendRtp(out, out.size()));
  Peer phone;
  EndpointSettings settings;
  settings.remoteRtp = phone.address();
  MediaEndpoint fromSdp = open(settings);
  EXPECT_TRUE(fromSdp.sendRtp(out, out.size()));
  EXPECT_EQ(phone.receive().size(), out.size());
}

TEST_F(MixerEndpoint, NoiseStunAndTruncatedPacketsAreDropped) {
  MediaEndpoint endpoint = open({});
  Peer phone;
  const std::vector<uint8_t> stun = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42,
                                     1,    2,    3,    4,    5,    6,    7,    8,
                                     9,    10,   11,   12};
  phone.sendTo(endpoint.rtpPort(), stun);
  phone.sendTo(endpoint.rtpPort(), std::vector<uint8_t>{0x80, 0x00, 0x01});
  phone.sendTo(endpoint.rtpPort(), std::vector<uint8_t>(40, 0x42));
  EXPECT_EQ(drainUntil(endpoint, [&] { return endpoint.stats().droppedNotRtp >= 3; }), 0u);
  EXPECT_EQ(endpoint.stats().droppedNotRtp, 3u);
  EXPECT_FALSE(endpoint.latched()) << "noise must not latch";
}

TEST_F(MixerEndpoint, SrtpRoundTripReplayAndTamper) {
  std::vector<uint8_t> ours(30), theirs(30);
  for (std::size_t i = 0; i < 30; ++i) {
    ours[i] = static_cast<uint8_t>(i);
    theirs[i] = static_cast<uint8_t>(100 + i);
  }
  EndpointSettings settings;
  settings.srtp = SrtpKeys{srtp::Suite::kAesCm128HmacSha1_80, ours, theirs};
  MediaEndpoint endpoint = open(settings);
  auto phoneOut = srtp::Session::create(srtp::Suite::kAesCm128HmacSha1_80,
                                        srtp::Direction::kOutbound, theirs);
  auto phoneIn = srtp::Session::create(srtp::Suite::kAesCm128HmacSha1_80,
                                       srtp::Direction::kInbound, ours);
  ASSERT_TRUE(phoneOut && phoneIn);
  Peer phone;
  auto packet = rtpPacket(1, 0x1234, 16);
  std::size_t length = packet.size() - 16;
  ASSERT_TRUE(phoneOut->protectRtp(packet, length));
  const std::vector<uint8_t> wire(packet.begin(), packet.begin() + static_cast<long>(length));
  phone.sendTo(endpoint.rtpPort(), wire);
  phone.sendTo(endpoint.rtpPort(), wire);  // replayed
  auto tampered = wire;
  tampered[20] ^= 0x01;
  phone.sendTo(endpoint.rtpPort(), tampered);
  EXPECT_EQ(drainUntil(endpoint,
                       [&] { return got_.rtp.size() >= 1 && endpoint.stats().droppedSrtp >= 2; }),
            1u);
  EXPECT_EQ(endpoint.stats().droppedSrtp, 2u);
  ASSERT_EQ(got_.rtp.size(), 1u);
  EXPECT_EQ(got_.rtp[0], rtpPacket(1)) << "decrypted back to the clear packet";
  // Our direction: the phone can decrypt what we send.
  auto out = rtpPacket(9, 0x5555, 16);
  ASSERT_TRUE(endpoint.sendRtp(out, out.size() - 16));
  auto received = phone.receive();
  std::size_t receivedLength = received.size();
  ASSERT_TRUE(phoneIn->unprotectRtp(received, receivedLength));
  EXPECT_EQ(receivedLength, out.size() - 16);
}

TEST_F(MixerEndpoint, RtcpMuxIsSeparatedFromRtp) {
  EndpointSettings settings;
  settings.rtcpMux = true;
  MediaEndpoint endpoint = open(settings);
  Peer phone;
  std::vector<uint8_t> rtcp(200);
  rtcp.resize(rtp::writeReceiverReportCompound(rtcp, 0x1234, {}, "phone@example"));
  ASSERT_GT(rtcp.size(), 0u);
  phone.sendTo(endpoint.rtpPort(), rtpPacket(1));
  phone.sendTo(endpoint.rtpPort(), rtcp);
  EXPECT_EQ(drainUntil(endpoint, [&] { return got_.rtp.size() >= 1 && got_.rtcp.size() >= 1; }),
            2u);
  EXPECT_EQ(got_.rtp.size(), 1u);
  EXPECT_EQ(got_.rtcp.size(), 1u);
}

}  // namespace
}  // namespace confab::mixer
