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
#include "mixer/rtp/Rtcp.hpp"
#include "mixer/rtp/RtpPacket.hpp"
#include "mixer/rtp/TelephoneEvent.hpp"
#include "mixer/srtp/Session.hpp"
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

  // SDES keys: we protect with 'mine', the mixer protects what it sends us with 'theirs'.
  void useSrtp(std::span<const uint8_t> mine, std::span<const uint8_t> theirs) {
    out_ = srtp::Session::create(srtp::Suite::kAesCm128HmacSha1_80, srtp::Direction::kOutbound, mine);
    in_ = srtp::Session::create(srtp::Suite::kAesCm128HmacSha1_80, srtp::Direction::kInbound, theirs);
  }
  // Sends the last packet again, byte for byte (a replay).
  void replayLast() {
    ::sendto(fd_, last_.data(), last_.size(), 0, reinterpret_cast<sockaddr*>(&mixer_),
             sizeof(mixer_));
  }

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
      std::size_t length = static_cast<std::size_t>(n);
      if (rtp::classifyPacket(std::span<const uint8_t>(buffer).first(length)) ==
          rtp::PacketKind::kRtcp) {
        rtcp.emplace_back(buffer.begin(), buffer.begin() + static_cast<long>(length));
        continue;
      }
      if (in_ && !in_->unprotectRtp(buffer, length)) {
        ++undecryptable;
        continue;
      }
      auto packet = rtp::RtpPacket::parse(std::span<uint8_t>(buffer).first(length));
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
  std::vector<std::vector<uint8_t>> rtcp;
  int undecryptable = 0;
  uint32_t ssrc() const { return 0xC0FFEE00u + pt_ + static_cast<uint32_t>(fd_); }

 private:
  void sendPacket(const rtp::RtpHeader& h, std::span<const uint8_t> payload) {
    std::vector<uint8_t> packet(1500);
    std::size_t length = rtp::writeRtpPacket(packet, h, payload);
    if (out_) {
      out_->protectRtp(packet, length);
    }
    packet.resize(length);
    last_ = packet;
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
  std::optional<srtp::Session> out_;
  std::optional<srtp::Session> in_;
  std::vector<uint8_t> last_;
};

struct RecordingEvents final : MixerEvents {
  void onDtmf(EndpointId endpoint, char digit) override { digits.emplace_back(endpoint, digit); }
  void onRtpTimeout(EndpointId endpoint) override { timeouts.push_back(endpoint); }
  void onTalking(EndpointId endpoint, bool talking) override {
    talkingChanges.emplace_back(endpoint, talking);
  }
  std::vector<std::pair<EndpointId, char>> digits;
  std::vector<std::pair<EndpointId, bool>> talkingChanges;
  std::vector<EndpointId> timeouts;
};

// A mixer on 127.0.0.1 with its own port range, so tests running side by side do not meet.
MixerSettings loopback(unsigned threads, PortRange ports) {
  MixerSettings settings;
  settings.threads = threads;
  settings.bindAddress = boost::asio::ip::make_address("127.0.0.1");
  settings.ports = ports;
  return settings;
}

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
  MixerSettings settings = loopback(2, {43000, 43999});
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
  // The clocks ran (how late they fire is the benchmark's business, not a test's).
  for (const auto& w : mixer.workers()) {
    EXPECT_GT(w->lateness().ticks(), 50u);
  }
  mixer.release(ra->id);
  mixer.release(rb->id);
  mixer.release(rc->id);
  mixer.destroyMix(mix);
}

