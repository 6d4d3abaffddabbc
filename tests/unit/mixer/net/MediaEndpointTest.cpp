// Media endpoints on real loopback sockets: strict latching (the SDP's address at once, another
// port of an allowed address after three packets in sequence, SRTP on an authenticated packet,
// nobody else), strangers dropped (RTP bleed), SRTP with replay and tamper refused, rtcp-mux
// demultiplexing. 127.0.0.2 stands for another host: all of 127/8 is loopback on Linux.
#include <arpa/inet.h>
#include <gtest/gtest.h>
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

// A test peer: one UDP socket on 127.0.0.1, or another loopback address.
class Peer {
 public:
  explicit Peer(const char* ip = "127.0.0.1") : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, ip, &a.sin_addr);
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
  // The address without its port: what latchSources holds.
  sockaddr_storage host() const {
    sockaddr_storage a = address();
    reinterpret_cast<sockaddr_in&>(a).sin_port = 0;
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

// The phone's SDP named its address; signalling allowed 127.0.0.1.
EndpointSettings fromSdp(const Peer& phone) {
  EndpointSettings settings;
  settings.remoteRtp = phone.address();
  settings.latchSources = {phone.host()};
  return settings;
}

TEST_F(MixerEndpoint, TheSdpAddressLatchesAtOnceAndStrangersAreDropped) {
  Peer phone;
  MediaEndpoint endpoint = open(fromSdp(phone));
  Peer stranger;  // same host, another port
  phone.sendTo(endpoint.rtpPort(), rtpPacket(1));
  EXPECT_EQ(drainUntil(endpoint, [&] { return got_.rtp.size() >= 1; }), 1u);
  EXPECT_TRUE(endpoint.latched());
  auto note = endpoint.takeSourceNote();
  ASSERT_TRUE(note);
  EXPECT_EQ(note->kind, SourceNote::Kind::kLatched);
  EXPECT_EQ(addressText(note->address), addressText(phone.address()));
  stranger.sendTo(endpoint.rtpPort(), rtpPacket(2, 0x1234));
  stranger.sendTo(endpoint.rtpPort(), rtpPacket(3, 0x9999));
  phone.sendTo(endpoint.rtpPort(), rtpPacket(4));
  const auto allThree = [&] {
    return got_.rtp.size() >= 2 && endpoint.stats().droppedForeignSource >= 2;
  };
  EXPECT_EQ(drainUntil(endpoint, allThree), 1u);
  ASSERT_EQ(got_.rtp.size(), 2u);
  EXPECT_EQ(endpoint.stats().droppedForeignSource, 2u);
  note = endpoint.takeSourceNote();
  ASSERT_TRUE(note);
  EXPECT_EQ(note->kind, SourceNote::Kind::kRefused);
  EXPECT_EQ(addressText(note->address), addressText(stranger.address()));
  EXPECT_EQ(note->refused, 2u);
  // What we send goes to the latched phone, not the stranger.
  auto out = rtpPacket(7);
  ASSERT_TRUE(endpoint.sendRtp(out, out.size()));
  EXPECT_EQ(phone.receive().size(), out.size());
}

TEST_F(MixerEndpoint, AnotherPortLatchesOnlyAfterThreePacketsInSequence) {
  // Behind a NAT the packets come from another port than the SDP's: three in sequence, of one
  // SSRC, from one address and port, and only the third is played.
  Peer phone;
  Peer sdp;  // what the SDP said (never sends)
  Peer noise;
  MediaEndpoint endpoint = open(fromSdp(sdp));
  phone.sendTo(endpoint.rtpPort(), rtpPacket(10));
  noise.sendTo(endpoint.rtpPort(), rtpPacket(500, 0x7777));
  phone.sendTo(endpoint.rtpPort(), rtpPacket(11));
  noise.sendTo(endpoint.rtpPort(), rtpPacket(900, 0x7777));  // not in sequence: starts over
  EXPECT_EQ(drainUntil(endpoint, [&] { return endpoint.stats().awaitingLatch >= 4; }), 0u);
  EXPECT_FALSE(endpoint.latched());
  phone.sendTo(endpoint.rtpPort(), rtpPacket(13));  // a gap: starts over as well
  phone.sendTo(endpoint.rtpPort(), rtpPacket(14));
  EXPECT_EQ(drainUntil(endpoint, [&] { return endpoint.stats().awaitingLatch >= 6; }), 0u);
  EXPECT_FALSE(endpoint.latched());
  phone.sendTo(endpoint.rtpPort(), rtpPacket(15));
  EXPECT_EQ(drainUntil(endpoint, [&] { return got_.rtp.size() >= 1; }), 1u);
  EXPECT_TRUE(endpoint.latched());
  EXPECT_EQ(got_.rtp[0], rtpPacket(15));
  auto out = rtpPacket(7);
  ASSERT_TRUE(endpoint.sendRtp(out, out.size()));
  EXPECT_EQ(phone.receive().size(), out.size()) << "we send where it latched";
}

TEST_F(MixerEndpoint, AddressesTheSignallingDidNotNameAreRefused) {
  // The attack of issue 10 item 16: a stranger on another host sends in sequence before the
  // caller's first packet. It is refused, whatever it sends, and never hears the room.
  Peer phone;
  Peer stranger("127.0.0.2");
  EndpointSettings settings;
  settings.latchSources = {phone.host()};  // the SDP had a name, not an address
  MediaEndpoint endpoint = open(settings);
  for (uint16_t seq = 1; seq <= 6; ++seq) {
    stranger.sendTo(endpoint.rtpPort(), rtpPacket(seq));
  }
  EXPECT_EQ(drainUntil(endpoint, [&] { return endpoint.stats().refusedSource >= 6; }), 0u);
  EXPECT_FALSE(endpoint.latched());
  auto note = endpoint.takeSourceNote();
  ASSERT_TRUE(note);
  EXPECT_EQ(note->kind, SourceNote::Kind::kRefused);
  EXPECT_EQ(addressText(note->address), addressText(stranger.address()));
  EXPECT_EQ(note->refused, 6u);
  for (uint16_t seq = 100; seq < 103; ++seq) {
    phone.sendTo(endpoint.rtpPort(), rtpPacket(seq));
  }
  EXPECT_EQ(drainUntil(endpoint, [&] { return got_.rtp.size() >= 1; }), 1u);
  EXPECT_TRUE(endpoint.latched());
  note = endpoint.takeSourceNote();
  ASSERT_TRUE(note);
  EXPECT_EQ(note->kind, SourceNote::Kind::kLatched);
  EXPECT_EQ(addressText(note->address), addressText(phone.address()));
}

TEST_F(MixerEndpoint, TheSdpAddressTakesTheLatchBackFromALearnedOne) {
  // Someone on the caller's own host got in first with three packets in sequence; the caller's
  // first packet from the SDP's address takes the stream back, and we send to the caller.
  Peer phone;
  Peer squatter;
  MediaEndpoint endpoint = open(fromSdp(phone));
  for (uint16_t seq = 1; seq <= 3; ++seq) {
    squatter.sendTo(endpoint.rtpPort(), rtpPacket(seq, 0x5151));
  }
  EXPECT_EQ(drainUntil(endpoint, [&] { return got_.rtp.size() >= 1; }), 1u);
  EXPECT_TRUE(endpoint.latched());
  phone.sendTo(endpoint.rtpPort(), rtpPacket(40));
  EXPECT_EQ(drainUntil(endpoint, [&] { return got_.rtp.size() >= 2; }), 1u);
  squatter.sendTo(endpoint.rtpPort(), rtpPacket(4, 0x5151));
  EXPECT_EQ(drainUntil(endpoint, [&] { return endpoint.stats().droppedForeignSource >= 1; }), 0u);
  auto out = rtpPacket(7);
  ASSERT_TRUE(endpoint.sendRtp(out, out.size()));
  EXPECT_EQ(phone.receive().size(), out.size());
}

TEST_F(MixerEndpoint, ALatchOutlivesAReinviteThatKeepsTheSdpAddress) {
  Peer phone;
  Peer stranger;
  MediaEndpoint first = open(fromSdp(phone));
  phone.sendTo(first.rtpPort(), rtpPacket(1));
  ASSERT_EQ(drainUntil(first, [&] { return got_.rtp.size() >= 1; }), 1u);
  auto [rtpFd, rtcpFd] = first.releaseSockets();
  auto second = MediaEndpoint::create(rtpFd, rtcpFd, fromSdp(phone), &first);
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->latched()) << "a hold or a codec change does not reopen the port";
  stranger.sendTo(second->rtpPort(), rtpPacket(2));
  EXPECT_EQ(drainUntil(*second, [&] { return second->stats().droppedForeignSource >= 1; }), 0u);
  EXPECT_EQ(second->stats().rtpReceived, 1u) << "the counters go on";
  // The SDP's address moved (the caller is somewhere else now): latch again, strictly.
  Peer moved;
  auto [rtpFd2, rtcpFd2] = second->releaseSockets();
  auto third = MediaEndpoint::create(rtpFd2, rtcpFd2, fromSdp(moved), &*second);
  ASSERT_TRUE(third);
  EXPECT_FALSE(third->latched());
  moved.sendTo(third->rtpPort(), rtpPacket(3));
  EXPECT_EQ(drainUntil(*third, [&] { return got_.rtp.size() >= 2; }), 1u);
  EXPECT_TRUE(third->latched());
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
  const auto all = [&] {
    return endpoint.stats().droppedNotRtp + endpoint.stats().droppedMalformed >= 3;
  };
  EXPECT_EQ(drainUntil(endpoint, all), 0u);
  EXPECT_EQ(endpoint.stats().droppedNotRtp, 2u) << "STUN and noise are not media";
  EXPECT_EQ(endpoint.stats().droppedMalformed, 1u) << "a truncated RTP header is";
  EXPECT_FALSE(endpoint.latched()) << "noise must not latch";
}

