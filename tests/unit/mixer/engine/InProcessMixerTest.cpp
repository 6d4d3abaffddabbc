// The whole in-process mixer over loopback in real time: phones send RTP tones to the ports the
// mixer reserved, mixer threads mix on their 20 ms clock, phones decode what comes back.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "mixer/engine/InProcessMixer.hpp"
#include "mixer/rtp/RtpPacket.hpp"
#include "mixer/rtp/TelephoneEvent.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"

namespace confab::mixer {
namespace {

class UdpPhone {
 public:
  UdpPhone(Codec codec, uint8_t pt, double toneHz, uint16_t mixerPort)
      : codec_(codec), pt_(pt), encoder_(codec), decoder_(codec),
        tone_(toneHz, toneHz > 0 ? 8000.0 : 0.0, pcmRate(codec)),
        fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local));
    mixer_.sin_family = AF_INET;
    mixer_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    mixer_.sin_port = htons(mixerPort);
  }
  ~UdpPhone() { ::close(fd_); }
  UdpPhone(const UdpPhone&) = delete;
  UdpPhone& operator=(const UdpPhone&) = delete;

  void sendFrame() {
    std::vector<int16_t> pcm(frameSamples(codec_));
    tone_.fill(pcm);
    std::vector<uint8_t> payload(kMaxEncodedBytes);
    payload.resize(encoder_.encode(pcm, payload));
    rtp::RtpHeader h;
    h.payloadType = pt_;
    h.sequenceNumber = seq_++;
    h.timestamp = ts_;
    h.ssrc = 0xC0FFEE00u + pt_ + static_cast<uint32_t>(fd_);
    ts_ += static_cast<uint32_t>(frameSamples(codec_));
    sendPacket(h, payload);
  }
  void sendDigit(uint8_t digit, int index) {
    rtp::TelephoneEvent event{digit, index >= 3, 10, static_cast<uint16_t>(160 * (index + 1))};
    std::array<uint8_t, 4> payload{};
    rtp::writeTelephoneEvent(payload, event);
    rtp::RtpHeader h;
    h.payloadType = 101;
    h.marker = index == 0;
    h.sequenceNumber = seq_++;
    h.timestamp = 77777;
    h.ssrc = 0xC0FFEE00u + pt_ + static_cast<uint32_t>(fd_);
    sendPacket(h, payload);
  }
  void receiveAll() {
    std::vector<uint8_t> buffer(1500);
    for (;;) {
      const auto n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n <= 0) {
        return;
      }
      auto packet = rtp::RtpPacket::parse(std::span<uint8_t>(buffer).first(static_cast<std::size_t>(n)));
      if (!packet) {
        continue;
      }
      std::vector<int16_t> pcm(frameSamples(codec_));
      if (decoder_.decode(packet->payload(), pcm)) {
        heard.insert(heard.end(), pcm.begin(), pcm.end());
      }
    }
  }
  std::span<const int16_t> recent(std::size_t frames) const {
    const std::size_t n = std::min(heard.size(), frames * frameSamples(codec_));
    return std::span<const int16_t>(heard).last(n);
  }

  std::vector<int16_t> heard;

 private:
  void sendPacket(const rtp::RtpHeader& h, std::span<const uint8_t> payload) {
    std::vector<uint8_t> packet(1500);
    packet.resize(rtp::writeRtpPacket(packet, h, payload));
    ::sendto(fd_, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&mixer_),
             sizeof(mixer_));
  }

  Codec codec_;
  uint8_t pt_;
  AudioEncoder encoder_;
  AudioDecoder decoder_;
  test::SineGenerator tone_;
  int fd_;
  sockaddr_in mixer_{};
  uint16_t seq_ = 1;
  uint32_t ts_ = 1000;
};

struct RecordingEvents final : MixerEvents {
  void onDtmf(EndpointId endpoint, char digit) override { digits.emplace_back(endpoint, digit); }
  void onRtpTimeout(EndpointId endpoint) override { timeouts.push_back(endpoint); }
  std::vector<std::pair<EndpointId, char>> digits;
  std::vector<EndpointId> timeouts;
};

MediaParams paramsFor(Codec codec, uint8_t pt, uint32_t ssrc) {
  MediaParams p;
  p.participant.codec = codec;
  p.participant.payloadType = pt;
  p.participant.ssrc = ssrc;
  p.participant.telephoneEventPayloadType = 101;
  return p;
}

