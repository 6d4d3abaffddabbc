// Abuse limits with time passed in: INVITE rate per address (burst, refusal, refill to the
// nanosecond), calls held per address, PIN guessing locking an address or a room for exactly the
// lockout, and the tables' bound under a spray of a million addresses that must not launder a
// flooder.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "focus/room/Abuse.hpp"

namespace confab::room {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using TimePoint = Abuse::TimePoint;

// Some moment well after the clock's epoch, as a real steady_clock reading would be.
const TimePoint kStart = TimePoint{} + std::chrono::hours(1000);

// A distinct IPv4 address for each i below 2^24.
std::string address(std::uint32_t i) {
  return "10." + std::to_string((i >> 16) & 0xFFU) + "." + std::to_string((i >> 8) & 0xFFU) + "." +
         std::to_string(i & 0xFFU);
}

// How many of 'count' INVITEs at 'now' from 'ip' are let through.
int allowedOf(Abuse& abuse, const std::string& ip, int count, TimePoint now) {
  int allowed = 0;
  for (int i = 0; i < count; ++i) {
    allowed += abuse.allowInvite(ip, now) ? 1 : 0;
  }
  return allowed;
}

// --- INVITE rate -------------------------------------------------------------------------------

TEST(AbuseInvites, ABurstOfTwentyThenRefusalThenOneEveryTenthOfASecond) {
  Abuse abuse;
  const std::string ip = "192.0.2.1";
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(abuse.allowInvite(ip, kStart)) << i;
  }
  EXPECT_FALSE(abuse.allowInvite(ip, kStart));
  EXPECT_FALSE(abuse.allowInvite(ip, kStart + milliseconds(99)));
  EXPECT_FALSE(abuse.allowInvite(ip, kStart + milliseconds(100) - nanoseconds(1)));
  EXPECT_TRUE(abuse.allowInvite(ip, kStart + milliseconds(100)));  // one token, exactly 1/10 s
  EXPECT_FALSE(abuse.allowInvite(ip, kStart + milliseconds(100)));
  EXPECT_FALSE(abuse.allowInvite(ip, kStart + milliseconds(199)));
  EXPECT_TRUE(abuse.allowInvite(ip, kStart + milliseconds(200)));
  EXPECT_EQ(abuse.counters().invitesRateLimited, 5U);
}

TEST(AbuseInvites, AQuietAddressGetsItsWholeBurstBackButNoMore) {
  Abuse abuse;
  const std::string ip = "192.0.2.1";
  EXPECT_EQ(allowedOf(abuse, ip, 25, kStart), 20);
  // Refusals take no token: the flood goes on for an hour and the bucket still refills.
  for (int i = 1; i <= 5; ++i) {
    EXPECT_FALSE(abuse.allowInvite(ip, kStart + milliseconds(10 * i)));
  }
  EXPECT_EQ(allowedOf(abuse, ip, 25, kStart + seconds(2)), 20);
  EXPECT_EQ(allowedOf(abuse, ip, 25, kStart + minutes(60)), 20);  // the bucket does not overfill
}

TEST(AbuseInvites, ASteadyFloodGetsTheRate) {
  Abuse abuse;
  const std::string ip = "192.0.2.1";
  int allowed = 0;
  for (int ms = 0; ms < 10'000; ++ms) {  // 1000 INVITEs a second for 10 s
    allowed += abuse.allowInvite(ip, kStart + milliseconds(ms)) ? 1 : 0;
  }
  EXPECT_EQ(allowed, 20 + 99);  // the burst, then one every 100 ms after the first 100 ms
}

TEST(AbuseInvites, OneAddressFloodingLeavesAnotherAlone) {
  Abuse abuse;
  EXPECT_EQ(allowedOf(abuse, "192.0.2.1", 1000, kStart), 20);
  EXPECT_EQ(allowedOf(abuse, "192.0.2.2", 25, kStart), 20);
  EXPECT_FALSE(abuse.allowInvite("192.0.2.1", kStart));
  EXPECT_EQ(abuse.trackedSources(), 2U);
}