TEST_F(MixerEndpoint, SrtpRoundTripReplayAndTamper) {
  std::vector<uint8_t> ours(30), theirs(30);
  for (std::size_t i = 0; i < 30; ++i) {
    ours[i] = static_cast<uint8_t>(i);
    theirs[i] = static_cast<uint8_t>(100 + i);
  }
  // No SDP address to go by: with SRTP the first authenticated packet latches at once.
  Peer phone;
  Peer forger;
  EndpointSettings settings;
  settings.srtp = SrtpKeys{srtp::Suite::kAesCm128HmacSha1_80, ours, theirs};
  settings.latchSources = {phone.host()};
  MediaEndpoint endpoint = open(settings);
  for (uint16_t seq = 1; seq <= 4; ++seq) {
    auto forged = rtpPacket(seq, 0x1234, 16);
    forged.resize(forged.size() - 6);  // plain RTP with a made-up 10-byte tag
    forger.sendTo(endpoint.rtpPort(), forged);
  }
  EXPECT_EQ(drainUntil(endpoint, [&] { return endpoint.stats().droppedSrtp >= 4; }), 0u);
  EXPECT_FALSE(endpoint.latched()) << "only an authenticated packet latches";
  auto phoneOut = srtp::Session::create(srtp::Suite::kAesCm128HmacSha1_80,
                                        srtp::Direction::kOutbound, theirs);
  auto phoneIn = srtp::Session::create(srtp::Suite::kAesCm128HmacSha1_80,
                                       srtp::Direction::kInbound, ours);
  ASSERT_TRUE(phoneOut && phoneIn);
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
                       [&] { return got_.rtp.size() >= 1 && endpoint.stats().droppedSrtp >= 6; }),
            1u);
  EXPECT_EQ(endpoint.stats().droppedSrtp, 6u);
  EXPECT_TRUE(endpoint.latched());
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

