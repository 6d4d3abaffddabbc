// The mixer thread's io_uring: every participant socket it watches delivers its datagrams through
// one multishot recvmsg into a ring of buffers the kernel picks from (Linux 6.0+), so a tick's
// thousands of packets cost a few io_uring_enter calls instead of an epoll wake-up and a recvmmsg
// per socket (tests/bench/RESULTS.md "Kernel path: which way": 1.5-1.8 µs per packet against
// 5.1 with epoll). SINGLE_ISSUER | DEFER_TASKRUN (6.1+): completions are made only when this
// thread asks, so the kernel does no work behind its back.
//
// Sends (Outbox): post() copies a datagram into one of kSendSlots slots and queues a SENDMSG with
// MSG_DONTWAIT and IOSQE_CQE_SKIP_SUCCESS; flush() hands everything queued to the kernel in one
// io_uring_enter (1.5-2.2 µs a packet against 3.2-3.8 for a sendto each, RESULTS.md "Kernel I/O").
// MSG_DONTWAIT makes the kernel try each send once, during that call, and fail it (-EAGAIN, a
// completion for Handler::onSendFailed) rather than park it: so once flush() returns, no send still
// reads a slot, and the slots are free again. (Sockets are not connected: connected SEND measured
// only 0.1-0.2 µs a packet cheaper, for a second socket per port and a reconnect at every latch.)
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

#include "mixer/net/MediaEndpoint.hpp"

namespace confab::mixer {

class IoRing final : public Outbox {
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
    // A posted send failed (-error: EAGAIN with the socket's buffer full, an ICMP error pending).
    virtual void onSendFailed(uint64_t /*tag*/, int /*error*/) {}

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

  // Outbox: queued until flush() (or until the slots are full, which flushes). 'tag' below 2^56.
  bool post(int fd,
            const sockaddr_storage& to,
            socklen_t toLength,
            std::span<const uint8_t> data,
            uint64_t tag) override;
  // Hands the queued sends to the kernel; they have all been tried when it returns.
  void flush();

  // Waits up to 'timeout' for something to happen (zero: only looks), then hands everything that
  // has to the handler. Returns the completions handled.
  std::size_t wait(std::chrono::nanoseconds timeout, Handler& handler);

  // Room for one datagram of up to 1500 bytes with its source address and the kernel's header.
  static constexpr std::size_t kBufferBytes = 2048;
  // Sends queued at once, and the largest datagram post() takes.
  static constexpr std::size_t kSendSlots = 1024;
  static constexpr std::size_t kSendBytes = 1500;

  struct Counters {
    uint64_t rearmed = 0;    // multishot receives the kernel ended (no buffer free) and re-armed
    uint64_t dropped = 0;    // completions for a socket no longer watched
    uint64_t failures = 0;   // receive errors other than running out of buffers
    uint64_t sent = 0;       // sends handed to the kernel
    uint64_t sendFailures = 0;
    uint64_t refusedPosts = 0;  // post() said no (too big, or the kernel left sends unsubmitted)
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