TEST(AbuseInvites, RetryAfterIsTheTimeToTheNextTokenInWholeSecondsAtLeastOne) {
  AbuseSettings settings;
  settings.invitesPerSecond = 1;
  settings.inviteBurst = 3;
  Abuse abuse(settings);
  const std::string ip = "192.0.2.1";
  EXPECT_EQ(abuse.retryAfter(ip, kStart), seconds(1));  // unknown: the least we say
  EXPECT_EQ(allowedOf(abuse, ip, 4, kStart), 3);
  EXPECT_EQ(abuse.retryAfter(ip, kStart), seconds(1));
  EXPECT_EQ(abuse.retryAfter(ip, kStart + milliseconds(999)), seconds(1));
  EXPECT_TRUE(abuse.allowInvite(ip, kStart + seconds(1)));
  EXPECT_EQ(abuse.retryAfter(ip, kStart + seconds(1)), seconds(1));
}

TEST(AbuseInvites, ZeroRateOrBurstMeansNoLimitAndNoTable) {
  for (const auto& [rate, burst] : {std::pair{0U, 20U}, std::pair{10U, 0U}}) {
    AbuseSettings settings;
    settings.invitesPerSecond = rate;
    settings.inviteBurst = burst;
    Abuse abuse(settings);
    EXPECT_EQ(allowedOf(abuse, "192.0.2.1", 10'000, kStart), 10'000);
    EXPECT_EQ(abuse.trackedSources(), 0U);
  }
}

TEST(AbuseInvites, ABurstOfOneAllowsExactlyTheRate) {
  AbuseSettings settings;
  settings.invitesPerSecond = 4;
  settings.inviteBurst = 1;
  Abuse abuse(settings);
  EXPECT_EQ(allowedOf(abuse, "192.0.2.1", 3, kStart), 1);
  EXPECT_EQ(allowedOf(abuse, "192.0.2.1", 3, kStart + milliseconds(249)), 0);
  EXPECT_EQ(allowedOf(abuse, "192.0.2.1", 3, kStart + milliseconds(250)), 1);
}

// --- The INVITE table's bound ------------------------------------------------------------------

TEST(AbuseInvites, AMillionAddressesAtOnceStayWithinTheCapAndDoNotLaunderAFlooder) {
  Abuse abuse;
  const std::string flooder = "198.51.100.7";
  EXPECT_EQ(allowedOf(abuse, flooder, 100, kStart), 20);
  // A spray in the same instant: the flooder's entry drifts to the old end of the table, its
  // bucket still empty. Evicting it would give it a fresh burst of 20.
  int sprayAllowed = 0;
  for (std::uint32_t i = 0; i < 1'000'000; ++i) {
    sprayAllowed += abuse.allowInvite(address(i), kStart) ? 1 : 0;
    ASSERT_LE(abuse.trackedSources(), 65536U) << i;
  }
  EXPECT_EQ(abuse.trackedSources(), 65536U);
  EXPECT_FALSE(abuse.allowInvite(flooder, kStart));
  // The table held the flooder and 65535 sprayed addresses; the rest shared one bucket.
  EXPECT_EQ(sprayAllowed, 65535 + 20);
  EXPECT_EQ(abuse.counters().invitesUntracked, 1'000'000U - 65535U);
  // The flooder gets back what time gives it, and only that.
  EXPECT_EQ(allowedOf(abuse, flooder, 100, kStart + milliseconds(500)), 5);
}

TEST(AbuseInvites, ASprayOverTimeEvictsFullBucketsNotTheFlooder) {
  Abuse abuse;
  const std::string flooder = "198.51.100.7";
  EXPECT_EQ(allowedOf(abuse, flooder, 100, kStart), 20);
  // A million addresses over 1.8 s: each sprayed entry is full again 100 ms after its one
  // INVITE, and those are the ones the table forgets, so every sprayed INVITE is tracked. The
  // flooder comes round to the old end of the table several times, its bucket never full.
  const auto step = nanoseconds(1800);
  for (std::uint32_t i = 0; i < 1'000'000; ++i) {
    ASSERT_TRUE(abuse.allowInvite(address(i), kStart + step * i)) << i;
    ASSERT_LE(abuse.trackedSources(), 65536U) << i;
  }
  EXPECT_EQ(abuse.counters().invitesUntracked, 0U);
  // 1.8 s on, the flooder has 18 tokens back, not the 20 of a fresh entry.
  EXPECT_EQ(allowedOf(abuse, flooder, 100, kStart + milliseconds(1800)), 18);
}

TEST(AbuseInvites, TheTableShrinksOnceTheSprayStops) {
  Abuse abuse;
  for (std::uint32_t i = 0; i < 100'000; ++i) {
    (void)abuse.allowInvite(address(i), kStart);
  }
  EXPECT_EQ(abuse.trackedSources(), 65536U);
  for (int i = 0; i < 20'000; ++i) {  // ordinary traffic from one phone, after the burst time
    (void)abuse.allowInvite("192.0.2.1", kStart + seconds(3) + milliseconds(100 * i));
  }
  EXPECT_LE(abuse.trackedSources(), 1U);
}

TEST(AbuseInvites, ASmallCapIsHonoured) {
  AbuseSettings settings;
  settings.maxTracked = 3;
  Abuse abuse(settings);
  for (std::uint32_t i = 0; i < 10; ++i) {
    (void)abuse.allowInvite(address(i), kStart);
    EXPECT_LE(abuse.trackedSources(), 3U);
  }
}

// --- Calls held per address --------------------------------------------------------------------

TEST(AbuseCalls, TwentyCallsThenRefusalThenRoomAgainWhenOneEnds) {
  Abuse abuse;
  const std::string ip = "192.0.2.1";
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(abuse.allowCall(ip)) << i;
    abuse.callStarted(ip);
  }
  EXPECT_EQ(abuse.callsFrom(ip), 20U);
  EXPECT_FALSE(abuse.allowCall(ip));
  EXPECT_FALSE(abuse.allowCall(ip));
  EXPECT_EQ(abuse.counters().callsOverSourceLimit, 2U);
  EXPECT_TRUE(abuse.allowCall("192.0.2.2"));  // another address is not held back
  abuse.callEnded(ip);
  EXPECT_EQ(abuse.callsFrom(ip), 19U);
  EXPECT_TRUE(abuse.allowCall(ip));
  for (int i = 0; i < 19; ++i) {
    abuse.callEnded(ip);
  }
  EXPECT_EQ(abuse.callsFrom(ip), 0U);
  EXPECT_EQ(abuse.trackedCallSources(), 0U);  // no entry kept at zero
  abuse.callEnded(ip);                        // one too many: no wrap-around
  EXPECT_EQ(abuse.callsFrom(ip), 0U);
  EXPECT_TRUE(abuse.allowCall(ip));
}