TEST_F(MixerEndpoint, AKeyThatComesBackGoesOnWithItsOwnContext) {
  // Re-INVITEs take our key from K1 to K2 and back to K1: K1's own context goes on, so its SRTCP
  // index goes on from where it was. A new context would send index 1 again under K1: keystream
  // used twice (RFC 3711 §9.1), which the phone's K1 context refuses as a replay.
  std::vector<uint8_t> k1(30, 0x11), k2(30, 0x22), theirs(30, 0x33);
  Peer phone;
  auto settingsWith = [&](const std::vector<uint8_t>& ours) {
    EndpointSettings s = fromSdp(phone);
    s.rtcpMux = true;
    s.srtp = SrtpKeys{srtp::Suite::kAesCm128HmacSha1_80, ours, theirs};
    return s;
  };
  auto phoneInK1 =
      srtp::Session::create(srtp::Suite::kAesCm128HmacSha1_80, srtp::Direction::kInbound, k1);
  ASSERT_TRUE(phoneInK1);
  std::vector<uint8_t> report(200);
  report.resize(rtp::writeReceiverReportCompound(report, 0x5555, {}, "mixer@example"));
  const auto sendReport = [&](MediaEndpoint& endpoint) {
    std::vector<uint8_t> buffer(report);
    buffer.resize(report.size() + 64);
    return endpoint.sendRtcp(buffer, report.size());
  };
  const auto phoneTakesReport = [&] {
    auto wire = phone.receive();
    std::size_t length = wire.size();
    return !wire.empty() && phoneInK1->unprotectRtcp(wire, length);
  };
  MediaEndpoint first = open(settingsWith(k1));
  ASSERT_TRUE(sendReport(first));
  EXPECT_TRUE(phoneTakesReport());
  auto [rtpFd, rtcpFd] = first.releaseSockets();
  auto second = MediaEndpoint::create(rtpFd, rtcpFd, settingsWith(k2), &first);
  ASSERT_TRUE(second);
  ASSERT_TRUE(sendReport(*second));
  (void)phone.receive();  // under K2: not for K1's context
  auto [rtpFd2, rtcpFd2] = second->releaseSockets();
  auto third = MediaEndpoint::create(rtpFd2, rtcpFd2, settingsWith(k1), &*second);
  ASSERT_TRUE(third);
  ASSERT_TRUE(sendReport(*third));
  EXPECT_TRUE(phoneTakesReport()) << "K1's SRTCP index went on (not index 1 again)";
  // Our key under another suite is refused: it would derive the keystream K1 already used.
  auto [rtpFd3, rtcpFd3] = third->releaseSockets();
  EndpointSettings otherSuite = settingsWith(k1);
  otherSuite.srtp->suite = srtp::Suite::kAesCm128HmacSha1_32;
  EXPECT_FALSE(MediaEndpoint::create(rtpFd3, rtcpFd3, otherSuite, &*third));
}

