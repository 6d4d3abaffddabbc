// Limits on abuse of the focus by source address: how fast one address may send INVITEs, how many
// calls it may hold, and how many wrong PINs an address or a room may take before PIN entry is
// closed. Asked on the SIP thread for each new INVITE and each PIN answer; time is passed in, and
// the memory stays bounded under a flood from any number of spoofed addresses.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace confab::room {

// Every limit: 0 turns it off.
struct AbuseSettings {
  // A token bucket per source address: 'invitesPerSecond' refill, 'inviteBurst' deep. Over it the
  // focus answers 503 with Retry-After (RFC 3261 §21.5.4).
  std::uint32_t invitesPerSecond = 10;
  std::uint32_t inviteBurst = 20;
  // Calls held at once from one source address.
  std::uint32_t maxCallsPerSource = 20;
  // This many wrong PINs from one address within 'pinWindow' lock the address out (its new
  // INVITEs are refused 403) for 'pinLockout'.
  std::uint32_t wrongPinsPerSource = 10;
  // This many wrong PINs for one room within 'pinWindow', from any addresses (a guess spread over
  // many), close the room's PIN entry for everyone for 'roomLockout'.
  std::uint32_t wrongPinsPerRoom = 50;
  std::chrono::seconds pinWindow{std::chrono::minutes(10)};  // 0: wrong PINs never age
  std::chrono::seconds pinLockout{std::chrono::minutes(15)};
  std::chrono::seconds roomLockout{std::chrono::minutes(5)};
  // Entries in each table (INVITE rates, calls, PIN sources, PIN rooms); at least 1. About 150
  // bytes an entry, more for PIN entries (8 bytes a remembered wrong PIN).
  std::size_t maxTracked = 65536;
};

// Refusals and lockouts since start, for the log and the API.
struct AbuseCounters {
  std::uint64_t invitesRateLimited = 0;    // allowInvite said no
  std::uint64_t callsOverSourceLimit = 0;  // allowCall said no
  std::uint64_t sourcesLockedOut = 0;      // lockouts of an address begun
  std::uint64_t refusedLockedOut = 0;      // lockedOut said yes
  std::uint64_t roomsLocked = 0;           // lockouts of a room's PIN entry begun
  std::uint64_t refusedRoomLocked = 0;     // roomLocked said yes
  // INVITEs checked against the one bucket shared by untracked addresses, because the table was
  // full of addresses active within the last burst time (a spray of spoofed addresses).
  std::uint64_t invitesUntracked = 0;
};

class Abuse {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  explicit Abuse(const AbuseSettings& settings = {});
  // New limits for what comes next (a configuration reload): buckets, counts and lockouts already
  // running stay as they are; maxTracked stays as built (the tables are sized once).
  void reconfigure(const AbuseSettings& settings);

  // The addresses below are the source IP address as text without the port; the caller writes
  // one address one way (e.g. an IPv4-mapped IPv6 address as plain IPv4).

  // A new INVITE from 'sourceIp': false when it is over its rate (the caller answers 503).
  [[nodiscard]] bool allowInvite(const std::string& sourceIp, TimePoint now);
  // For the 503's Retry-After (RFC 3261 §20.33, whole seconds): when the address may next send,
  // at least 1 s. Kept as short as that because a proxy that gets 503 with Retry-After stops
  // sending us anything for that long (RFC 3261 §21.5.4), not only this caller's INVITEs. As
  // refusals take no token, with a whole-number rate this is always 1 s.
  [[nodiscard]] std::chrono::seconds retryAfter(const std::string& sourceIp, TimePoint now) const;

  // Whether 'sourceIp' may start one more call. Counts a refusal when not.
  [[nodiscard]] bool allowCall(const std::string& sourceIp);
  // A call from 'sourceIp' began (after allowCall) and ended. A call the table had no room for
  // (allowCall refused it) is not counted.
  void callStarted(const std::string& sourceIp);
  void callEnded(const std::string& sourceIp);
  [[nodiscard]] std::uint32_t callsFrom(const std::string& sourceIp) const;

  // A wrong PIN from 'sourceIp' for the room 'roomKey'. A right PIN changes nothing: a guesser
  // who knows one PIN could otherwise clear their count between guesses. Wrong PINs from an
  // address already locked out do not lengthen its lockout (calls already in progress finish
  // their questions), but still count for the room.
  void wrongPin(const std::string& sourceIp, const std::string& roomKey, TimePoint now);
  // Whether 'sourceIp' is locked out (its new INVITEs are answered 403). A yes counts as a
  // refusal: ask once per request refused.
  [[nodiscard]] bool lockedOut(const std::string& sourceIp, TimePoint now);
  // Whether the room's PIN entry is closed (callers are told and sent away). A yes counts.
  [[nodiscard]] bool roomLocked(const std::string& roomKey, TimePoint now);

