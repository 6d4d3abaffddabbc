// MixerSet over two real in-process mixers on loopback (and a RemoteMixer with no server behind
// it, for a mixer that is down): rooms spread by load and take turns, a caller's ports are where
// its room runs and it hears that room, draining keeps a mixer's rooms but sends new ones
// elsewhere, a mixer that is down gets none, nothing crosses from one mixer to another, and
// events come back under the set's own ids through its one descriptor. A confab-mixer that goes
// away hands its rooms to the other, where its callers get new ports and are heard again.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "mixer/engine/InProcessMixer.hpp"
#include "mixer/remote/MixerSet.hpp"
#include "mixer/remote/RemoteMixer.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"
#include "tests/unit/mixer/engine/LoopbackPhone.hpp"
#include "tests/unit/mixer/media/TempDir.hpp"
#include "tests/unit/mixer/remote/MixerServer.hpp"

namespace confab::mixer::remote {
namespace {

using namespace std::chrono_literals;
using test::LoopbackPhone;
using test::pumpUntil;
using test::RecordingEvents;

constexpr PortRange kFirst{45100, 45149};
constexpr PortRange kSecond{45150, 45199};

bool inRange(uint16_t port, PortRange range) {
  return port >= range.first && port <= range.last;
}

std::vector<std::unique_ptr<Control>> twoMixers() {
  std::vector<std::unique_ptr<Control>> mixers;
  mixers.push_back(std::make_unique<InProcessMixer>(test::loopbackMixer(kFirst)));
  mixers.push_back(std::make_unique<InProcessMixer>(test::loopbackMixer(kSecond)));
  return mixers;
}

// Sends a frame from each phone every 20 ms for 'frames' frames, taking in what comes back.
void talk(LoopbackPhone& a, LoopbackPhone& b, int frames) {
  auto next = std::chrono::steady_clock::now();
  for (int i = 0; i < frames; ++i) {
    a.sendFrame();
    b.sendFrame();
    next += 20ms;
    std::this_thread::sleep_until(next);
    a.receiveAll();
    b.receiveAll();
  }
}

TEST(MixerSet, RoomsTakeTurnsThenGoWhereFewestParticipantsAre) {
  MixerSet set(twoMixers());
  EXPECT_TRUE(set.ready());
  const MixId a = set.createMix({});
  const MixId b = set.createMix({});
  ASSERT_TRUE(set.mixerOf(a) && set.mixerOf(b));
  EXPECT_NE(*set.mixerOf(a), *set.mixerOf(b)) << "two empty mixers take turns";

  // Three callers in a's room: the next two rooms go to b's mixer.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(set.reserveFor(a));
  }
  EXPECT_EQ(set.endpointsOn(*set.mixerOf(a)), 3U);
  const MixId c = set.createMix({});
  const MixId d = set.createMix({});
  EXPECT_EQ(set.mixerOf(c), set.mixerOf(b));
  EXPECT_EQ(set.mixerOf(d), set.mixerOf(b));
  EXPECT_FALSE(set.mixerOf(d + 100));
}

TEST(MixerSet, ParticipantsAnotherConfabJoinedCountInTheMixersLoad) {
  auto mixers = twoMixers();
  Control& shared = *mixers[0];  // also driven by "another confab", straight
  MixerSet set(std::move(mixers));
  const MixId theirs = shared.createMix({});
  for (uint32_t i = 0; i < 3; ++i) {
    auto r = shared.reserve();
    ASSERT_TRUE(r);
    ASSERT_TRUE(shared.join(r->id, theirs, test::mediaParams(Codec::kPcmu, 0, 10 + i)));
  }
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (shared.engineStats().front().participants < 3 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(shared.engineStats().front().participants, 3U) << "the mixer counts them itself";
  // This set reserved nothing anywhere, yet the first mixer is the busier one.
  EXPECT_EQ(set.mixerOf(set.createMix({})), 1U);
  EXPECT_EQ(set.mixerOf(set.createMix({})), 1U);
}

TEST(MixerSet, ACallerIsReservedWhereItsRoomRunsAndHearsThatRoom) {
  MixerSet set(twoMixers());
  set.createMix({});  // the first mixer's
  const MixId room = set.createMix({});
  ASSERT_EQ(set.mixerOf(room), 1U);
  auto ra = set.reserveFor(room);
  auto rb = set.reserve();  // with no mix named: the mix made last
  ASSERT_TRUE(ra && rb);
  EXPECT_TRUE(inRange(ra->rtpPort, kSecond)) << ra->rtpPort;
  EXPECT_TRUE(inRange(rb->rtpPort, kSecond)) << rb->rtpPort;
  EXPECT_NE(ra->id, rb->id);
  EXPECT_EQ(set.mixerOfEndpoint(ra->id), 1U);

  LoopbackPhone a(Codec::kPcmu, 0, 1000, ra->rtpPort), b(Codec::kPcmu, 0, 1500, rb->rtpPort);
  ASSERT_TRUE(set.join(ra->id, room, test::mediaParams(Codec::kPcmu, 0, 1)));
  ASSERT_TRUE(set.join(rb->id, room, test::mediaParams(Codec::kPcmu, 0, 2)));
  RecordingEvents events;
  talk(a, b, 60);
  EXPECT_TRUE(test::hasTone(b.recent(30), 1000, 8000, -6)) << "B hears A";
  EXPECT_TRUE(test::hasTone(a.recent(30), 1500, 8000, -6)) << "A hears B";
  ASSERT_TRUE(pumpUntil(set, events, [&] {
    auto stats = set.endpointStats(ra->id);
    auto mix = set.mixStats(room);
    return stats && stats->packetsReceived >= 30 && mix && mix->participants == 2;
  }));
  EXPECT_EQ(set.engineStats().size(), 2U) << "one thread per mixer";

  set.release(ra->id);
  EXPECT_FALSE(set.endpointStats(ra->id));
  EXPECT_EQ(set.endpointsOn(1), 1U);
}

TEST(MixerSet, EventsComeBackUnderTheSetsIdsThroughOneDescriptor) {
  MixerSet set(twoMixers());
  const MixId first = set.createMix({});
  const MixId second = set.createMix({});
  // Each mixer numbers its own endpoints from 1: the set's ids must still tell them apart.
  auto r0 = set.reserveFor(first);
  auto r1 = set.reserveFor(second);
  ASSERT_TRUE(r0 && r1);
  ASSERT_NE(r0->id, r1->id);
  ASSERT_TRUE(set.join(r0->id, first, test::mediaParams(Codec::kPcmu, 0, 1)));
  ASSERT_TRUE(set.join(r1->id, second, test::mediaParams(Codec::kPcmu, 0, 2)));
  LoopbackPhone phone(Codec::kPcmu, 0, 0, r1->rtpPort);
  auto next = std::chrono::steady_clock::now();
  for (int i = 0; i < 30; ++i) {
    phone.sendFrame();
    if (i >= 20 && i < 26) {
      phone.sendDigit(4, i - 20);
    }
    next += 20ms;
    std::this_thread::sleep_until(next);
  }
  RecordingEvents events;
  ASSERT_TRUE(pumpUntil(set, events, [&] { return !events.digits.empty(); }));
  EXPECT_EQ(events.digits.front(), std::make_pair(r1->id, '4'));
  EXPECT_EQ(events.digits.size(), 1U);
}

TEST(MixerSet, ARecordingStoppedByDestroyingItsMixStillReportsItsEnd) {
  MixerSet set(twoMixers());
  set.createMix({});
  const MixId room = set.createMix({});  // on the second mixer: its inner id is 1, ours is 2
  test::TempDir dir;
  ASSERT_TRUE(set.startRecording(room, dir.file("room.wav"), RecordingFormat::kWav));
  std::this_thread::sleep_for(100ms);
  set.destroyMix(room);
  RecordingEvents events;
  ASSERT_TRUE(pumpUntil(set, events, [&] { return !events.recordings.empty(); }));
  EXPECT_EQ(events.recordings.front().what(), std::make_pair(room, MediaFileEnd::kStopped));
}

TEST(MixerSet, ADrainingMixerKeepsItsRoomsButGetsNoNewOnes) {
  MixerSet set(twoMixers());
  const MixId kept = set.createMix({});
  const std::size_t drained = *set.mixerOf(kept);
  set.setDraining(drained, true);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NE(set.mixerOf(set.createMix({})), drained) << i;
  }
  // Its running room still takes callers, there.
  auto late = set.reserveFor(kept);
  ASSERT_TRUE(late);
  EXPECT_EQ(set.mixerOfEndpoint(late->id), drained);
  EXPECT_TRUE(set.ready());
  set.setDraining(1 - drained, true);
  EXPECT_FALSE(set.ready()) << "every mixer draining: no new calls";
  set.setDraining(drained, false);
  EXPECT_EQ(set.mixerOf(set.createMix({})), drained);
}

TEST(MixerSet, AMixerThatIsDownGetsNoRooms) {
  std::vector<std::unique_ptr<Control>> mixers;
  RemoteMixerSettings nowhere;
  nowhere.server = {boost::asio::ip::make_address_v4("127.0.0.1"), 9};  // nothing listens
  nowhere.reconnectMin = 1000ms;
  mixers.push_back(std::make_unique<RemoteMixer>(nowhere));
  mixers.push_back(std::make_unique<InProcessMixer>(test::loopbackMixer(kSecond)));
  MixerSet set(std::move(mixers));
  EXPECT_TRUE(set.ready());
  for (int i = 0; i < 3; ++i) {
    const MixId mix = set.createMix({});
    EXPECT_EQ(set.mixerOf(mix), 1U) << i;
    auto reservation = set.reserveFor(mix);
    ASSERT_TRUE(reservation);
    EXPECT_TRUE(inRange(reservation->rtpPort, kSecond));
  }
}

TEST(MixerSet, NothingCrossesFromOneMixerToAnother) {
  MixerSet set(twoMixers());
  const MixId room = set.createMix({});
  const MixId elsewhere = set.createMix({});
  ASSERT_NE(set.mixerOf(room), set.mixerOf(elsewhere));
  auto caller = set.reserveFor(room);
  ASSERT_TRUE(caller);
  EXPECT_FALSE(set.join(caller->id, elsewhere, test::mediaParams(Codec::kPcmu, 0, 1)));
  ASSERT_TRUE(set.join(caller->id, room, test::mediaParams(Codec::kPcmu, 0, 1)));
  EXPECT_FALSE(set.canMove(caller->id, elsewhere));
  EXPECT_FALSE(set.move(caller->id, elsewhere));
  // A prompt or lobby made beside the caller's room is on its mixer: the caller can go there
  // and back.
  const MixId beside = set.createMixBeside({}, room);
  EXPECT_EQ(set.mixerOf(beside), set.mixerOf(room));
  EXPECT_TRUE(set.canMove(caller->id, beside));
  EXPECT_TRUE(set.move(caller->id, beside));
  EXPECT_TRUE(set.move(caller->id, room));
  set.destroyMix(beside);
  EXPECT_FALSE(set.mixerOf(beside));
  EXPECT_FALSE(set.move(caller->id, beside));
}

// Two confab-mixers (real servers over loopback TCP), the room on the first; 'dying' goes.
struct TwoServers {
  std::unique_ptr<test::MixerServer> dying = std::make_unique<test::MixerServer>(kFirst);
  test::MixerServer alive{kSecond};
  std::unique_ptr<MixerSet> set;