TEST(MixerEngine, SilentEndpointTimesOut) {
  MixerSettings settings = loopback(1, {44000, 44999});
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
  MixerSettings settings = loopback(1, {45000, 45003});  // two pairs
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

TEST(MixerEngine, SrtpCallsHearEachOtherAndReplaysChangeNothing) {
  MixerSettings settings = loopback(1, {46000, 46999});
  InProcessMixer mixer(settings);
  const MixId mix = mixer.createMix(RoomSettings{});
  auto ra = mixer.reserve(), rb = mixer.reserve();
  ASSERT_TRUE(ra && rb);
  UdpPhone a(Codec::kPcmu, 0, 1000, ra->rtpPort), b(Codec::kPcmu, 0, 0, rb->rtpPort);
  std::vector<uint8_t> keys[4];
  for (int k = 0; k < 4; ++k) {
    keys[k].resize(30);
    for (std::size_t i = 0; i < 30; ++i) {
      keys[k][i] = static_cast<uint8_t>(k * 40 + static_cast<int>(i));
    }
  }
  a.useSrtp(keys[0], keys[1]);
  b.useSrtp(keys[2], keys[3]);
  MediaParams pa = paramsFor(Codec::kPcmu, 0, 1);
  pa.endpoint.srtp = SrtpKeys{srtp::Suite::kAesCm128HmacSha1_80, keys[1], keys[0]};
  MediaParams pb = paramsFor(Codec::kPcmu, 0, 2);
  pb.endpoint.srtp = SrtpKeys{srtp::Suite::kAesCm128HmacSha1_80, keys[3], keys[2]};
  ASSERT_TRUE(mixer.join(ra->id, mix, pa));
  ASSERT_TRUE(mixer.join(rb->id, mix, pb));
  auto next = std::chrono::steady_clock::now();
  for (int i = 0; i < 80; ++i) {
    a.sendFrame();
    a.replayLast();  // every packet twice: the copy must be refused, not mixed in again
    b.sendFrame();
    next += std::chrono::milliseconds(20);
    std::this_thread::sleep_until(next);
    a.receiveAll();
    b.receiveAll();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  b.receiveAll();
  EXPECT_EQ(b.undecryptable, 0);
  EXPECT_TRUE(test::hasTone(b.recent(30), 1000, 8000, -3));
  // One copy of the tone at its level: replays did not double it.
  EXPECT_LT(test::toneDbov(b.recent(30), 1000, 8000), -9.0);
}

TEST(MixerEngine, SendsRtcpSenderReportsWithABlockAboutTheCaller) {
  MixerSettings settings = loopback(1, {47000, 47999});
  settings.rtcpInterval = std::chrono::milliseconds(200);
  InProcessMixer mixer(settings);
  const MixId mix = mixer.createMix(RoomSettings{});
  auto r = mixer.reserve();
  ASSERT_TRUE(r);
  UdpPhone phone(Codec::kPcmu, 0, 1000, r->rtpPort);
  MediaParams params = paramsFor(Codec::kPcmu, 0, 0x5EED);
  params.endpoint.rtcpMux = true;
  ASSERT_TRUE(mixer.join(r->id, mix, params));
  auto next = std::chrono::steady_clock::now();
  for (int i = 0; i < 60; ++i) {
    phone.sendFrame();
    next += std::chrono::milliseconds(20);
    std::this_thread::sleep_until(next);
    phone.receiveAll();
  }
  ASSERT_GE(phone.rtcp.size(), 2u);
  auto& last = phone.rtcp.back();
  auto compound = rtp::RtcpCompound::parse(last);
  ASSERT_TRUE(compound);
  bool sawReport = false;
  for (const auto& view : *compound) {
    if (view.type != static_cast<uint8_t>(rtp::RtcpType::kSenderReport)) {
      continue;
    }
    auto sr = rtp::SenderReport::parse(view);
    ASSERT_TRUE(sr);
    EXPECT_EQ(sr->ssrc(), 0x5EEDu);
    EXPECT_GT(sr->senderInfo().packetCount, 10u);
    ASSERT_EQ(sr->reportCount(), 1u);
    EXPECT_EQ(sr->reportBlock(0).ssrc, phone.ssrc());
    EXPECT_EQ(sr->reportBlock(0).fractionLost, 0);
    sawReport = true;
  }
  EXPECT_TRUE(sawReport);
}

TEST(MixerEngine, StatsAndTalkingReachTheSignallingSide) {
  MixerSettings settings = loopback(1, {48000, 48999});  // one thread: both mixes on it
  InProcessMixer mixer(settings);
  const MixId talkingRoom = mixer.createMix(RoomSettings{});
  const MixId otherRoom = mixer.createMix(RoomSettings{});
  auto ra = mixer.reserve(), rb = mixer.reserve();
  ASSERT_TRUE(ra && rb);
  UdpPhone a(Codec::kPcmu, 0, 1000, ra->rtpPort), b(Codec::kPcmu, 0, 0, rb->rtpPort);
  UdpPhone stranger(Codec::kPcmu, 0, 700, ra->rtpPort);  // another address, after A latched
  ASSERT_TRUE(mixer.join(ra->id, talkingRoom, paramsFor(Codec::kPcmu, 0, 1)));
  ASSERT_TRUE(mixer.join(rb->id, otherRoom, paramsFor(Codec::kPcmu, 0, 2)));
  RecordingEvents events;
  auto next = std::chrono::steady_clock::now();
  for (int i = 0; i < 75; ++i) {  // 1.5 s of tone from A
    a.sendFrame();
    b.sendFrame();
    next += std::chrono::milliseconds(20);
    std::this_thread::sleep_until(next);
    waitForEvents(mixer, events, 0);
  }
  waitForEvents(mixer, events, 200);
  ASSERT_FALSE(events.talkingChanges.empty());
  EXPECT_EQ(events.talkingChanges.front(), std::make_pair(ra->id, true));
  for (const auto& change : events.talkingChanges) {
    EXPECT_NE(change.first, rb->id) << "B sent only silence";
  }
  // The once-a-second snapshots have arrived.
  auto statsA = mixer.endpointStats(ra->id);
  ASSERT_TRUE(statsA);
  EXPECT_GT(statsA->packetsReceived, 20u);
  EXPECT_GT(statsA->framesDecoded, 20u);
  EXPECT_TRUE(statsA->talking);
  auto mixA = mixer.mixStats(talkingRoom);
  ASSERT_TRUE(mixA);
  EXPECT_EQ(mixA->participants, 1u);
  auto engine = mixer.engineStats();
  ASSERT_EQ(engine.size(), 1u);
  EXPECT_GT(engine[0].ticks, 50u);
  EXPECT_EQ(engine[0].mixes, 2u);

  // The other room going away leaves A alone, though both rooms share the thread.
  mixer.destroyMix(otherRoom);
  EXPECT_FALSE(mixer.mixStats(otherRoom));
  EXPECT_FALSE(mixer.endpointStats(rb->id));
  ASSERT_TRUE(mixer.endpointStats(ra->id));

  // A stops; a stranger sends to A's port instead: dropped, counted, and A stops talking.
  for (int i = 0; i < 75; ++i) {
    stranger.sendFrame();
    next += std::chrono::milliseconds(20);
    std::this_thread::sleep_until(next);
    waitForEvents(mixer, events, 0);
  }
  waitForEvents(mixer, events, 200);
  EXPECT_EQ(events.talkingChanges.back(), std::make_pair(ra->id, false));
  statsA = mixer.endpointStats(ra->id);
  ASSERT_TRUE(statsA);
  EXPECT_GE(statsA->packetsDropped, 20u);
  EXPECT_FALSE(statsA->talking);
  mixer.release(ra->id);
  EXPECT_FALSE(mixer.endpointStats(ra->id));
}

}  // namespace
}  // namespace confab::mixer