  [[nodiscard]] const AbuseCounters& counters() const { return counters_; }
  // Entries in each table, each at most AbuseSettings::maxTracked.
  [[nodiscard]] std::size_t trackedSources() const { return invites_.size(); }
  [[nodiscard]] std::size_t trackedCallSources() const { return calls_.size(); }
  [[nodiscard]] std::size_t trackedPinSources() const { return pinSources_.size(); }
  [[nodiscard]] std::size_t trackedRooms() const { return pinRooms_.size(); }

 private:
  // A table of at most 'capacity' entries by key, least recently used at the back. Constant
  // time per operation; the string_view keys point into the list's nodes, which never move.
  template <typename Value>
  class Recent {
   public:
    explicit Recent(std::size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}
    // The entry, moved to the front; null when absent.
    Value* use(std::string_view key) {
      const auto found = index_.find(key);
      if (found == index_.end()) {
        return nullptr;
      }
      order_.splice(order_.begin(), order_, found->second);
      return &found->second->value;
    }
    [[nodiscard]] const Value* peek(std::string_view key) const {
      const auto found = index_.find(key);
      return found == index_.end() ? nullptr : &found->second->value;
    }
    // A new entry at the front; the key is absent and the table not full.
    Value& add(std::string_view key, Value value) {
      order_.push_front(Node{std::string(key), std::move(value)});
      index_.emplace(order_.front().key, order_.begin());
      return order_.front().value;
    }
    void drop(std::string_view key) {
      const auto found = index_.find(key);
      if (found != index_.end()) {
        const auto node = found->second;
        index_.erase(found);  // before the node its key points into
        order_.erase(node);
      }
    }
    [[nodiscard]] bool empty() const { return order_.empty(); }
    [[nodiscard]] bool full() const { return order_.size() >= capacity_; }
    [[nodiscard]] std::size_t size() const { return order_.size(); }
    // The least recently used entry; the table is not empty.
    [[nodiscard]] const Value& oldest() const { return order_.back().value; }
    void dropOldest() { drop(order_.back().key); }
    // The least recently used entry to the front, not to be looked at again for a while.
    void rotateOldest() { order_.splice(order_.begin(), order_, std::prev(order_.end())); }

   private:
    struct Node {
      std::string key;
      Value value;
    };
    std::list<Node> order_;  // most recently used first
    std::unordered_map<std::string_view, typename std::list<Node>::iterator> index_;
    std::size_t capacity_;
  };

  // Recent wrong PINs from one address or for one room.
  struct Guesses {
    std::vector<TimePoint> times;  // the last few, as a ring: at most the limit
    std::size_t next = 0;          // where the ring writes next, once full
    TimePoint newest = TimePoint::min();
    TimePoint lockedUntil = TimePoint::min();
  };

  // Forgets addresses whose bucket is full again, from the old end.
  void forgetFullBuckets(TimePoint now);
  // Makes room for a new address in the INVITE table; false when there is none to make.
  bool makeRoomForInvites(TimePoint now);
  // Counts a wrong PIN under 'key'; true when it begins a lockout.
  bool guess(Recent<Guesses>& table,
             const std::string& key,
             std::uint32_t limit,
             std::chrono::seconds lockout,
             TimePoint now);
  // Whether 'key' is locked, forgetting it when nothing about it is still in force.
  bool locked(Recent<Guesses>& table, const std::string& key, TimePoint now);
  [[nodiscard]] bool stale(const Guesses& guesses, TimePoint now) const;
  void forgetStale(Recent<Guesses>& table, TimePoint now);

  AbuseSettings settings_;
  Clock::duration emission_{};   // time for one token to come back
  Clock::duration tolerance_{};  // how far ahead of now a bucket's debt may run: burst - 1 tokens
  // Per address, the theoretical arrival time of the next INVITE (GCRA, the token bucket as one
  // time: the bucket is full when it is not after now).
  Recent<TimePoint> invites_;
  TimePoint untracked_ = TimePoint::min();  // the bucket shared by addresses without an entry
  std::unordered_map<std::string, std::uint32_t> calls_;  // only addresses with calls
  Recent<Guesses> pinSources_;
  Recent<Guesses> pinRooms_;
  AbuseCounters counters_;
};

}  // namespace confab::room
