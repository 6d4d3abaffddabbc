// PIN checks on their own thread: answers come back through 'deliver' in order, a full queue
// refuses rather than grows, a check that throws answers "wrong", and the SIP side only ever runs
// the answers where it drains them.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "focus/room/PinChecker.hpp"

namespace confab::room {
namespace {

// What the SIP thread's io_context would be: results queued here, run when the test drains.
class Inbox {
 public:
  void post(std::function<void()> f) {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(f));
  }
  // Runs what has arrived, waiting up to 5 s for at least 'count' in all.
  void drainUntil(std::size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (ran_ < count && std::chrono::steady_clock::now() < deadline) {
      std::vector<std::function<void()>> now;
      {
        std::lock_guard lock(mutex_);
        now.swap(queue_);
      }
      for (auto& f : now) {
        f();
        ++ran_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

 private:
  std::mutex mutex_;
  std::vector<std::function<void()>> queue_;
  std::size_t ran_ = 0;
};

policy::Room room(const std::string& id) {
  return policy::Room{id, id};
}

TEST(PinChecker, AnswersComeBackInOrderThroughTheSipThreadsQueue) {
  Inbox inbox;
  const auto sipThread = std::this_thread::get_id();
  std::atomic<bool> checkedElsewhere{true};
  PinChecker checker(
      [&](const policy::Room& r, const std::string& pin) -> std::optional<policy::Role> {
        checkedElsewhere = checkedElsewhere && std::this_thread::get_id() != sipThread;
        if (pin == "9999") {
          return policy::Role::kModerator;
        }
        if (r.id == "open" || pin == "1234") {  // a room without a participant PIN, or the PIN
          return policy::Role::kParticipant;
        }
        return std::nullopt;
      },
      [&](std::function<void()> result) { inbox.post(std::move(result)); });
  std::vector<std::optional<policy::Role>> answers;
  for (const char* pin : {"1234", "0000", "9999", "0000"}) {
    ASSERT_TRUE(checker.check(room("closed"), pin,
                              [&](std::optional<policy::Role> r) { answers.push_back(r); }));
  }
  EXPECT_TRUE(answers.empty()) << "nothing runs until the SIP thread drains";
  inbox.drainUntil(4);
  ASSERT_EQ(answers.size(), 4u);
  EXPECT_EQ(answers[0], policy::Role::kParticipant);
  EXPECT_EQ(answers[1], std::nullopt);
  EXPECT_EQ(answers[2], policy::Role::kModerator);
  EXPECT_EQ(answers[3], std::nullopt);
  EXPECT_TRUE(checkedElsewhere);
}

TEST(PinChecker, AFullQueueRefusesAndAThrowingCheckSaysWrong) {
  Inbox inbox;
  std::mutex gate;
  gate.lock();  // the first check blocks until the queue has been filled behind it
  PinChecker checker(
      [&](const policy::Room&, const std::string& pin) -> std::optional<policy::Role> {
        if (pin == "block") {
          std::lock_guard wait(gate);
        }
        if (pin == "throw") {
          throw std::runtime_error("store gone");
        }
        return policy::Role::kParticipant;
      },
      [&](std::function<void()> result) { inbox.post(std::move(result)); });
  std::vector<std::optional<policy::Role>> answers;
  const auto record = [&](std::optional<policy::Role> r) { answers.push_back(r); };
  ASSERT_TRUE(checker.check(room("r"), "block", record));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the thread takes it
  std::size_t queued = 0;
  while (checker.check(room("r"), queued == 0 ? "throw" : "1111", record)) {
    ++queued;
    ASSERT_LE(queued, PinChecker::kMaxQueued + 1) << "the queue grows without bound";
  }
  EXPECT_GE(queued, PinChecker::kMaxQueued - 1);
  gate.unlock();
  inbox.drainUntil(queued + 1);
  ASSERT_EQ(answers.size(), queued + 1);
  EXPECT_EQ(answers[0], policy::Role::kParticipant);
  EXPECT_EQ(answers[1], std::nullopt) << "a check that throws is a wrong PIN";
  EXPECT_EQ(answers[2], policy::Role::kParticipant);
}

}  // namespace
}  // namespace confab::room
