// The whole in-process mixer over loopback in real time: phones send RTP tones to the ports the
// mixer reserved, mixer threads mix on their 20 ms clock, phones decode what comes back.
#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "mixer/engine/InProcessMixer.hpp"
#include "mixer/rtp/Rtcp.hpp"
#include "mixer/srtp/Session.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"
#include "tests/unit/mixer/engine/LoopbackPhone.hpp"

namespace confab::mixer {
namespace {

using test::LoopbackPhone;
using test::mediaParams;
using test::RecordingEvents;

void waitForEvents(InProcessMixer& mixer, RecordingEvents& events, int ms) {
  pollfd p{mixer.eventFd(), POLLIN, 0};
  if (::poll(&p, 1, ms) == 1) {
    mixer.deliverEvents(events);
  }
}

// Delivers events until `done` holds or 3 s pass; returns done(). Events and counters come from
// the mixer threads in their own time, later still in a loaded sanitizer build: a single look
// after a fixed wait can come first.
template <class Done>
bool eventsUntil(InProcessMixer& mixer, RecordingEvents& events, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    waitForEvents(mixer, events, 20);
  }
  return done();
}

// Statistics are snapshots each mixer thread publishes once a second: the current one can predate
// what the test just did (a loaded sanitizer build shifts it further). Waits, at most 3 s, for a
// snapshot in which `ok` holds and returns the last one seen either way.
template <class Ok>
std::optional<MediaStats> statsWhen(InProcessMixer& mixer,
                                    RecordingEvents& events,
                                    EndpointId endpoint,
                                    Ok ok) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (;;) {
    auto stats = mixer.endpointStats(endpoint);
    if ((stats && ok(*stats)) || std::chrono::steady_clock::now() >= deadline) {
      return stats;
    }
    waitForEvents(mixer, events, 100);
  }
}

TEST(MixerEngine, PhonesOverLoopbackHearEachOtherInRealTime) {
  MixerSettings settings = test::loopbackMixer({43000, 43999}, 2);
  InProcessMixer mixer(settings);
  const MixId mix = mixer.createMix(RoomSettings{});
  auto ra = mixer.reserve(), rb = mixer.reserve(), rc = mixer.reserve();
  ASSERT_TRUE(ra && rb && rc);
  LoopbackPhone a(Codec::kPcmu, 0, 1000, ra->rtpPort), b(Codec::kOpus, 111, 1500, rb->rtpPort),
      c(Codec::kPcmu, 0, 0, rc->rtpPort);
  ASSERT_TRUE(mixer.join(ra->id, mix, mediaParams(Codec::kPcmu, 0, 1)));
  ASSERT_TRUE(mixer.join(rb->id, mix, mediaParams(Codec::kOpus, 111, 2)));
  ASSERT_TRUE(mixer.join(rc->id, mix, mediaParams(Codec::kPcmu, 0, 3)));
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
  // The clocks ran (how late they fire is the benchmark's business, not a test's).
  EXPECT_TRUE(eventsUntil(mixer, events, [&] {
    return std::all_of(mixer.workers().begin(), mixer.workers().end(),
                       [](const auto& w) { return w->lateness().ticks() > 50; });
  }));
  ASSERT_TRUE(eventsUntil(mixer, events, [&] { return !events.digits.empty(); }));
  EXPECT_TRUE(test::hasTone(a.recent(40), 1500, 8000, -3));
  EXPECT_LT(test::toneDbov(a.recent(40), 1000, 8000), -45.0) << "A hears itself";
  EXPECT_TRUE(test::hasTone(b.recent(40), 1000, 48000, -3));
  EXPECT_LT(test::toneDbov(b.recent(40), 1500, 48000), -45.0) << "B hears itself";
  EXPECT_TRUE(test::hasTone(c.recent(40), 1000, 8000, -6));
  EXPECT_TRUE(test::hasTone(c.recent(40), 1500, 8000, -6));
  ASSERT_EQ(events.digits.size(), 1u);
  EXPECT_EQ(events.digits[0], std::make_pair(ra->id, '9'));
  mixer.release(ra->id);
  mixer.release(rb->id);
  mixer.release(rc->id);
  mixer.destroyMix(mix);
}

