#include "focus/timer/Timers.hpp"

namespace confab::timer {

Timers::Id Timers::schedule(Duration delay, std::function<void()> fn) {
  const Id id = nextId_++;
  const auto deadline = now() + delay;
  const bool earliest = queue_.empty() || deadline < queue_.begin()->first;
  auto it = queue_.emplace(deadline, Entry{id, std::move(fn)});
  byId_.emplace(id, it);
  if (earliest) {
    rearm();
  }
  return id;
}

void Timers::cancel(Id id) {
  auto found = byId_.find(id);
  if (found == byId_.end()) {
    return;
  }
  queue_.erase(found->second);
  byId_.erase(found);
}

void Timers::runDue(Clock::time_point at) {
  while (!queue_.empty() && queue_.begin()->first <= at) {
    auto it = queue_.begin();
    auto fn = std::move(it->second.fn);
    byId_.erase(it->second.id);
    queue_.erase(it);
    fn();
  }
  rearm();
}

void AsioTimers::rearm() {
  if (empty()) {
    return;
  }
  const auto deadline = nextDeadline();
  if (armedFor_ == deadline) {
    return;
  }
  armedFor_ = deadline;
  timer_.expires_at(deadline);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) {
      return;  // cancelled by a re-arm; the newer wait handles the queue
    }
    armedFor_ = {};
    runDue(Clock::now());
  });
}

void ManualTimers::advance(Duration by) {
  const auto target = now_ + by;
  while (!empty() && nextDeadline() <= target) {
    now_ = std::max(now_, nextDeadline());
    runDue(now_);
  }
  now_ = target;
}

}  // namespace confab::timer
