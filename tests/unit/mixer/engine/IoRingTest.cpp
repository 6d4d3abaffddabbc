// The mixer thread's io_uring receive and send paths, on real UDP sockets on 127.0.0.1.
#include "mixer/engine/IoRing.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <utility>
#include <string>
#include <vector>

namespace confab::mixer {
namespace {

using namespace std::chrono_literals;

int boundSocket(uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  local.sin_port = htons(port);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)), 0);
  socklen_t length = sizeof(local);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
  port = ntohs(local.sin_port);
  return fd;
}

void sendTo(int from, uint16_t port, const std::vector<uint8_t>& bytes) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  ASSERT_EQ(::sendto(from, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof(to)),
            static_cast<ssize_t>(bytes.size()));
}

struct Received {
  uint64_t tag;
  std::vector<uint8_t> bytes;
  uint16_t fromPort;
  bool truncated;
};

class Collector final : public IoRing::Handler {
 public:
  void onDatagram(uint64_t tag,
                  std::span<uint8_t> data,
                  std::size_t length,
                  const sockaddr_storage& from,
                  bool truncated) override {
    EXPECT_LE(length, data.size());
    const auto& in = reinterpret_cast<const sockaddr_in&>(from);
    EXPECT_EQ(in.sin_family, AF_INET);
    got.push_back({tag, std::vector<uint8_t>(data.begin(), data.begin() + static_cast<long>(length)),
                   ntohs(in.sin_port), truncated});
  }
  void onReadable(uint64_t tag) override { readable.push_back(tag); }
  void onSendFailed(uint64_t tag, int error) override { failed.emplace_back(tag, error); }
  std::vector<Received> got;
  std::vector<uint64_t> readable;
  std::vector<std::pair<uint64_t, int>> failed;
};

// Waits (up to 2 s) until the collector holds 'count' datagrams.
void collect(IoRing& ring, Collector& collector, std::size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (collector.got.size() < count && std::chrono::steady_clock::now() < deadline) {
    ring.wait(50ms, collector);
  }
}

std::unique_ptr<IoRing> makeRing(std::size_t buffers) {
  std::string why;
  auto ring = IoRing::create(buffers, why);
  if (!ring) {
    ADD_FAILURE() << "io_uring refused here: " << why;
  }
  return ring;
}

TEST(MixerIoRing, DatagramsComeBackWithTheirSocketsTagAndSource) {
  auto ring = makeRing(64);
  ASSERT_TRUE(ring);
  uint16_t portA = 0, portB = 0, portPhone = 0;
  const int a = boundSocket(portA), b = boundSocket(portB), phone = boundSocket(portPhone);
  ASSERT_TRUE(ring->watch(a, 0xA));
  ASSERT_TRUE(ring->watch(b, 0xB));
  EXPECT_FALSE(ring->watch(a, 0xC)) << "one watch per socket";
  sendTo(phone, portA, {1, 2, 3});
  sendTo(phone, portB, std::vector<uint8_t>(1500, 7));
  sendTo(phone, portA, {4});
  Collector c;
  collect(*ring, c, 3);
  ASSERT_EQ(c.got.size(), 3U);
  std::map<uint64_t, std::vector<std::vector<uint8_t>>> byTag;
  for (const auto& r : c.got) {
    EXPECT_EQ(r.fromPort, portPhone);
    EXPECT_FALSE(r.truncated);
    byTag[r.tag].push_back(r.bytes);
  }
  EXPECT_EQ(byTag[0xA], (std::vector<std::vector<uint8_t>>{{1, 2, 3}, {4}}));
  ASSERT_EQ(byTag[0xB].size(), 1U);
  EXPECT_EQ(byTag[0xB][0].size(), 1500U);
  for (int fd : {a, b, phone}) {
    ring->unwatch(fd);
    ::close(fd);
  }
}

