// A call that changes mid-way (re-INVITEs: hold, resume, a codec change, a refresh with the same
// SDP) keeps one continuous stream towards the caller: the same SSRC, sequence numbers and
// timestamps going on, and with SRTP the same contexts, so that no keystream is used twice
// (RFC 3711 §9.1). Real mixer thread, real sockets, real libsrtp on both ends.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <thread>
#include <vector>

#include "mixer/engine/InProcessMixer.hpp"
#include "mixer/srtp/KeystreamGuard.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"
#include "tests/unit/mixer/engine/LoopbackPhone.hpp"

namespace confab::mixer {
namespace {

using test::LoopbackPhone;
using test::mediaParams;

std::vector<uint8_t> key(int seed) {
  std::vector<uint8_t> k(30);
  for (std::size_t i = 0; i < k.size(); ++i) {
    k[i] = static_cast<uint8_t>(seed * 37 + static_cast<int>(i) * 11);
  }
  return k;
}

// Runs the two phones in real time for 'frames' ticks: A talks, B listens.
void talk(LoopbackPhone& a, LoopbackPhone& b, int frames) {
  auto next = std::chrono::steady_clock::now();
  for (int i = 0; i < frames; ++i) {
    a.sendFrame();
    b.sendFrame();
    next += std::chrono::milliseconds(20);
    std::this_thread::sleep_until(next);
    a.receiveAll();
    b.receiveAll();
  }
}

class MidCall : public ::testing::TestWithParam<bool> {};

TEST_P(MidCall, HoldResumeCodecChangeAndRefreshKeepOneStream) {
  const bool useSrtp = GetParam();
  MixerSettings settings = test::loopbackMixer({50300, 50399});
  settings.rtcpInterval = std::chrono::milliseconds(100);  // SRTCP too, many times over
  InProcessMixer mixer(settings);
  const MixId mix = mixer.createMix(RoomSettings{});
  auto ra = mixer.reserve(), rb = mixer.reserve();
  ASSERT_TRUE(ra && rb);
  LoopbackPhone a(Codec::kPcmu, 0, 1000, ra->rtpPort), b(Codec::kPcmu, 0, 0, rb->rtpPort);
  MediaParams pa = mediaParams(Codec::kPcmu, 0, 0xA11CE);
  MediaParams pb = mediaParams(Codec::kPcmu, 0, 0xB0B);
  if (useSrtp) {
    a.useSrtp(key(1), key(2));
    b.useSrtp(key(3), key(4));
    pa.endpoint.srtp = SrtpKeys{srtp::Suite::kAesCm128HmacSha1_80, key(2), key(1)};
    pb.endpoint.srtp = SrtpKeys{srtp::Suite::kAesCm128HmacSha1_80, key(4), key(3)};
  }
  const uint64_t checkedBefore = srtp::keystream_guard::checked();
  ASSERT_TRUE(mixer.join(ra->id, mix, pa));
  ASSERT_TRUE(mixer.join(rb->id, mix, pb));
  talk(a, b, 50);
  ASSERT_TRUE(test::hasTone(b.recent(20), 1000, 8000, -3)) << "B hears A before any re-INVITE";

  // Hold (B sendonly: nothing is sent to B), resume, a codec change there and back, and a
  // refresh with the same SDP: each is an update of B's leg.
  MediaParams held = pb;
  held.sending = false;
  ASSERT_TRUE(mixer.update(rb->id, held));
  talk(a, b, 25);
  ASSERT_TRUE(mixer.update(rb->id, pb));
  talk(a, b, 25);
  MediaParams pcma = pb;
  pcma.participant.codec = Codec::kPcma;
  pcma.participant.payloadType = 8;
  ASSERT_TRUE(mixer.update(rb->id, pcma));
  talk(a, b, 25);
  ASSERT_TRUE(mixer.update(rb->id, pb));
  talk(a, b, 25);
  const std::size_t beforeRefresh = b.heard.size();
  ASSERT_TRUE(mixer.update(rb->id, pb));
  talk(a, b, 40);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  b.receiveAll();

  // Everything that came authenticated, and B still hears A after the last change.
  EXPECT_EQ(b.undecryptable, 0) << "packets B's SRTP context refused (replays of used indices)";
  ASSERT_GT(b.heard.size(), beforeRefresh);
  EXPECT_TRUE(test::hasTone(b.recent(20), 1000, 8000, -3)) << "B hears A after the re-INVITEs";

  // One stream: one SSRC, each sequence number one more than the last (loopback loses nothing),
  // timestamps never going back.
  ASSERT_GT(b.arrived.size(), 100u);
  for (std::size_t i = 1; i < b.arrived.size(); ++i) {
    const auto& prev = b.arrived[i - 1];
    const auto& cur = b.arrived[i];
    ASSERT_EQ(cur.ssrc, 0xB0Bu) << "packet " << i;
    ASSERT_EQ(static_cast<uint16_t>(prev.sequence + 1), cur.sequence)
        << "packet " << i << ": sequence " << prev.sequence << " then " << cur.sequence;
    ASSERT_GT(static_cast<int32_t>(cur.timestamp - prev.timestamp), 0)
        << "packet " << i << ": timestamp " << prev.timestamp << " then " << cur.timestamp;
  }
  // The hold: nothing sent for half a second, while the timestamp kept time (RFC 3550 §5.1).
  bool gapWithTime = false;
  for (std::size_t i = 1; i < b.arrived.size(); ++i) {
    gapWithTime |= b.arrived[i].timestamp - b.arrived[i - 1].timestamp >= 160u * 20;
  }
  EXPECT_TRUE(gapWithTime) << "no timestamp jump across the hold";

  if (useSrtp && srtp::keystream_guard::enabled()) {
    // Had an index been protected twice under one key, the guard would have aborted the test.
    const uint64_t checked = srtp::keystream_guard::checked() - checkedBefore;
    std::printf("keystream guard: %llu (SSRC, index) pairs checked\n",
                static_cast<unsigned long long>(checked));
    // The phones' own contexts count too: 2 x 190 frames. What the mixer protected for A and B
    // (RTP to both, minus B's hold, plus SRTCP) must come on top, or the guard never saw it.
    constexpr uint64_t kPhoneProtects = 2 * (50 + 25 + 25 + 25 + 25 + 40);
    EXPECT_GT(checked, kPhoneProtects + 300u);
  }
  mixer.release(ra->id);
  mixer.release(rb->id);
}

TEST(MidCallReceive, TheCallersOwnReinviteLeavesNoGapInWhatOthersHear) {
  // A talker's re-INVITE that keeps the codec (a refresh, a hold of their own side, new
  // extension ids) updates their participant in place: their jitter buffer and decoder go on, so
  // the others hear no gap (issue 10 item 1: the receive side keeps its state). Every 20 ms B
  // hears after A's refresh carries A's tone.
  MixerSettings settings = test::loopbackMixer({50600, 50699});
  InProcessMixer mixer(settings);
  const MixId mix = mixer.createMix(RoomSettings{});
  auto ra = mixer.reserve(), rb = mixer.reserve();
  ASSERT_TRUE(ra && rb);
  LoopbackPhone a(Codec::kPcmu, 0, 1000, ra->rtpPort), b(Codec::kPcmu, 0, 0, rb->rtpPort);
  MediaParams pa = mediaParams(Codec::kPcmu, 0, 0xA11CE);
  MediaParams pb = mediaParams(Codec::kPcmu, 0, 0xB0B);
  a.describe(pa);
  b.describe(pb);
  ASSERT_TRUE(mixer.join(ra->id, mix, pa));
  ASSERT_TRUE(mixer.join(rb->id, mix, pb));
  talk(a, b, 50);
  ASSERT_TRUE(test::hasTone(b.recent(20), 1000, 8000, -3));
  const std::size_t before = b.heard.size();
  for (int refresh = 0; refresh < 3; ++refresh) {
    ASSERT_TRUE(mixer.update(ra->id, pa));
    talk(a, b, 15);
  }
  talk(a, b, 10);
  const std::size_t frame = 160;
  ASSERT_GE(b.heard.size() - before, 45 * frame);
  for (std::size_t at = before; at + frame <= b.heard.size(); at += frame) {
    const auto piece = std::span<const int16_t>(b.heard).subspan(at, frame);
    EXPECT_GT(test::toneDbov(piece, 1000, 8000), -26.0)
        << "B heard no A in frame " << (at - before) / frame << " after A's first refresh";
  }
  const auto stats = mixer.endpointStats(ra->id);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->framesConcealed, 0u) << "nothing of A's was lost or made up";
  mixer.release(ra->id);
  mixer.release(rb->id);
}

INSTANTIATE_TEST_SUITE_P(PlainAndSrtp, MidCall, ::testing::Values(false, true), [](const auto& p) {
  return p.param ? "Srtp" : "Rtp";
});

}  // namespace
}  // namespace confab::mixer