void waitForEvents(InProcessMixer& mixer, RecordingEvents& events, int ms) {
  pollfd p{mixer.eventFd(), POLLIN, 0};
  if (::poll(&p, 1, ms) == 1) {
    mixer.deliverEvents(events);
  }
}

TEST(MixerEngine, PhonesOverLoopbackHearEachOtherInRealTime) {
  MixerSettings settings;
  settings.threads = 2;
  settings.bindAddress = boost::asio::ip::make_address("127.0.0.1");
  settings.ports = {43000, 43999};
  InProcessMixer mixer(settings);
  const MixId mix = mixer.createMix(RoomSettings{});
  auto ra = mixer.reserve(), rb = mixer.reserve(), rc = mixer.reserve();
  ASSERT_TRUE(ra && rb && rc);
  UdpPhone a(Codec::kPcmu, 0, 1000, ra->rtpPort), b(Codec::kOpus, 111, 1500, rb->rtpPort),
      c(Codec::kPcmu, 0, 0, rc->rtpPort);
  ASSERT_TRUE(mixer.join(ra->id, mix, paramsFor(Codec::kPcmu, 0, 1)));
  ASSERT_TRUE(mixer.join(rb->id, mix, paramsFor(Codec::kOpus, 111, 2)));
  ASSERT_TRUE(mixer.join(rc->id, mix, paramsFor(Codec::kPcmu, 0, 3)));
  RecordingEvents events;
  auto next = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    a.sendFrame();
    b.sendFrame();
    c.sendFrame();
    if (i >= 40 && i < 46) {
      a.sendDigit(9, i - 40);
    }
    next += std::chrono::milliseconds(20);
    std::this_thread::sleep_until(next);
    a.receiveAll();
    b.receiveAll();
    c.receiveAll();
    waitForEvents(mixer, events, 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  a.receiveAll();
  b.receiveAll();
  c.receiveAll();
  waitForEvents(mixer, events, 100);
  EXPECT_TRUE(test::hasTone(a.recent(40), 1500, 8000, -3));
  EXPECT_LT(test::toneDbov(a.recent(40), 1000, 8000), -45.0) << "A hears itself";
  EXPECT_TRUE(test::hasTone(b.recent(40), 1000, 48000, -3));
  EXPECT_LT(test::toneDbov(b.recent(40), 1500, 48000), -45.0) << "B hears itself";
  EXPECT_TRUE(test::hasTone(c.recent(40), 1000, 8000, -6));
  EXPECT_TRUE(test::hasTone(c.recent(40), 1500, 8000, -6));
  ASSERT_EQ(events.digits.size(), 1u);
  EXPECT_EQ(events.digits[0], std::make_pair(ra->id, '9'));
  for (const auto& w : mixer.workers()) {
    EXPECT_LT(w->lateness().percentileMicros(0.99), 5000.0);
  }
  mixer.release(ra->id);
  mixer.release(rb->id);
  mixer.release(rc->id);
  mixer.destroyMix(mix);
}

TEST(MixerEngine, SilentEndpointTimesOut) {
  MixerSettings settings;
  settings.threads = 1;
  settings.bindAddress = boost::asio::ip::make_address("127.0.0.1");
  settings.ports = {44000, 44999};
  settings.rtpTimeout = std::chrono::milliseconds(500);
  InProcessMixer mixer(settings);
  const MixId mix = mixer.createMix(RoomSettings{});
  auto r = mixer.reserve();
  ASSERT_TRUE(r);
  ASSERT_TRUE(mixer.join(r->id, mix, paramsFor(Codec::kPcmu, 0, 1)));
  RecordingEvents events;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (events.timeouts.empty() && std::chrono::steady_clock::now() < deadline) {
    waitForEvents(mixer, events, 200);
  }
  ASSERT_EQ(events.timeouts.size(), 1u);
  EXPECT_EQ(events.timeouts[0], r->id);
}

TEST(MixerEngine, ReservedPortsAreFreedOnRelease) {
  MixerSettings settings;
  settings.threads = 1;
  settings.bindAddress = boost::asio::ip::make_address("127.0.0.1");
  settings.ports = {45000, 45003};  // two pairs
  InProcessMixer mixer(settings);
  auto first = mixer.reserve();
  auto second = mixer.reserve();
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(mixer.reserve()) << "the range is used up";
  mixer.release(first->id);
  auto again = mixer.reserve();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->rtpPort, first->rtpPort);
}

}  // namespace
}  // namespace confab::mixer
