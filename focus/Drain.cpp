#include "focus/Drain.hpp"

#include <utility>

namespace confab {

Drain::Drain(timer::Timers& timers, Awaiting awaiting)
    : timers_(timers), awaiting_(std::move(awaiting)) {}

Drain::~Drain() {
  timers_.cancel(timer_);
}

void Drain::start(timer::Duration bound, Done done) {
  if (running_) {
    return;
  }
  running_ = true;
  done_ = std::move(done);
  deadline_ = timers_.now() + bound;
  check();
}

void Drain::check() {
  timer_ = 0;
  if (awaiting_() == 0 || timers_.now() >= deadline_) {
    finish();
    return;
  }
  timer_ = timers_.schedule(kInterval, [this] { check(); });
}

void Drain::finish() {
  running_ = false;
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) {
    done(awaiting_());
  }
}

}  // namespace confab