TEST(MixerIoRing, ADatagramTooBigForABufferIsMarkedTruncated) {
  auto ring = makeRing(16);
  ASSERT_TRUE(ring);
  uint16_t port = 0, phonePort = 0;
  const int fd = boundSocket(port), phone = boundSocket(phonePort);
  ASSERT_TRUE(ring->watch(fd, 1));
  sendTo(phone, port, std::vector<uint8_t>(IoRing::kBufferBytes, 9));
  sendTo(phone, port, {1});
  Collector c;
  collect(*ring, c, 2);
  ASSERT_EQ(c.got.size(), 2U);
  EXPECT_TRUE(c.got[0].truncated);
  EXPECT_FALSE(c.got[1].truncated) << "the socket goes on";
  ring->unwatch(fd);
  ::close(fd);
  ::close(phone);
}

TEST(MixerIoRing, MoreDatagramsThanBuffersAllArrive) {
  // 8 buffers, 100 datagrams queued before the thread looks: the kernel ends the receive when
  // the buffers run out, the ring arms it again as they come back, and none is lost (they wait
  // in the socket meanwhile).
  auto ring = makeRing(8);
  ASSERT_TRUE(ring);
  uint16_t port = 0, phonePort = 0;
  const int fd = boundSocket(port), phone = boundSocket(phonePort);
  ASSERT_TRUE(ring->watch(fd, 5));
  for (uint8_t i = 0; i < 100; ++i) {
    sendTo(phone, port, {i});
  }
  Collector c;
  collect(*ring, c, 100);
  ASSERT_EQ(c.got.size(), 100U);
  for (uint8_t i = 0; i < 100; ++i) {
    EXPECT_EQ(c.got[i].bytes, std::vector<uint8_t>{i}) << "in order";
  }
  EXPECT_GT(ring->counters().rearmed, 0U);
  ring->unwatch(fd);
  ::close(fd);
  ::close(phone);
}

TEST(MixerIoRing, AfterUnwatchNothingComesAndThePortIsFreeAtOnce) {
  auto ring = makeRing(16);
  ASSERT_TRUE(ring);
  uint16_t port = 0, phonePort = 0;
  const int fd = boundSocket(port), phone = boundSocket(phonePort);
  ASSERT_TRUE(ring->watch(fd, 1));
  sendTo(phone, port, {1});
  sendTo(phone, port, {2});
  ring->unwatch(fd);  // before the thread looked: both are dropped, not handed out
  Collector c;
  ring->wait(20ms, c);
  EXPECT_TRUE(c.got.empty());
  ::close(fd);
  // The ring let go of the socket: its port can be bound again straight away (the mixer hands
  // a released port to the next call).
  uint16_t again = port;
  const int reopened = boundSocket(again);
  EXPECT_EQ(again, port);
  ASSERT_TRUE(ring->watch(reopened, 2));
  sendTo(phone, port, {3});
  collect(*ring, c, 1);
  ASSERT_EQ(c.got.size(), 1U);
  EXPECT_EQ(c.got[0].tag, 2U);
  EXPECT_EQ(c.got[0].bytes, std::vector<uint8_t>{3});
  ring->unwatch(reopened);
  ::close(reopened);
  ::close(phone);
}

TEST(MixerIoRing, AReadableFileWakesTheRingEachTime) {
  auto ring = makeRing(16);
  ASSERT_TRUE(ring);
  const int event = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_TRUE(ring->watchReadable(event, 77));
  Collector c;
  for (int round = 0; round < 3; ++round) {
    uint64_t one = 1;
    ASSERT_EQ(::write(event, &one, sizeof(one)), 8);
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (c.readable.size() < static_cast<std::size_t>(round + 1) &&
           std::chrono::steady_clock::now() < deadline) {
      ring->wait(50ms, c);
    }
    ASSERT_EQ(c.readable.size(), static_cast<std::size_t>(round + 1));
    EXPECT_EQ(c.readable.back(), 77U);
    uint64_t value = 0;
    ASSERT_EQ(::read(event, &value, sizeof(value)), 8);  // drained: not readable until written
  }
  ring->unwatch(event);
  ::close(event);
}

