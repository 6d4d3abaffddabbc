// PIN checks off the SIP thread. A check is a salted PBKDF2 hash (policy::Store: milliseconds of
// CPU, three times over for a wrong PIN against a room's three PINs): done on the SIP thread,
// a few hundred guessers at their allowed rate would stall every call's signalling. Here one
// thread of its own, with its own store connection, works through a bounded queue and hands each
// result back to the SIP thread through 'deliver'.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "policy/Room.hpp"

namespace confab::room {

class PinChecker {
 public:
  // Runs on the checker's thread.
  using Check = std::function<std::optional<policy::Role>(const policy::Room&, const std::string&)>;
  // Runs 'result' on the SIP thread (e.g. boost::asio::post to its io_context); may be called
  // from the checker's thread.
  using Deliver = std::function<void(std::function<void()> result)>;
  using Done = std::function<void(std::optional<policy::Role>)>;

  static constexpr std::size_t kMaxQueued = 256;

  PinChecker(Check check, Deliver deliver);
  ~PinChecker();  // waits for the check under way; queued ones are dropped unanswered
  PinChecker(const PinChecker&) = delete;
  PinChecker& operator=(const PinChecker&) = delete;

  // Queues a check; 'done' later runs on the SIP thread with the role (nothing: a wrong PIN).
  // False when the queue is full: nothing is queued and the caller treats the answer as wrong
  // (a flood of guesses must not buy memory or delay everyone's checks without bound).
  bool check(policy::Room room, std::string pin, Done done);

 private:
  struct Job {
    policy::Room room;
    std::string pin;
    Done done;
  };
  void run();

  Check check_;
  Deliver deliver_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace confab::room