TEST(MixerEngine, SilentEndpointTimesOut) {
  MixerSettings settings = test::loopbackMixer({50000, 50099});
  settings.rtpTimeout = std::chrono::milliseconds(500);
  InProcessMixer mixer(settings);
  const MixId mix = mixer.createMix(RoomSettings{});
  auto r = mixer.reserve();
  ASSERT_TRUE(r);
  ASSERT_TRUE(mixer.join(r->id, mix, mediaParams(Codec::kPcmu, 0, 1)));
  RecordingEvents events;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (events.timeouts.empty() && std::chrono::steady_clock::now() < deadline) {
    waitForEvents(mixer, events, 200);
  }
  ASSERT_EQ(events.timeouts.size(), 1u);
  EXPECT_EQ(events.timeouts[0], r->id);
}

TEST(MixerEngine, AnUpdateWithKeysTheMixerCannotUseIsRefusedAndTheCallGoesOn) {
  // Issue 10 item 5: the refusal comes back to the caller of update() (the focus then refuses the
  // re-INVITE) instead of the leg vanishing on the mixer thread with the call still answered.
  MixerSettings settings = test::loopbackMixer({50400, 50499});
  InProcessMixer mixer(settings);
  const MixId mix = mixer.createMix(RoomSettings{});
  auto r = mixer.reserve();
  ASSERT_TRUE(r);
  LoopbackPhone a(Codec::kPcmu, 0, 1000, r->rtpPort);
  MediaParams params = mediaParams(Codec::kPcmu, 0, 1);
  a.describe(params);
  ASSERT_TRUE(mixer.join(r->id, mix, params));
  MediaParams broken = params;
  broken.endpoint.srtp = SrtpKeys{srtp::Suite::kAesCm128HmacSha1_80, std::vector<uint8_t>(7, 1),
                                  std::vector<uint8_t>(7, 2)};
  EXPECT_FALSE(mixer.update(r->id, broken));
  RecordingEvents events;
  for (int i = 0; i < 60; ++i) {
    a.sendFrame();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    waitForEvents(mixer, events, 0);
  }
  EXPECT_TRUE(events.failed.empty());
  const auto stats =
      statsWhen(mixer, events, r->id, [](const MediaStats& m) { return m.packetsReceived >= 40; });
  ASSERT_TRUE(stats) << "the leg is still there";
  EXPECT_GE(stats->packetsReceived, 40u) << "and still receives";
  mixer.release(r->id);
}

TEST(MixerEngine, AnExceptionOnTheMixerThreadEndsOneCallNotTheProcess) {
  // Issue 10 item 9: a room whose settings the Opus encoder refuses throws when a participant is
  // added, on the mixer thread. The call is ended (onEndpointFailed), the fault is reported with
  // its text and counted, and a room beside it on the same thread goes on.
  MixerSettings settings = test::loopbackMixer({50500, 50599});  // one thread for both rooms
  InProcessMixer mixer(settings);
  RoomSettings refused;
  refused.talkerOpusComplexity = 42;  // libopus takes 0 to 10
  const MixId broken = mixer.createMix(refused);
  const MixId fine = mixer.createMix(RoomSettings{});
  auto rb = mixer.reserve(), rf = mixer.reserve();
  ASSERT_TRUE(rb && rf);
  ASSERT_TRUE(mixer.join(rb->id, broken, mediaParams(Codec::kOpus, 111, 1)));
  LoopbackPhone phone(Codec::kPcmu, 0, 1000, rf->rtpPort);
  MediaParams params = mediaParams(Codec::kPcmu, 0, 2);
  phone.describe(params);
  ASSERT_TRUE(mixer.join(rf->id, fine, params));
  RecordingEvents events;
  ASSERT_TRUE(eventsUntil(mixer, events, [&] { return !events.failed.empty(); }));
  EXPECT_EQ(events.failed, std::vector<EndpointId>{rb->id});
  ASSERT_EQ(events.faults.size(), 1u);
  EXPECT_EQ(events.faults[0].first, rb->id);
  EXPECT_NE(events.faults[0].second.find("Opus"), std::string::npos) << events.faults[0].second;
  EXPECT_FALSE(mixer.endpointStats(rb->id));
  for (int i = 0; i < 40; ++i) {
    phone.sendFrame();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    waitForEvents(mixer, events, 0);
  }
  const auto stats =
      statsWhen(mixer, events, rf->id, [](const MediaStats& m) { return m.packetsReceived >= 30; });
  ASSERT_TRUE(stats) << "the other room on the thread goes on";
  EXPECT_GE(stats->packetsReceived, 30u);
  EXPECT_EQ(mixer.engineStats().at(0).faults, 1u);
  mixer.release(rf->id);
}