sockaddr_storage loopback(uint16_t port, socklen_t& length) {
  sockaddr_storage out{};
  auto& in = reinterpret_cast<sockaddr_in&>(out);
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  in.sin_port = htons(port);
  length = sizeof(sockaddr_in);
  return out;
}

// Reads what is waiting on a non-blocking socket.
std::vector<std::vector<uint8_t>> readAll(int fd) {
  std::vector<std::vector<uint8_t>> out;
  std::vector<uint8_t> buffer(2048);
  for (;;) {
    const auto n = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n < 0) {
      return out;
    }
    out.emplace_back(buffer.begin(), buffer.begin() + n);
  }
}

TEST(MixerIoRing, PostedSendsLeaveInOrderOnFlushAndTheSlotsCanBeReused) {
  auto ring = makeRing(16);
  ASSERT_TRUE(ring);
  uint16_t mixerPort = 0, phonePort = 0;
  const int mixer = boundSocket(mixerPort), phone = boundSocket(phonePort);
  int buffer = 4 << 20;  // room for every datagram below before the phone reads
  ::setsockopt(phone, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  socklen_t length = 0;
  const sockaddr_storage to = loopback(phonePort, length);
  // More than the slots: post() flushes by itself when they are full, and a posted datagram is
  // copied (the caller's buffer is used again at once, as the mixer's send buffer is).
  const std::size_t count = IoRing::kSendSlots + 100;
  std::vector<uint8_t> packet(172);
  for (std::size_t i = 0; i < count; ++i) {
    packet[0] = static_cast<uint8_t>(i);
    packet[1] = static_cast<uint8_t>(i >> 8);
    ASSERT_TRUE(ring->post(mixer, to, length, packet, 9));
  }
  ring->flush();
  const auto got = readAll(phone);
  ASSERT_EQ(got.size(), count) << "every send was tried by the time flush() returned";
  for (std::size_t i = 0; i < count; ++i) {
    ASSERT_EQ(got[i].size(), 172U);
    EXPECT_EQ(got[i][0] | (got[i][1] << 8), static_cast<int>(i & 0xFFFF)) << "in order";
  }
  EXPECT_EQ(ring->counters().sent, count);
  Collector c;
  ring->wait(0ns, c);
  EXPECT_TRUE(c.failed.empty()) << "a send that worked makes no completion";
  EXPECT_FALSE(ring->post(mixer, to, length, std::vector<uint8_t>(IoRing::kSendBytes + 1), 9))
      << "too big for a slot: the caller sends it itself";
  ::close(mixer);
  ::close(phone);
}

TEST(MixerIoRing, AFailedSendIsReportedWithItsTagAndTheOthersGoOn) {
  auto ring = makeRing(16);
  ASSERT_TRUE(ring);
  uint16_t mixerPort = 0, phonePort = 0;
  const int mixer = boundSocket(mixerPort), phone = boundSocket(phonePort);
  const int notASocket = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  socklen_t length = 0;
  const sockaddr_storage to = loopback(phonePort, length);
  ASSERT_TRUE(ring->post(mixer, to, length, std::vector<uint8_t>{1}, 1));
  ASSERT_TRUE(ring->post(notASocket, to, length, std::vector<uint8_t>{2}, 0x1234));
  ASSERT_TRUE(ring->post(mixer, to, length, std::vector<uint8_t>{3}, 3));
  ring->flush();
  EXPECT_EQ(readAll(phone), (std::vector<std::vector<uint8_t>>{{1}, {3}}));
  Collector c;
  ring->wait(0ns, c);
  ASSERT_EQ(c.failed.size(), 1U);
  EXPECT_EQ(c.failed[0].first, 0x1234U);
  EXPECT_EQ(c.failed[0].second, ENOTSOCK);
  EXPECT_EQ(ring->counters().sendFailures, 1U);
  ::close(notASocket);
  ::close(mixer);
  ::close(phone);
}

}  // namespace
}  // namespace confab::mixer
