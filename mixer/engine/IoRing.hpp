// The mixer thread's io_uring: every participant socket it watches delivers its datagrams through
// one multishot recvmsg into a ring of buffers the kernel picks from (Linux 6.0+), so a tick's
// thousands of packets cost a few io_uring_enter calls instead of an epoll wake-up and a recvmmsg
// per socket (tests/bench/RESULTS.md "Kernel path: which way": 1.5-1.8 µs per packet against
// 5.1 with epoll). SINGLE_ISSUER | DEFER_TASKRUN (6.1+): completions are made only when this
// thread asks, so the kernel does no work behind its back.
//
// One per mixer thread, created on that thread (the ring's only submitter); after create() only
// watch() allocates (its bookkeeping, on a command, never on the packet path). The kernel may
// refuse io_uring (ENOSYS, or EPERM under a container's default seccomp policy): create() then
// says why and the thread keeps to epoll.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace confab::mixer {

class IoRing {
 public:
  class Handler {
   public:
    // A datagram from a watched socket: 'data' holds 'length' bytes (truncated: the kernel cut
    // it to the buffer) and may be changed in place; valid until the call returns.
    virtual void onDatagram(uint64_t tag,
                            std::span<uint8_t> data,
                            std::size_t length,
                            const sockaddr_storage& from,
                            bool truncated) = 0;
    // A file watched with watchReadable() can be read (timerfd, eventfd).
    virtual void onReadable(uint64_t tag) = 0;

   protected:
    ~Handler() = default;
  };

  // Null, with the reason in 'why', when io_uring cannot be used here. 'buffers' datagrams can be
  // waiting to be handled at once (each takes kBufferBytes).
  static std::unique_ptr<IoRing> create(std::size_t buffers, std::string& why);
  ~IoRing();
  IoRing(const IoRing&) = delete;
  IoRing& operator=(const IoRing&) = delete;

  // Every datagram arriving on 'fd' from now on reaches the handler with this tag, until
  // unwatch(fd). False when the ring cannot take it (the caller falls back or fails the leg).
  bool watch(int fd, uint64_t tag);
  // No more datagrams from 'fd' reach the handler, not even those already read; the ring no
  // longer holds the socket once this returns, so it may be closed.
  void unwatch(int fd);
  // The handler's onReadable(tag) each time 'fd' becomes readable (multishot poll).
  bool watchReadable(int fd, uint64_t tag);

  // Waits up to 'timeout' for something to happen (zero: only looks), then hands everything that
  // has to the handler. Returns the completions handled.
  std::size_t wait(std::chrono::nanoseconds timeout, Handler& handler);

  // Room for one datagram of up to 1500 bytes with its source address and the kernel's header.
  static constexpr std::size_t kBufferBytes = 2048;

  struct Counters {
    uint64_t rearmed = 0;    // multishot receives the kernel ended (no buffer free) and re-armed
    uint64_t dropped = 0;    // completions for a socket no longer watched
    uint64_t failures = 0;   // receive errors other than running out of buffers
  };
  [[nodiscard]] const Counters& counters() const { return counters_; }

 private:
  struct State;
  explicit IoRing(std::unique_ptr<State> state);
  bool add(int fd, uint64_t tag, bool readable);
  void arm(std::size_t watchIndex);
  void complete(void* cqe, Handler& handler, unsigned& recycled);

  std::unique_ptr<State> state_;
  Counters counters_;
};

}  // namespace confab::mixer