TEST(AbuseCalls, ZeroMeansNoLimit) {
  AbuseSettings settings;
  settings.maxCallsPerSource = 0;
  Abuse abuse(settings);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(abuse.allowCall("192.0.2.1"));
    abuse.callStarted("192.0.2.1");
  }
  EXPECT_EQ(abuse.trackedCallSources(), 0U);
}

TEST(AbuseCalls, AFullTableRefusesNewAddressesUntilACallEnds) {
  AbuseSettings settings;
  settings.maxTracked = 2;
  Abuse abuse(settings);
  abuse.callStarted("192.0.2.1");
  abuse.callStarted("192.0.2.2");
  EXPECT_TRUE(abuse.allowCall("192.0.2.1"));
  EXPECT_FALSE(abuse.allowCall("192.0.2.3"));
  abuse.callStarted("192.0.2.3");  // started anyway: not counted, the bound holds
  EXPECT_EQ(abuse.trackedCallSources(), 2U);
  abuse.callEnded("192.0.2.2");
  EXPECT_TRUE(abuse.allowCall("192.0.2.3"));
}

// --- PIN guessing ------------------------------------------------------------------------------

TEST(AbusePins, TenWrongInTenMinutesLockTheAddressForExactlyFifteenMinutes) {
  Abuse abuse;
  const std::string ip = "192.0.2.1";
  for (int i = 0; i < 9; ++i) {
    abuse.wrongPin(ip, "room", kStart + seconds(60 * i));
    EXPECT_FALSE(abuse.lockedOut(ip, kStart + seconds(60 * i))) << i;
  }
  const TimePoint lockedAt = kStart + seconds(9 * 60 + 59);  // the tenth, 9:59 after the first
  abuse.wrongPin(ip, "room", lockedAt);
  EXPECT_EQ(abuse.counters().sourcesLockedOut, 1U);
  EXPECT_TRUE(abuse.lockedOut(ip, lockedAt));
  EXPECT_TRUE(abuse.lockedOut(ip, lockedAt + minutes(14) + seconds(59)));
  EXPECT_TRUE(abuse.lockedOut(ip, lockedAt + minutes(15) - nanoseconds(1)));
  EXPECT_FALSE(abuse.lockedOut(ip, lockedAt + minutes(15)));
  EXPECT_FALSE(abuse.lockedOut(ip, lockedAt + minutes(16)));
  EXPECT_EQ(abuse.counters().refusedLockedOut, 3U);
  EXPECT_FALSE(abuse.lockedOut("192.0.2.2", lockedAt));  // another address is not locked
  EXPECT_FALSE(abuse.roomLocked("room", lockedAt));      // nor the room, at ten
}

