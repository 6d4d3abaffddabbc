#include "focus/room/Abuse.hpp"

#include <algorithm>

namespace confab::room {

namespace {

// Entries looked at from the old end of a table per call: more than the one a call may add, so
// the tables shrink back once a flood stops, and few enough that each call stays O(1).
constexpr int kLookAtOldest = 4;

}  // namespace

Abuse::Abuse(const AbuseSettings& settings)
    : settings_(settings),
      invites_(settings.maxTracked),
      pinSources_(settings.maxTracked),
      pinRooms_(settings.maxTracked) {
  reconfigure(settings);
}

void Abuse::reconfigure(const AbuseSettings& settings) {
  const std::size_t tracked = settings_.maxTracked;
  settings_ = settings;
  settings_.maxTracked = tracked;
  emission_ = {};
  tolerance_ = {};
  if (settings_.invitesPerSecond != 0 && settings_.inviteBurst != 0) {
    emission_ = std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(1)) /
                settings_.invitesPerSecond;
    tolerance_ = emission_ * (settings_.inviteBurst - 1);
  }
}

// The token bucket as GCRA (ITU-T I.371): one time per address, the moment its bucket would be
// full again plus one token's time. An INVITE conforms when that time is at most 'burst - 1'
// tokens ahead of now; it then moves one token's time on. Integer arithmetic, so a token comes
// back exactly 1/rate after it went.
bool Abuse::allowInvite(const std::string& sourceIp, TimePoint now) {
  if (emission_ == Clock::duration::zero()) {
    return true;
  }
  forgetFullBuckets(now);
  TimePoint* due = invites_.use(sourceIp);
  if (due == nullptr) {
    if (makeRoomForInvites(now)) {
      due = &invites_.add(sourceIp, now);  // a full bucket
    } else {
      ++counters_.invitesUntracked;
      due = &untracked_;
    }
  }
  if (*due > now && *due - now > tolerance_) {
    ++counters_.invitesRateLimited;
    return false;  // refusals take no token: a steady flood gets the rate, no more, no less
  }
  *due = std::max(*due, now) + emission_;
  return true;
}

void Abuse::forgetFullBuckets(TimePoint now) {
  for (int i = 0; i < kLookAtOldest && !invites_.empty() && invites_.oldest() <= now; ++i) {
    invites_.dropOldest();
  }
}

// Eviction: an address is forgotten only when forgetting it changes nothing, that is when its
// bucket is full again (a new entry starts full). Evicting one whose bucket is not full would
// hand a flooder a fresh burst: a spray of spoofed addresses would launder it. So a full table
// looks at a few of its least recently used entries, drops the full ones and gives the others a
// second chance at the front (the CLOCK algorithm). When none of those is full, the oldest
// entries sent within the last burst time: a spray fills the table. Then a new address shares one
// bucket with every other untracked address: the spray gets one address's rate between all its
// new addresses, and everyone tracked keeps their state.
bool Abuse::makeRoomForInvites(TimePoint now) {
  for (int i = 0; i < kLookAtOldest && invites_.full(); ++i) {
    if (invites_.oldest() <= now) {
      invites_.dropOldest();
    } else {
      invites_.rotateOldest();
    }
  }
  return !invites_.full();
}

std::chrono::seconds Abuse::retryAfter(const std::string& sourceIp, TimePoint now) const {
  const TimePoint* due = invites_.peek(sourceIp);
  if (due == nullptr) {
    due = &untracked_;  // refused without an entry: it was the shared bucket
  }
  if (emission_ == Clock::duration::zero() || *due <= now || *due - now <= tolerance_) {
    return std::chrono::seconds(1);
  }
  const auto wait = *due - now - tolerance_;
  return std::max(std::chrono::seconds(1), std::chrono::ceil<std::chrono::seconds>(wait));
}

bool Abuse::allowCall(const std::string& sourceIp) {
  if (settings_.maxCallsPerSource == 0) {
    return true;
  }
  const auto found = calls_.find(sourceIp);
  const bool allowed = found != calls_.end()
                           ? found->second < settings_.maxCallsPerSource
                           : calls_.size() < std::max<std::size_t>(settings_.maxTracked, 1);
  if (!allowed) {
    ++counters_.callsOverSourceLimit;
  }
  return allowed;
}

void Abuse::callStarted(const std::string& sourceIp) {
  if (settings_.maxCallsPerSource == 0) {
    return;
  }
  const auto found = calls_.find(sourceIp);
  if (found != calls_.end()) {
    ++found->second;
  } else if (calls_.size() < std::max<std::size_t>(settings_.maxTracked, 1)) {
    calls_.emplace(sourceIp, 1);
  }
}