  TwoServers() {
    std::vector<std::unique_ptr<Control>> mixers;
    for (const auto* server : {dying.get(), &alive}) {
      auto remote = std::make_unique<RemoteMixer>(test::clientSettings(server->endpoint()));
      EXPECT_TRUE(remote->waitUntilReady(5s, 4));
      mixers.push_back(std::move(remote));
    }
    set = std::make_unique<MixerSet>(std::move(mixers));
  }
};

TEST(MixerSet, AMixerThatGoesAwayHandsItsRoomToAnotherWhereItsCallersGetNewPorts) {
  TwoServers servers;
  MixerSet& set = *servers.set;
  set.setDraining(1, true);
  const MixId room = set.createMix({});
  set.setDraining(1, false);
  ASSERT_EQ(set.mixerOf(room), 0U);
  auto ra = set.reserveFor(room);
  auto rb = set.reserveFor(room);
  ASSERT_TRUE(ra && rb);
  ASSERT_TRUE(set.join(ra->id, room, test::mediaParams(Codec::kPcmu, 0, 1)));
  ASSERT_TRUE(set.join(rb->id, room, test::mediaParams(Codec::kPcmu, 0, 2)));
  LoopbackPhone a(Codec::kPcmu, 0, 1000, ra->rtpPort), b(Codec::kPcmu, 0, 1500, rb->rtpPort);
  test::TempDir dir;
  ASSERT_TRUE(set.startRecording(room, dir.file("room.wav"), RecordingFormat::kWav));
  talk(a, b, 40);
  ASSERT_TRUE(test::hasTone(b.recent(20), 1000, 8000, -6)) << "B hears A on the first mixer";

  servers.dying.reset();  // its connection drops, as when the process is killed
  RecordingEvents events;
  ASSERT_TRUE(pumpUntil(*servers.set, events, [&] { return events.relocated.size() == 2; }))
      << events.relocated.size() << " relocated, " << events.failed.size() << " failed";
  EXPECT_TRUE(events.failed.empty()) << "no call fails while another mixer is up";
  EXPECT_EQ(set.mixerOf(room), 1U) << "the room runs on the other mixer now";
  std::vector<EndpointId> moved;
  for (const auto& where : events.relocated) {
    moved.push_back(where.id);
    EXPECT_TRUE(inRange(where.rtpPort, kSecond)) << where.rtpPort;
    EXPECT_EQ(set.mixerOfEndpoint(where.id), 1U);
  }
  EXPECT_THAT(moved, ::testing::UnorderedElementsAre(ra->id, rb->id)) << "the same ids";
  ASSERT_EQ(events.recordings.size(), 1U) << "its recording ended with the mixer";
  EXPECT_EQ(events.recordings.front().what(), std::make_pair(room, MediaFileEnd::kError));
  EXPECT_EQ(set.endpointsOn(0), 0U);
  EXPECT_EQ(set.endpointsOn(1), 2U);

  // The focus re-INVITEs the phones and joins them again: they hear each other there.
  const auto portOf = [&](EndpointId id) {
    for (const auto& where : events.relocated) {
      if (where.id == id) {
        return where.rtpPort;
      }
    }
    return uint16_t{0};
  };
  a.retarget(portOf(ra->id));
  b.retarget(portOf(rb->id));
  ASSERT_TRUE(set.join(ra->id, room, test::mediaParams(Codec::kPcmu, 0, 3)));
  ASSERT_TRUE(set.join(rb->id, room, test::mediaParams(Codec::kPcmu, 0, 4)));
  a.heard.clear();
  b.heard.clear();
  talk(a, b, 40);
  EXPECT_TRUE(test::hasTone(b.recent(20), 1000, 8000, -6)) << "B hears A on the second mixer";
  EXPECT_TRUE(test::hasTone(a.recent(20), 1500, 8000, -6)) << "A hears B on the second mixer";
  // A lobby made beside the room now is on the mixer it moved to.
  EXPECT_EQ(set.mixerOf(set.createMixBeside({}, room)), 1U);
}

TEST(MixerSet, ADrainingMixerTakesADeadOnesRoomsWhenNoOpenOneIsUp) {
  TwoServers servers;
  MixerSet& set = *servers.set;
  set.setDraining(1, true);  // the only other one is draining: keeping calls up comes first
  const MixId room = set.createMix({});
  auto caller = set.reserveFor(room);
  ASSERT_TRUE(caller);
  ASSERT_TRUE(set.join(caller->id, room, test::mediaParams(Codec::kPcmu, 0, 1)));
  servers.dying.reset();
  RecordingEvents events;
  ASSERT_TRUE(pumpUntil(set, events, [&] { return !events.relocated.empty(); }));
  EXPECT_TRUE(events.failed.empty());
  EXPECT_EQ(set.mixerOf(room), 1U);
}

TEST(MixerSet, WithNoOtherMixerUpTheCallsOfOneThatGoesAwayFail) {
  auto dying = std::make_unique<test::MixerServer>(kFirst);
  std::vector<std::unique_ptr<Control>> mixers;
  auto remote = std::make_unique<RemoteMixer>(test::clientSettings(dying->endpoint()));
  ASSERT_TRUE(remote->waitUntilReady(5s, 4));
  mixers.push_back(std::move(remote));
  RemoteMixerSettings nowhere;
  nowhere.server = {boost::asio::ip::make_address_v4("127.0.0.1"), 9};  // nothing listens
  nowhere.reconnectMin = 1000ms;
  mixers.push_back(std::make_unique<RemoteMixer>(nowhere));
  MixerSet set(std::move(mixers));
  const MixId room = set.createMix({});
  ASSERT_EQ(set.mixerOf(room), 0U);
  auto caller = set.reserveFor(room);
  ASSERT_TRUE(caller);
  ASSERT_TRUE(set.join(caller->id, room, test::mediaParams(Codec::kPcmu, 0, 1)));
  dying.reset();
  RecordingEvents events;
  ASSERT_TRUE(pumpUntil(set, events, [&] { return !events.failed.empty(); }));
  EXPECT_EQ(events.failed, std::vector<EndpointId>{caller->id});
  EXPECT_TRUE(events.relocated.empty());
}

}  // namespace
}  // namespace confab::mixer::remote
