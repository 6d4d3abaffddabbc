// Placement of new rooms over several mixers, with time passed in: least-loaded live mixer,
// round-robin among equals, never a draining, disconnected or silent one; failover picks
// another live mixer, a draining one only as a last resort.
#include <gtest/gtest.h>

#include <chrono>

#include "mixer/remote/Placement.hpp"

namespace confab::mixer::remote {
namespace {

using namespace std::chrono_literals;
using Clock = Placement::Clock;

const Clock::time_point t0{};

TEST(Placement, NoMixerConnectedPlacesNothing) {
  Placement placement(2, 3s);
  EXPECT_FALSE(placement.choose(t0).has_value());
}

TEST(Placement, EqualLoadsTakeTurns) {
  Placement placement(2, 3s);
  placement.onConnected(0, t0);
  placement.onConnected(1, t0);
  EXPECT_EQ(placement.choose(t0), 0U);
  EXPECT_EQ(placement.choose(t0), 1U);
  EXPECT_EQ(placement.choose(t0), 0U);
}

TEST(Placement, LeastLoadedWins) {
  Placement placement(3, 3s);
  for (std::size_t i = 0; i < 3; ++i) {
    placement.onConnected(i, t0);
  }
  placement.onHeartbeat(0, t0 + 1s, 10);
  placement.onHeartbeat(1, t0 + 1s, 2);
  placement.onHeartbeat(2, t0 + 1s, 5);
  EXPECT_EQ(placement.choose(t0 + 1s), 1U);
  EXPECT_EQ(placement.choose(t0 + 1s), 1U);  // until its next heartbeat says otherwise
}

TEST(Placement, DrainingMixerGetsNoNewRooms) {
  Placement placement(2, 3s);
  placement.onConnected(0, t0);
  placement.onConnected(1, t0);
  placement.onHeartbeat(1, t0, 50);
  placement.setDraining(0, true);
  EXPECT_EQ(placement.choose(t0), 1U);
  placement.setDraining(1, true);
  EXPECT_FALSE(placement.choose(t0).has_value());
  placement.setDraining(0, false);
  EXPECT_EQ(placement.choose(t0), 0U);
}

TEST(Placement, SilentMixerIsDeadAfterTheHeartbeatTimeout) {
  Placement placement(2, 3s);
  placement.onConnected(0, t0);
  placement.onConnected(1, t0);
  placement.onHeartbeat(0, t0 + 2s, 0);
  placement.onHeartbeat(1, t0 + 2s, 9);
  EXPECT_TRUE(placement.live(0, t0 + 5s));
  placement.onHeartbeat(1, t0 + 5s, 9);
  EXPECT_FALSE(placement.live(0, t0 + 5s + 1ms));
  EXPECT_EQ(placement.choose(t0 + 5s + 1ms), 1U);
}

TEST(Placement, DisconnectedMixerIsNotChosenUntilItReconnects) {
  Placement placement(2, 3s);
  placement.onConnected(0, t0);
  placement.onConnected(1, t0);
  placement.onDisconnected(0);
  EXPECT_EQ(placement.choose(t0), 1U);
  EXPECT_EQ(placement.choose(t0), 1U);
  placement.onConnected(0, t0 + 10s);
  placement.onHeartbeat(1, t0 + 10s, 4);
  EXPECT_EQ(placement.choose(t0 + 10s), 0U);
}

TEST(Placement, FailoverPrefersAnOpenMixerThenADrainingOne) {
  Placement placement(3, 3s);
  for (std::size_t i = 0; i < 3; ++i) {
    placement.onConnected(i, t0);
  }
  placement.onDisconnected(0);
  placement.setDraining(1, true);
  placement.onHeartbeat(2, t0, 100);
  EXPECT_EQ(placement.failoverTarget(0, t0), 2U);
  placement.onDisconnected(2);
  EXPECT_EQ(placement.failoverTarget(0, t0), 1U);
  placement.onDisconnected(1);
  EXPECT_FALSE(placement.failoverTarget(0, t0).has_value());
}

}  // namespace
}  // namespace confab::mixer::remote