void Abuse::callEnded(const std::string& sourceIp) {
  const auto found = calls_.find(sourceIp);
  if (found == calls_.end()) {
    return;
  }
  if (--found->second == 0) {
    calls_.erase(found);
  }
}

std::uint32_t Abuse::callsFrom(const std::string& sourceIp) const {
  const auto found = calls_.find(sourceIp);
  return found == calls_.end() ? 0 : found->second;
}

void Abuse::wrongPin(const std::string& sourceIp, const std::string& roomKey, TimePoint now) {
  if (guess(pinSources_, sourceIp, settings_.wrongPinsPerSource, settings_.pinLockout, now)) {
    ++counters_.sourcesLockedOut;
  }
  if (guess(pinRooms_, roomKey, settings_.wrongPinsPerRoom, settings_.roomLockout, now)) {
    ++counters_.roomsLocked;
  }
}

bool Abuse::lockedOut(const std::string& sourceIp, TimePoint now) {
  const bool yes = locked(pinSources_, sourceIp, now);
  if (yes) {
    ++counters_.refusedLockedOut;
  }
  return yes;
}

bool Abuse::roomLocked(const std::string& roomKey, TimePoint now) {
  const bool yes = locked(pinRooms_, roomKey, now);
  if (yes) {
    ++counters_.refusedRoomLocked;
  }
  return yes;
}

// A sliding window, exact: the last 'limit' wrong PINs are kept, and the limit is reached when
// the oldest of them is still within the window. (Counts per fixed window would let a guesser
// place 2 * limit - 2 guesses around a window's edge.)
bool Abuse::guess(Recent<Guesses>& table,
                  const std::string& key,
                  std::uint32_t limit,
                  std::chrono::seconds lockout,
                  TimePoint now) {
  if (limit == 0 || lockout == std::chrono::seconds::zero()) {
    return false;
  }
  forgetStale(table, now);
  Guesses* guesses = table.use(key);
  if (guesses == nullptr) {
    // Full of entries still in force: the least recently active one that is not locked goes (its
    // partial count is the least telling), locked ones get a second chance at the front (a
    // lockout is never cut short). When the few looked at are all locked, this key's guesses go
    // uncounted here; for a source, the room's limit still counts them.
    for (int i = 0; i < kLookAtOldest && table.full(); ++i) {
      if (now >= table.oldest().lockedUntil) {
        table.dropOldest();
      } else {
        table.rotateOldest();
      }
    }
    if (table.full()) {
      return false;
    }
    guesses = &table.add(key, Guesses{});
  }
  if (now < guesses->lockedUntil) {
    return false;  // already locked: its lockout is not lengthened
  }
  if (guesses->times.size() < limit) {
    guesses->times.push_back(now);
  } else {
    guesses->times[guesses->next] = now;
    guesses->next = (guesses->next + 1) % limit;
  }
  guesses->newest = now;
  if (guesses->times.size() < limit) {
    return false;
  }
  const TimePoint oldest = guesses->times[guesses->next];
  if (settings_.pinWindow != std::chrono::seconds::zero() && now - oldest >= settings_.pinWindow) {
    return false;
  }
  guesses->lockedUntil = now + lockout;
  guesses->times.clear();  // after the lockout, a fresh count
  guesses->next = 0;
  return true;
}

bool Abuse::locked(Recent<Guesses>& table, const std::string& key, TimePoint now) {
  const Guesses* guesses = table.peek(key);  // a question does not make an entry more recent
  if (guesses == nullptr) {
    return false;
  }
  if (now < guesses->lockedUntil) {
    return true;
  }
  if (stale(*guesses, now)) {
    table.drop(key);
  }
  return false;
}

// Nothing about the entry is in force any more: not locked, and every wrong PIN out of the window.
bool Abuse::stale(const Guesses& guesses, TimePoint now) const {
  return now >= guesses.lockedUntil &&
         (guesses.times.empty() || (settings_.pinWindow != std::chrono::seconds::zero() &&
                                    now - guesses.newest >= settings_.pinWindow));
}

void Abuse::forgetStale(Recent<Guesses>& table, TimePoint now) {
  for (int i = 0; i < kLookAtOldest && !table.empty() && stale(table.oldest(), now); ++i) {
    table.dropOldest();
  }
}

}  // namespace confab::room
