#include "focus/room/PinChecker.hpp"

#include <utility>

namespace confab::room {

PinChecker::PinChecker(Check check, Deliver deliver)
    : check_(std::move(check)), deliver_(std::move(deliver)), thread_([this] { run(); }) {}

PinChecker::~PinChecker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    jobs_.clear();
  }
  ready_.notify_all();
  thread_.join();
}

bool PinChecker::check(policy::Room room, std::string pin, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || jobs_.size() >= kMaxQueued) {
      return false;
    }
    jobs_.push_back(Job{std::move(room), std::move(pin), std::move(done)});
  }
  ready_.notify_one();
  return true;
}

void PinChecker::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) {
        return;
      }
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    std::optional<policy::Role> role;
    try {
      role = check_(job.room, job.pin);
    } catch (...) {
      role.reset();  // a check that fails says "wrong", never "right"
    }
    deliver_([done = std::move(job.done), role] { done(role); });
  }
}

}  // namespace confab::room