TEST(AbusePins, NineWrongDoNotLock) {
  Abuse abuse;
  for (int i = 0; i < 9; ++i) {
    abuse.wrongPin("192.0.2.1", "room", kStart);
  }
  EXPECT_FALSE(abuse.lockedOut("192.0.2.1", kStart));
  EXPECT_EQ(abuse.counters().sourcesLockedOut, 0U);
}

TEST(AbusePins, WrongPinsSpreadOverMoreThanTheWindowDoNotLock) {
  Abuse abuse;
  const std::string ip = "192.0.2.1";
  // One every 70 s: any ten of them span 10:30. Counting per fixed ten-minute window would lock.
  for (int i = 0; i < 30; ++i) {
    abuse.wrongPin(ip, "room", kStart + seconds(70 * i));
    ASSERT_FALSE(abuse.lockedOut(ip, kStart + seconds(70 * i))) << i;
  }
  // Ten with the first exactly ten minutes before the last: the first has left the window.
  Abuse edge;
  edge.wrongPin(ip, "room", kStart);
  for (int i = 0; i < 9; ++i) {
    edge.wrongPin(ip, "room", kStart + minutes(10));
  }
  EXPECT_FALSE(edge.lockedOut(ip, kStart + minutes(10)));
  edge.wrongPin(ip, "room", kStart + minutes(10));  // ten within the window now
  EXPECT_TRUE(edge.lockedOut(ip, kStart + minutes(10)));
}

TEST(AbusePins, AfterTheLockoutTheCountStartsAfreshAndALockedAddressIsNotLockedLonger) {
  Abuse abuse;
  const std::string ip = "192.0.2.1";
  for (int i = 0; i < 10; ++i) {
    abuse.wrongPin(ip, "room", kStart);
  }
  ASSERT_TRUE(abuse.lockedOut(ip, kStart));
  // Calls already in progress keep guessing: the lockout does not move.
  for (int i = 0; i < 20; ++i) {
    abuse.wrongPin(ip, "room", kStart + minutes(5));
  }
  EXPECT_FALSE(abuse.lockedOut(ip, kStart + minutes(15)));
  EXPECT_EQ(abuse.counters().sourcesLockedOut, 1U);
  const TimePoint later = kStart + minutes(15);
  for (int i = 0; i < 9; ++i) {
    abuse.wrongPin(ip, "room", later);
  }
  EXPECT_FALSE(abuse.lockedOut(ip, later));
  abuse.wrongPin(ip, "room", later);
  EXPECT_TRUE(abuse.lockedOut(ip, later));
  EXPECT_EQ(abuse.counters().sourcesLockedOut, 2U);
}