TEST(MixerEngine, ReservedPortsAreFreedOnRelease) {
  MixerSettings settings = test::loopbackMixer({45000, 45003});  // two pairs
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
  MixerSettings settings = test::loopbackMixer({46000, 46999});
  InProcessMixer mixer(settings);
  const MixId mix = mixer.createMix(RoomSettings{});
  auto ra = mixer.reserve(), rb = mixer.reserve();
  ASSERT_TRUE(ra && rb);
  LoopbackPhone a(Codec::kPcmu, 0, 1000, ra->rtpPort), b(Codec::kPcmu, 0, 0, rb->rtpPort);
  std::vector<uint8_t> keys[4];
  for (int k = 0; k < 4; ++k) {
    keys[k].resize(30);
    for (std::size_t i = 0; i < 30; ++i) {
      keys[k][i] = static_cast<uint8_t>(k * 40 + static_cast<int>(i));
    }
  }
  a.useSrtp(keys[0], keys[1]);
  b.useSrtp(keys[2], keys[3]);
  MediaParams pa = mediaParams(Codec::kPcmu, 0, 1);
  pa.endpoint.srtp = SrtpKeys{srtp::Suite::kAesCm128HmacSha1_80, keys[1], keys[0]};
  MediaParams pb = mediaParams(Codec::kPcmu, 0, 2);
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

// Phones start a new RTP source on resume, transfer or restart (RFC 3550 §8.2), with no
// signalling to say so. The caller must be heard again within a few packets, plain or SRTP (where
// the new SSRC gets its own cryptographic context from the same master key, RFC 3711 §3.2.3).
TEST(MixerEngine, APhoneThatStartsANewSourceIsHeardAgainAfterAShortSwitch) {
  for (bool withSrtp : {false, true}) {
    SCOPED_TRACE(withSrtp ? "SRTP" : "RTP");
    MixerSettings settings = test::loopbackMixer({46000, 46999});
    InProcessMixer mixer(settings);
    RecordingEvents events;
    const MixId mix = mixer.createMix(RoomSettings{});
    auto ra = mixer.reserve(), rb = mixer.reserve();
    ASSERT_TRUE(ra && rb);
    LoopbackPhone a(Codec::kPcmu, 0, 1000, ra->rtpPort), b(Codec::kPcmu, 0, 0, rb->rtpPort);
    MediaParams pa = mediaParams(Codec::kPcmu, 0, 1);
    MediaParams pb = mediaParams(Codec::kPcmu, 0, 2);
    a.describe(pa);
    b.describe(pb);
    if (withSrtp) {
      std::vector<uint8_t> keys[4];
      for (int k = 0; k < 4; ++k) {
        for (int i = 0; i < 30; ++i) {
          keys[k].push_back(static_cast<uint8_t>(k * 50 + i + 3));
        }
      }
      a.useSrtp(keys[0], keys[1]);
      b.useSrtp(keys[2], keys[3]);
      pa.endpoint.srtp = SrtpKeys{srtp::Suite::kAesCm128HmacSha1_80, keys[1], keys[0]};
      pb.endpoint.srtp = SrtpKeys{srtp::Suite::kAesCm128HmacSha1_80, keys[3], keys[2]};
    }
    ASSERT_TRUE(mixer.join(ra->id, mix, pa));
    ASSERT_TRUE(mixer.join(rb->id, mix, pb));
    auto talk = [&](int frames) {
      auto next = std::chrono::steady_clock::now();
      for (int i = 0; i < frames; ++i) {
        a.sendFrame();
        b.sendFrame();
        next += std::chrono::milliseconds(20);
        std::this_thread::sleep_until(next);
        a.receiveAll();
        b.receiveAll();
      }
    };
    talk(50);
    EXPECT_TRUE(test::hasTone(b.recent(25), 1000, 8000, -3));
    const std::size_t heardBefore = b.heard.size();
    a.newSource(1500);
    talk(50);
    // Within a few packets (and the jitter buffer's delay) b hears the new source...
    const auto after = std::span<const int16_t>(b.heard).subspan(heardBefore);
    ASSERT_GE(after.size(), 40U * 160U);
    EXPECT_TRUE(test::hasTone(after.subspan(15 * 160, 25 * 160), 1500, 8000, -3))
        << "the new source is heard from 300 ms after it started";
    EXPECT_LT(test::toneDbov(after.subspan(15 * 160, 25 * 160), 1000, 8000), -45.0);
    // ...and only its first packets were held back while the switch was decided.
    auto stats =
        statsWhen(mixer, events, ra->id, [](const MediaStats& s) { return s.framesDecoded >= 80; });
    ASSERT_TRUE(stats);
    EXPECT_GE(stats->packetsRefused, 2U);
    EXPECT_LE(stats->packetsRefused, 6U);
    EXPECT_EQ(b.undecryptable, 0);
  }
}

// A caller waits alone in a mix of their own (a lobby: they hear only what is played to them),
// then moves into the conference on another mixer thread, and back: the room hears them and they
// hear the room only while they are in it, their SRTP stream goes on under one SSRC with no
// restarted sequence (a restart under the same key would reuse keystream), a key press cut in two
// by the move is one press, and a mute sent right after the move applies in the new mix.
TEST(MixerEngine, AMoveBetweenMixesOnTwoThreadsKeepsTheStreamAndChangesWhoHearsWhom) {
  InProcessMixer mixer(test::loopbackMixer({50700, 50799}, 2));
  const MixId lobby = mixer.createMix(RoomSettings{});
  const MixId room = mixer.createMix(RoomSettings{});
  const MixId otherLobby = mixer.createMix(RoomSettings{});  // on the lobby's thread
  auto ra = mixer.reserve(), rb = mixer.reserve(), rc = mixer.reserve();
  ASSERT_TRUE(ra && rb && rc);
  LoopbackPhone a(Codec::kPcmu, 0, 1000, ra->rtpPort), b(Codec::kPcmu, 0, 1500, rb->rtpPort),
      c(Codec::kPcmu, 0, 700, rc->rtpPort);
  std::vector<uint8_t> mine(30), theirs(30);
  for (std::size_t i = 0; i < 30; ++i) {
    mine[i] = static_cast<uint8_t>(i + 1);
    theirs[i] = static_cast<uint8_t>(200 - i);
  }
  c.useSrtp(mine, theirs);
  MediaParams pc = mediaParams(Codec::kPcmu, 0, 3);
  pc.endpoint.srtp = SrtpKeys{srtp::Suite::kAesCm128HmacSha1_80, theirs, mine};
  ASSERT_TRUE(mixer.join(ra->id, room, mediaParams(Codec::kPcmu, 0, 1)));
  ASSERT_TRUE(mixer.join(rb->id, room, mediaParams(Codec::kPcmu, 0, 2)));
  ASSERT_TRUE(mixer.join(rc->id, lobby, pc));
  EXPECT_FALSE(mixer.move(rc->id, 999)) << "an unknown mix";
  EXPECT_FALSE(mixer.move(999, room)) << "an unknown endpoint";
  RecordingEvents events;
  std::size_t cHeardBefore = 0;
  std::size_t aHeardMuted = 0;
  auto next = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) {
    a.sendFrame();
    b.sendFrame();
    if (i >= 48 && i < 54) {
      c.sendDigit(5, i - 48);  // a key press the move at i == 50 cuts in two
    } else {
      c.sendFrame();
    }
    next += std::chrono::milliseconds(20);
    std::this_thread::sleep_until(next);
    a.receiveAll();
    b.receiveAll();
    c.receiveAll();
    waitForEvents(mixer, events, 0);
    if (i == 50) {
      // In the lobby, alone: C hears silence, the room does not hear C.
      EXPECT_LT(test::toneDbov(c.recent(30), 1000, 8000), -45.0);
      EXPECT_LT(test::toneDbov(c.recent(30), 1500, 8000), -45.0);
      EXPECT_LT(test::toneDbov(a.recent(30), 700, 8000), -45.0);
      // Through the other lobby on the same thread, then on to the room's thread.
      ASSERT_TRUE(mixer.move(rc->id, otherLobby));
      ASSERT_TRUE(mixer.move(rc->id, room));
      cHeardBefore = c.arrived.size();
    }
    if (i == 110) {
      EXPECT_TRUE(test::hasTone(c.recent(30), 1000, 8000, -6)) << "C hears the room";
      EXPECT_TRUE(test::hasTone(c.recent(30), 1500, 8000, -6));
      EXPECT_TRUE(test::hasTone(a.recent(30), 700, 8000, -6)) << "the room hears C";
      // Out to a lobby on the other thread and, while that move is under way, back into the
      // room muted: the second move and the mutes must not be lost or misapplied.
      ASSERT_TRUE(mixer.move(rc->id, otherLobby));
      mixer.setControls(rc->id, Controls{});
      ASSERT_TRUE(mixer.move(rc->id, room));
      mixer.setControls(rc->id, Controls{.muted = true});
      aHeardMuted = a.heard.size();
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  a.receiveAll();
  c.receiveAll();
  EXPECT_GT(a.heard.size(), aHeardMuted + 30 * 160);
  EXPECT_LT(test::toneDbov(a.recent(30), 700, 8000), -45.0) << "the room hears C, muted";
  EXPECT_TRUE(test::hasTone(c.recent(30), 1000, 8000, -6)) << "C, muted, still hears the room";
  // One stream throughout: the same SSRC, sequence numbers one after the other (a gap of a few
  // at most where a tick had nothing to send), every packet authenticated.
  EXPECT_EQ(c.undecryptable, 0);
  ASSERT_GT(c.arrived.size(), cHeardBefore + 50);
  for (std::size_t k = 1; k < c.arrived.size(); ++k) {
    EXPECT_EQ(c.arrived[k].ssrc, c.arrived[0].ssrc) << "at packet " << k;
    const auto step = static_cast<uint16_t>(c.arrived[k].sequence - c.arrived[k - 1].sequence);
    EXPECT_TRUE(step >= 1 && step < 10) << "sequence " << c.arrived[k - 1].sequence << " then "
                                        << c.arrived[k].sequence << " at packet " << k;
  }
  EXPECT_TRUE(events.failed.empty());
  // The press's packets after the move are the same press: reported once.
  ASSERT_TRUE(eventsUntil(mixer, events, [&] { return !events.digits.empty(); }));
  waitForEvents(mixer, events, 100);
  EXPECT_EQ(std::count(events.digits.begin(), events.digits.end(), std::make_pair(rc->id, '5')), 1);
  mixer.release(ra->id);
  mixer.release(rb->id);
  mixer.release(rc->id);
  mixer.destroyMix(lobby);
  mixer.destroyMix(room);
  mixer.destroyMix(otherLobby);
}

TEST(MixerEngine, SendsRtcpSenderReportsWithABlockAboutTheCaller) {
  MixerSettings settings = test::loopbackMixer({47000, 47999});
  settings.rtcpInterval = std::chrono::milliseconds(200);
  InProcessMixer mixer(settings);
  const MixId mix = mixer.createMix(RoomSettings{});
  auto r = mixer.reserve();
  ASSERT_TRUE(r);
  LoopbackPhone phone(Codec::kPcmu, 0, 1000, r->rtpPort);
  MediaParams params = mediaParams(Codec::kPcmu, 0, 0x5EED);
  params.endpoint.rtcpMux = true;
  ASSERT_TRUE(mixer.join(r->id, mix, params));
  auto next = std::chrono::steady_clock::now();
  // 1.2 s of call, and on (at most 3 s more) until the mixer thread has sent two reports.
  const auto deadline = next + std::chrono::milliseconds(4200);
  for (int i = 0; i < 60 || (phone.rtcp.size() < 2 && next < deadline); ++i) {
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

TEST(MixerEngine, ThreadsReadThroughIoUringOrEpollAndPhonesHearEachOtherEitherWay) {
  for (const bool ioUring : {true, false}) {
    SCOPED_TRACE(ioUring ? "io_uring" : "epoll");
    MixerSettings settings = test::loopbackMixer({47200, 47299});
    settings.ioUring = ioUring;
    InProcessMixer mixer(settings);
    const MixId mix = mixer.createMix(RoomSettings{});
    auto ra = mixer.reserve(), rb = mixer.reserve();
    ASSERT_TRUE(ra && rb);
    LoopbackPhone a(Codec::kPcmu, 0, 1000, ra->rtpPort), b(Codec::kPcmu, 0, 1500, rb->rtpPort);
    ASSERT_TRUE(mixer.join(ra->id, mix, mediaParams(Codec::kPcmu, 0, 1)));
    ASSERT_TRUE(mixer.join(rb->id, mix, mediaParams(Codec::kPcmu, 0, 2)));
    auto next = std::chrono::steady_clock::now();
    for (int i = 0; i < 60; ++i) {
      a.sendFrame();
      b.sendFrame();
      next += std::chrono::milliseconds(20);
      std::this_thread::sleep_until(next);
      a.receiveAll();
      b.receiveAll();
    }
    const auto& worker = *mixer.workers().front();
    EXPECT_EQ(worker.usingIoRing(), ioUring) << worker.ioRingRefused();
    // On io_uring the mixed audio left through the ring too (not a sendto each): 2 x ~60 packets.
    if (ioUring) {
      EXPECT_GE(worker.ringSends(), 100U);
    } else {
      EXPECT_EQ(worker.ringSends(), 0U);
    }
    EXPECT_TRUE(test::hasTone(a.recent(20), 1500, 8000, -3));
    EXPECT_TRUE(test::hasTone(b.recent(20), 1000, 8000, -3));
    mixer.release(ra->id);
    mixer.release(rb->id);
    mixer.destroyMix(mix);
  }
}

TEST(MixerEngine, AListenersReceiverReportsDecideTheirOpusFec) {
  // B takes in-band FEC (useinbandfec=1). Until B reports, the path is unknown and B's mix carries
  // FEC (VOIP mode); a report of no loss moves B to the CELT-only mix; a report of 10 % loss
  // brings FEC back. The reports are B's own RTCP, through the worker, over loopback.
  MixerSettings settings = test::loopbackMixer({47100, 47199});
  InProcessMixer mixer(settings);
  const MixId mix = mixer.createMix(RoomSettings{});
  auto ra = mixer.reserve(), rb = mixer.reserve();
  ASSERT_TRUE(ra && rb);
  LoopbackPhone a(Codec::kOpus, 111, 440, ra->rtpPort), b(Codec::kOpus, 111, 0, rb->rtpPort);
  ASSERT_TRUE(mixer.join(ra->id, mix, mediaParams(Codec::kOpus, 111, 1)));
  MediaParams pb = mediaParams(Codec::kOpus, 111, 0xB0B);
  pb.participant.opusFec = true;
  pb.endpoint.rtcpMux = true;
  b.describe(pb);
  ASSERT_TRUE(mixer.join(rb->id, mix, pb));
  auto next = std::chrono::steady_clock::now();
  // Runs the call for 'frames' frames; returns how many of what B got in the last 'judged' frames
  // were CELT and how many carried LBRR.
  auto run = [&](int frames, int judged) {
    for (int i = 0; i < frames; ++i) {
      a.sendFrame();
      b.sendFrame();
      next += std::chrono::milliseconds(20);
      std::this_thread::sleep_until(next);
      a.receiveAll();
      b.receiveAll();
      if (i == frames - judged - 1) {
        b.arrived.clear();
      }
    }
    int celt = 0;
    int lbrr = 0;
    for (const auto& arrival : b.arrived) {
      celt += arrival.opusCelt ? 1 : 0;
      lbrr += arrival.opusLbrr ? 1 : 0;
    }
    return std::make_pair(celt, lbrr);
  };
  const auto before = run(50, 25);
  EXPECT_EQ(before.first, 0) << "no report yet: the VOIP mix with FEC";
  EXPECT_GT(before.second, 10);
  b.sendReceiverReport(0xB0B, 0);
  const auto clean = run(40, 25);  // the report is applied within a tick or two
  EXPECT_GE(clean.first, 24) << "a clean path: CELT only";
  EXPECT_EQ(clean.second, 0);
  b.sendReceiverReport(0xB0B, 26);  // 10 %
  const auto lossy = run(40, 25);
  EXPECT_EQ(lossy.first, 0) << "loss reported: FEC again";
  EXPECT_GT(lossy.second, 10);
  mixer.release(ra->id);
  mixer.release(rb->id);
  mixer.destroyMix(mix);
}

TEST(MixerEngine, StatsAndTalkingReachTheSignallingSide) {
  MixerSettings settings = test::loopbackMixer({50100, 50199});  // one thread: both mixes on it
  InProcessMixer mixer(settings);
  const MixId talkingRoom = mixer.createMix(RoomSettings{});
  const MixId otherRoom = mixer.createMix(RoomSettings{});
  auto ra = mixer.reserve(), rb = mixer.reserve();
  ASSERT_TRUE(ra && rb);
  LoopbackPhone a(Codec::kPcmu, 0, 1000, ra->rtpPort), b(Codec::kPcmu, 0, 0, rb->rtpPort);
  LoopbackPhone stranger(Codec::kPcmu, 0, 700, ra->rtpPort);  // another address, after A latched
  MediaParams pa = mediaParams(Codec::kPcmu, 0, 1);
  a.describe(pa);
  ASSERT_TRUE(mixer.join(ra->id, talkingRoom, pa));
  ASSERT_TRUE(mixer.join(rb->id, otherRoom, mediaParams(Codec::kPcmu, 0, 2)));
  RecordingEvents events;
  auto next = std::chrono::steady_clock::now();
  // 1.5 s of tone from A, and on (at most 3 s more) until the mixer thread said A talks.
  auto deadline = next + std::chrono::milliseconds(4500);
  for (int i = 0; i < 75 || (events.talkingChanges.empty() && next < deadline); ++i) {
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
  auto statsA = statsWhen(mixer, events, ra->id, [](const MediaStats& m) {
    return m.packetsReceived > 20 && m.framesDecoded > 20 && m.talking;
  });
  ASSERT_TRUE(statsA);
  EXPECT_GT(statsA->packetsReceived, 20u);
  EXPECT_GT(statsA->framesDecoded, 20u);
  EXPECT_TRUE(statsA->talking);
  auto mixA = mixer.mixStats(talkingRoom);
  ASSERT_TRUE(mixA);
  EXPECT_EQ(mixA->participants, 1u);
  auto engine = mixer.engineStats();
  ASSERT_EQ(engine.size(), 1u);
  EXPECT_GE(engine[0].ticks, 50u);  // published every 50th tick
  EXPECT_EQ(engine[0].mixes, 2u);

  // The other room going away leaves A alone, though both rooms share the thread.
  mixer.destroyMix(otherRoom);
  EXPECT_FALSE(mixer.mixStats(otherRoom));
  EXPECT_FALSE(mixer.endpointStats(rb->id));
  ASSERT_TRUE(mixer.endpointStats(ra->id));

  // A stops; a stranger sends to A's port instead: dropped, counted, and A stops talking (while
  // the stranger still sends: 1.5 s, and on, at most 3 s more, until the mixer thread says so).
  const auto aStopped = [&] {
    return events.talkingChanges.back() == std::make_pair(ra->id, false);
  };
  next = std::chrono::steady_clock::now();
  deadline = next + std::chrono::milliseconds(4500);
  for (int i = 0; i < 75 || (!aStopped() && next < deadline); ++i) {
    stranger.sendFrame();
    next += std::chrono::milliseconds(20);
    std::this_thread::sleep_until(next);
    waitForEvents(mixer, events, 0);
  }
  waitForEvents(mixer, events, 200);
  EXPECT_EQ(events.talkingChanges.back(), std::make_pair(ra->id, false));
  statsA = statsWhen(mixer, events, ra->id,
                     [](const MediaStats& m) { return m.packetsRefused >= 20 && !m.talking; });
  ASSERT_TRUE(statsA);
  EXPECT_GE(statsA->packetsRefused, 20u) << "the stranger's, refused";
  EXPECT_EQ(statsA->packetsDropped, 0u) << "none of A's own was lost";
  EXPECT_FALSE(statsA->talking);
  mixer.release(ra->id);
  EXPECT_FALSE(mixer.endpointStats(ra->id));
}

TEST(MixerEngine, ABurstLargerThanOneReadIsReadWithoutWaitingForMorePackets) {
  // The mixer is woken only when packets arrive (edge-triggered) and reads at most 64 at a
  // time from one socket: what is left of a burst must still be read, though nothing follows.
  MixerSettings settings = test::loopbackMixer({50200, 50299});
  InProcessMixer mixer(settings);
  const MixId mix = mixer.createMix(RoomSettings{});
  auto r = mixer.reserve();
  ASSERT_TRUE(r);
  LoopbackPhone a(Codec::kPcmu, 0, 1000, r->rtpPort);
  MediaParams params = mediaParams(Codec::kPcmu, 0, 1);
  a.describe(params);  // latched at the first packet: every one counts
  ASSERT_TRUE(mixer.join(r->id, mix, params));
  constexpr uint64_t kBurst = 150;
  for (uint64_t i = 0; i < kBurst; ++i) {
    a.sendFrame();
  }
  RecordingEvents events;
  auto stats = statsWhen(mixer, events, r->id,
                         [&](const MediaStats& m) { return m.packetsReceived >= kBurst; });
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->packetsReceived, kBurst);
  mixer.release(r->id);
  mixer.destroyMix(mix);
}

}  // namespace
}  // namespace confab::mixer
