// Timers for the signalling shard, with time injected: AsioTimers runs on the io_context, and
// ManualTimers lets tests move time forward without sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace confab::timer {

using Clock = std::chrono::steady_clock;
using Duration = std::chrono::milliseconds;

class Timers {
 public:
  using Id = std::uint64_t;  // 0 is never a timer

  virtual ~Timers() = default;
  // Runs 'fn' once after 'delay' on the owning shard. The callback may schedule and cancel.
  Id schedule(Duration delay, std::function<void()> fn);
  // Cancelling an expired or unknown timer does nothing.
  void cancel(Id id);
  [[nodiscard]] virtual Clock::time_point now() const = 0;
  [[nodiscard]] std::size_t pending() const { return byId_.size(); }

 protected:
  // Runs every timer due at 'now', earliest first.
  void runDue(Clock::time_point now);
  [[nodiscard]] bool empty() const { return queue_.empty(); }
  [[nodiscard]] Clock::time_point nextDeadline() const { return queue_.begin()->first; }
  // The earliest deadline changed (or the queue emptied).
  virtual void rearm() {}

 private:
  struct Entry {
    Id id;
    std::function<void()> fn;
  };
  std::multimap<Clock::time_point, Entry> queue_;
  std::unordered_map<Id, std::multimap<Clock::time_point, Entry>::iterator> byId_;
  Id nextId_ = 1;
};

class AsioTimers final : public Timers {
 public:
  explicit AsioTimers(boost::asio::io_context& io) : timer_(io) {}
  [[nodiscard]] Clock::time_point now() const override { return Clock::now(); }

 private:
  void rearm() override;
  boost::asio::steady_timer timer_;
  Clock::time_point armedFor_{};
};

class ManualTimers final : public Timers {
 public:
  [[nodiscard]] Clock::time_point now() const override { return now_; }
  // Moves time forward, firing what falls due on the way in deadline order.
  void advance(Duration by);

 private:
  Clock::time_point now_{};
};

}  // namespace confab::timer