TEST(AbusePins, FiftyWrongFromFiftyAddressesLockTheRoomForFiveMinutes) {
  Abuse abuse;
  for (std::uint32_t i = 0; i < 49; ++i) {
    abuse.wrongPin(address(i), "tenant/1234", kStart + seconds(i));
  }
  EXPECT_FALSE(abuse.roomLocked("tenant/1234", kStart + seconds(49)));
  const TimePoint lockedAt = kStart + seconds(49);
  abuse.wrongPin(address(49), "tenant/1234", lockedAt);
  EXPECT_EQ(abuse.counters().roomsLocked, 1U);
  EXPECT_TRUE(abuse.roomLocked("tenant/1234", lockedAt));
  EXPECT_TRUE(abuse.roomLocked("tenant/1234", lockedAt + minutes(5) - nanoseconds(1)));
  EXPECT_FALSE(abuse.roomLocked("tenant/1234", lockedAt + minutes(5)));
  EXPECT_EQ(abuse.counters().refusedRoomLocked, 2U);
  EXPECT_FALSE(abuse.roomLocked("tenant/5678", lockedAt));  // another room is open
  for (std::uint32_t i = 0; i < 50; ++i) {
    EXPECT_FALSE(abuse.lockedOut(address(i), lockedAt)) << i;  // one guess each: no address
  }
  EXPECT_EQ(abuse.counters().sourcesLockedOut, 0U);
}

TEST(AbusePins, ZeroTurnsEachPinLimitOff) {
  AbuseSettings settings;
  settings.wrongPinsPerSource = 0;
  settings.roomLockout = seconds(0);
  Abuse abuse(settings);
  for (int i = 0; i < 1000; ++i) {
    abuse.wrongPin("192.0.2.1", "room", kStart);
  }
  EXPECT_FALSE(abuse.lockedOut("192.0.2.1", kStart));
  EXPECT_FALSE(abuse.roomLocked("room", kStart));
  EXPECT_EQ(abuse.trackedPinSources(), 0U);
  EXPECT_EQ(abuse.trackedRooms(), 0U);
}

TEST(AbusePins, AZeroWindowNeverAgesWrongPins) {
  AbuseSettings settings;
  settings.pinWindow = seconds(0);
  Abuse abuse(settings);
  for (int i = 0; i < 10; ++i) {
    abuse.wrongPin("192.0.2.1", "room", kStart + std::chrono::hours(24 * i));
  }
  EXPECT_TRUE(abuse.lockedOut("192.0.2.1", kStart + std::chrono::hours(24 * 9)));
}

TEST(AbusePins, TheTablesStayWithinTheCapAndKeepALockedAddressLocked) {
  AbuseSettings settings;
  settings.maxTracked = 100;
  settings.wrongPinsPerRoom = 1000;
  Abuse abuse(settings);
  const std::string guesser = "198.51.100.7";
  for (int i = 0; i < 10; ++i) {
    abuse.wrongPin(guesser, "room", kStart);
  }
  for (std::uint32_t i = 0; i < 100'000; ++i) {
    abuse.wrongPin(address(i), "room" + std::to_string(i), kStart + milliseconds(i));
    ASSERT_LE(abuse.trackedPinSources(), 100U) << i;
    ASSERT_LE(abuse.trackedRooms(), 100U) << i;
  }
  EXPECT_TRUE(abuse.lockedOut(guesser, kStart + seconds(100)));
  // Once its lockout and window are over, the old entries go and make room.
  EXPECT_FALSE(abuse.lockedOut(guesser, kStart + minutes(15)));
  EXPECT_EQ(abuse.trackedPinSources(), 99U);
}

TEST(AbusePins, WhenFullTheOldestUnlockedAddressGoesAndALockedOneStays) {
  AbuseSettings settings;
  settings.maxTracked = 2;
  Abuse abuse(settings);
  for (int i = 0; i < 10; ++i) {
    abuse.wrongPin("192.0.2.1", "room", kStart);  // locked, and the oldest entry
  }
  abuse.wrongPin("192.0.2.2", "room", kStart);
  for (int i = 0; i < 10; ++i) {
    abuse.wrongPin("192.0.2.3", "room", kStart);  // pushes out .2, not .1
  }
  EXPECT_EQ(abuse.trackedPinSources(), 2U);
  EXPECT_TRUE(abuse.lockedOut("192.0.2.1", kStart));
  EXPECT_TRUE(abuse.lockedOut("192.0.2.3", kStart));
  // Full of locked addresses: a new one goes uncounted per address (its room still counts it).
  for (int i = 0; i < 10; ++i) {
    abuse.wrongPin("192.0.2.4", "room", kStart);
  }
  EXPECT_FALSE(abuse.lockedOut("192.0.2.4", kStart));
  EXPECT_EQ(abuse.trackedPinSources(), 2U);
}

}  // namespace
}  // namespace confab::room