TEST_F(MixerEndpoint, KeepAlivesAreNotMediaNorErrors) {
  // Issue 10 item 14: what baresip sends besides its media (a lone RTCP APP packet, in the clear
  // even with SRTP) and an empty RTP packet (RFC 6263 §4.6) are neither malformed nor failed
  // authentication: counted apart, never played, never a latch.
  const std::vector<uint8_t> app = {0x80, 0xCC, 0x00, 0x03, 0x12, 0x34, 0x56, 0x78,
                                    'P',  'I',  'N',  'G',  0x00, 0x00, 0x00, 0x01};
  const std::vector<uint8_t> empty = {0x80, 0x00, 0x00, 0x07, 0x00, 0x00,
                                      0x00, 0xA0, 0x12, 0x34, 0x56, 0x78};
  for (const bool srtp : {false, true}) {
    Peer phone;
    EndpointSettings settings = fromSdp(phone);
    settings.rtcpMux = true;
    if (srtp) {
      settings.srtp = SrtpKeys{srtp::Suite::kAesCm128HmacSha1_80, std::vector<uint8_t>(30, 1),
                               std::vector<uint8_t>(30, 2)};
    }
    MediaEndpoint endpoint = open(settings);
    phone.sendTo(endpoint.rtpPort(), app);
    phone.sendTo(endpoint.rtpPort(), empty);
    EXPECT_EQ(drainUntil(endpoint, [&] { return endpoint.stats().droppedNotRtp >= 2; }), 0u);
    EXPECT_EQ(endpoint.stats().droppedNotRtp, 2u) << (srtp ? "SRTP" : "RTP");
    EXPECT_EQ(endpoint.stats().droppedMalformed, 0u);
    EXPECT_EQ(endpoint.stats().droppedSrtp, 0u);
    EXPECT_FALSE(endpoint.latched());
    got_ = {};
  }
}

TEST_F(MixerEndpoint, RtcpMuxIsSeparatedFromRtp) {
  Peer phone;
  EndpointSettings settings = fromSdp(phone);
  settings.rtcpMux = true;
  MediaEndpoint endpoint = open(settings);
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
