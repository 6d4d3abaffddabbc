// The last step of a stop (issue 14 item 2): what a stop sends (BYE on every call, CANCEL on
// every call being placed, the final NOTIFYs, REGISTER with Expires: 0) is one client transaction
// each. Drain waits until each has its final response or its timeout, then says so; at the bound
// it gives up on the rest, so a peer that never answers cannot hold the process (over UDP a BYE's
// own timeout, Timer F, is 64*T1 = 32 s).
#pragma once

#include <cstddef>
#include <functional>

#include "focus/timer/Timers.hpp"

namespace confab {

class Drain {
 public:
  // How many requests still wait for their answer (txn::TransactionLayer::awaitingAnswers).
  using Awaiting = std::function<std::size_t()>;
  // Called once: how many requests were still unanswered (0 when all were).
  using Done = std::function<void(std::size_t unanswered)>;

  Drain(timer::Timers& timers, Awaiting awaiting);
  ~Drain();
  Drain(const Drain&) = delete;
  Drain& operator=(const Drain&) = delete;

  // Calls done as soon as nothing waits (at once when nothing does), or after bound. A second
  // start while one runs is ignored.
  void start(timer::Duration bound, Done done);

 private:
  void check();
  void finish();

  // Answers arrive on the same shard between checks; 10 ms keeps the exit prompt without
  // spinning.
  static constexpr timer::Duration kInterval{10};

  timer::Timers& timers_;
  Awaiting awaiting_;
  Done done_;
  timer::Clock::time_point deadline_{};
  timer::Timers::Id timer_ = 0;
  bool running_ = false;
};

}  // namespace confab
