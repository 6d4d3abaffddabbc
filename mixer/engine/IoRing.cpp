#include "mixer/engine/IoRing.hpp"

#ifdef CONFAB_HAVE_LIBURING

#include <liburing.h>
#include <poll.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace confab::mixer {

namespace {

// user_data: the low byte says what completed, the rest which watch (an index into the table).
constexpr uint64_t kReceive = 1;
constexpr uint64_t kReadable = 2;
constexpr uint64_t kCancel = 3;
constexpr uint64_t kSend = 4;  // the rest of user_data: the post()'s tag
constexpr unsigned kBufferGroup = 0;
constexpr unsigned kSubmissionEntries = 1024;

uint64_t userData(std::size_t index, uint64_t kind) {
  return (static_cast<uint64_t>(index) << 8) | kind;
}

}  // namespace

struct IoRing::State {
  io_uring ring{};
  bool ringReady = false;
  io_uring_buf_ring* buffers = nullptr;
  std::size_t bufferRingBytes = 0;
  unsigned bufferCount = 0;  // a power of two
  unsigned char* memory = nullptr;
  std::size_t memoryBytes = 0;
  msghdr receiveShape{};  // what each multishot recvmsg fills in: the source address, no cmsg
  struct Watch {
    int fd = -1;
    uint64_t tag = 0;
    bool active = false;     // false: cancelled, its completions are dropped
    bool armed = false;      // a multishot request of ours is in the kernel
    bool readable = false;   // a poll, not a receive
  };
  std::vector<Watch> watches;
  std::vector<std::size_t> freeWatches;
  std::unordered_map<int, std::size_t> byFd;
  // A posted datagram, with the header and address its SENDMSG reads.
  struct SendSlot {
    msghdr header{};
    iovec vector{};
    sockaddr_storage to{};
    std::array<uint8_t, kSendBytes> data{};
  };
  std::vector<SendSlot> sendSlots;
  std::size_t sendsQueued = 0;  // slots in use since the last flush

  ~State() {
    if (ringReady) {
      io_uring_queue_exit(&ring);
    }
    if (buffers != nullptr) {
      ::munmap(buffers, bufferRingBytes);
    }
    if (memory != nullptr) {
      ::munmap(memory, memoryBytes);
    }
  }

  io_uring_sqe* sqe() {
    io_uring_sqe* entry = io_uring_get_sqe(&ring);
    if (entry == nullptr) {
      io_uring_submit(&ring);
      entry = io_uring_get_sqe(&ring);
    }
    return entry;
  }
};

std::unique_ptr<IoRing> IoRing::create(std::size_t buffers, std::string& why) {
  auto state = std::make_unique<State>();
  io_uring_params params{};
  // SUBMIT_ALL: one send the kernel refuses at submission does not hold back the ones after it.
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                 IORING_SETUP_SUBMIT_ALL;
  unsigned count = 1;
  while (count < buffers && count < 32768) {
    count <<= 1;
  }
  // Completions waiting at once: every buffer's datagram plus the polls and cancels.
  params.cq_entries = std::max(2 * count + 64, 2 * kSubmissionEntries);
  const int init = io_uring_queue_init_params(kSubmissionEntries, &state->ring, &params);
  if (init < 0) {
    why = std::string("io_uring_setup: ") + std::strerror(-init);
    return nullptr;
  }
  state->ringReady = true;
  state->bufferCount = count;
  state->bufferRingBytes = count * sizeof(io_uring_buf);
  void* ringMemory = ::mmap(nullptr, state->bufferRingBytes, PROT_READ | PROT_WRITE,
                            MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  state->memoryBytes = count * kBufferBytes;
  void* bufferMemory = ::mmap(nullptr, state->memoryBytes, PROT_READ | PROT_WRITE,
                              MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ringMemory == MAP_FAILED || bufferMemory == MAP_FAILED) {
    why = "io_uring: no memory for the receive buffers";
    if (ringMemory != MAP_FAILED) {
      ::munmap(ringMemory, state->bufferRingBytes);
    }
    if (bufferMemory != MAP_FAILED) {
      ::munmap(bufferMemory, state->memoryBytes);
    }
    return nullptr;
  }
  state->buffers = static_cast<io_uring_buf_ring*>(ringMemory);
  state->memory = static_cast<unsigned char*>(bufferMemory);
  io_uring_buf_reg registration{};
  registration.ring_addr = reinterpret_cast<uint64_t>(state->buffers);
  registration.ring_entries = count;
  registration.bgid = kBufferGroup;
  const int registered = io_uring_register_buf_ring(&state->ring, &registration, 0);
  if (registered < 0) {
    why = std::string("io_uring provided buffers: ") + std::strerror(-registered);
    return nullptr;
  }
  io_uring_buf_ring_init(state->buffers);
  const int mask = io_uring_buf_ring_mask(count);
  for (unsigned i = 0; i < count; ++i) {
    io_uring_buf_ring_add(state->buffers, state->memory + std::size_t{i} * kBufferBytes,
                          kBufferBytes, static_cast<unsigned short>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(state->buffers, static_cast<int>(count));
  state->receiveShape.msg_namelen = sizeof(sockaddr_storage);
  state->sendSlots.resize(kSendSlots);
  return std::unique_ptr<IoRing>(new IoRing(std::move(state)));
}

IoRing::IoRing(std::unique_ptr<State> state) : state_(std::move(state)) {}

IoRing::~IoRing() = default;

void IoRing::arm(std::size_t index) {
  State::Watch& w = state_->watches[index];
  io_uring_sqe* entry = state_->sqe();
  if (w.readable) {
    io_uring_prep_poll_multishot(entry, w.fd, POLLIN);
    io_uring_sqe_set_data64(entry, userData(index, kReadable));
  } else {
    io_uring_prep_recvmsg_multishot(entry, w.fd, &state_->receiveShape, 0);
    entry->flags |= IOSQE_BUFFER_SELECT;
    entry->buf_group = kBufferGroup;
    io_uring_sqe_set_data64(entry, userData(index, kReceive));
  }
  w.armed = true;
}

bool IoRing::add(int fd, uint64_t tag, bool readable) {
  if (fd < 0 || state_->byFd.count(fd) != 0) {
    return false;
  }
  std::size_t index = 0;
  if (!state_->freeWatches.empty()) {
    index = state_->freeWatches.back();
    state_->freeWatches.pop_back();
  } else {
    index = state_->watches.size();
    state_->watches.emplace_back();
  }
  state_->watches[index] = State::Watch{fd, tag, true, false, readable};
  state_->byFd[fd] = index;
  arm(index);
  return io_uring_submit(&state_->ring) >= 0;
}

bool IoRing::watch(int fd, uint64_t tag) {
  return add(fd, tag, false);
}

bool IoRing::watchReadable(int fd, uint64_t tag) {
  return add(fd, tag, true);
}

void IoRing::unwatch(int fd) {
  auto found = state_->byFd.find(fd);
  if (found == state_->byFd.end()) {
    return;
  }
  const std::size_t index = found->second;
  state_->byFd.erase(found);
  State::Watch& w = state_->watches[index];
  w.active = false;
  if (w.armed) {
    io_uring_sqe* entry = state_->sqe();
    io_uring_prep_cancel64(entry, userData(index, w.readable ? kReadable : kReceive), 0);
    io_uring_sqe_set_data64(entry, userData(index, kCancel));
  }
  io_uring_submit(&state_->ring);
  // The cancelled request lets go of the socket when its completion is made, which with
  // DEFER_TASKRUN waits for this thread: make it now (the completions stay queued for wait()).
  io_uring_get_events(&state_->ring);
  if (!w.armed) {
    state_->freeWatches.push_back(index);
  }
}

void IoRing::complete(void* raw, Handler& handler, unsigned& recycled) {
  auto* cqe = static_cast<io_uring_cqe*>(raw);
  const uint64_t data = cqe->user_data;
  const uint64_t kind = data & 0xFF;
  const auto index = static_cast<std::size_t>(data >> 8);
  if (kind == kSend) {  // only failures complete (IOSQE_CQE_SKIP_SUCCESS)
    if (cqe->res < 0) {
      ++counters_.sendFailures;
      handler.onSendFailed(data >> 8, -cqe->res);
    }
    return;
  }
  if (kind == kCancel || index >= state_->watches.size()) {
    return;
  }
  const State::Watch w = state_->watches[index];  // a copy: the handler may grow the table
  const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  if (kind == kReadable) {
    if (w.active && cqe->res >= 0) {
      handler.onReadable(w.tag);
    }
  } else if ((cqe->flags & IORING_CQE_F_BUFFER) != 0) {
    const unsigned id = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    unsigned char* buffer = state_->memory + std::size_t{id} * kBufferBytes;
    if (!w.active) {
      ++counters_.dropped;
    } else if (auto* out = io_uring_recvmsg_validate(buffer, cqe->res, &state_->receiveShape)) {
      sockaddr_storage from{};
      std::memcpy(&from, io_uring_recvmsg_name(out),
                  std::min<std::size_t>(out->namelen, sizeof(from)));
      const auto length = static_cast<std::size_t>(
          io_uring_recvmsg_payload_length(out, cqe->res, &state_->receiveShape));
      auto* payload = static_cast<uint8_t*>(io_uring_recvmsg_payload(out, &state_->receiveShape));
      const std::size_t room =
          kBufferBytes - static_cast<std::size_t>(payload - reinterpret_cast<uint8_t*>(buffer));
      handler.onDatagram(w.tag, std::span<uint8_t>(payload, room), length, from,
                         (out->flags & MSG_TRUNC) != 0);
    }
    io_uring_buf_ring_add(state_->buffers, buffer, kBufferBytes, static_cast<unsigned short>(id),
                          io_uring_buf_ring_mask(state_->bufferCount),
                          static_cast<int>(recycled++));
  } else if (cqe->res < 0 && cqe->res != -ENOBUFS && cqe->res != -ECANCELED) {
    ++counters_.failures;
  }
  if (!more) {
    // The request is over: cancelled (its slot is free now), or ended by the kernel (out of
    // buffers, an error): armed again while the socket is still watched (as of now: the
    // handler may have unwatched it).
    State::Watch& now = state_->watches[index];
    now.armed = false;
    if (!now.active) {
      state_->freeWatches.push_back(index);
    } else {
      ++counters_.rearmed;
      arm(index);
    }
  }
}

bool IoRing::post(int fd,
                  const sockaddr_storage& to,
                  socklen_t toLength,
                  std::span<const uint8_t> data,
                  uint64_t tag) {
  if (data.size() > kSendBytes || toLength > sizeof(sockaddr_storage)) {
    ++counters_.refusedPosts;
    return false;
  }
  if (state_->sendsQueued == state_->sendSlots.size()) {
    flush();
    if (state_->sendsQueued != 0) {
      ++counters_.refusedPosts;
      return false;
    }
  }
  io_uring_sqe* entry = state_->sqe();  // (a full queue is submitted first: those sends are tried)
  if (entry == nullptr) {
    ++counters_.refusedPosts;
    return false;
  }
  State::SendSlot& slot = state_->sendSlots[state_->sendsQueued++];
  std::memcpy(slot.data.data(), data.data(), data.size());
  std::memcpy(&slot.to, &to, toLength);
  slot.vector.iov_base = slot.data.data();
  slot.vector.iov_len = data.size();
  slot.header = msghdr{};
  slot.header.msg_name = &slot.to;
  slot.header.msg_namelen = toLength;
  slot.header.msg_iov = &slot.vector;
  slot.header.msg_iovlen = 1;
  // MSG_DONTWAIT: tried once, now, never parked waiting for buffer space (see the header).
  io_uring_prep_sendmsg(entry, fd, &slot.header, MSG_DONTWAIT);
  entry->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data64(entry, (tag << 8) | kSend);
  return true;
}

void IoRing::flush() {
  if (state_->sendsQueued == 0) {
    return;
  }
  for (int tries = 0; tries < 4 && io_uring_sq_ready(&state_->ring) > 0; ++tries) {
    if (io_uring_submit(&state_->ring) < 0) {
      break;
    }
  }
  if (io_uring_sq_ready(&state_->ring) == 0) {
    counters_.sent += state_->sendsQueued;
    state_->sendsQueued = 0;
  }
  // else: the kernel took none now (out of memory); the slots stay taken and post() says no,
  // so the endpoints send for themselves until a later flush gets them through.
}

std::size_t IoRing::wait(std::chrono::nanoseconds timeout, Handler& handler) {
  io_uring_cqe* first = nullptr;
  if (timeout.count() > 0) {
    __kernel_timespec limit{};
    limit.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
    limit.tv_nsec = (timeout - std::chrono::seconds(limit.tv_sec)).count();
    io_uring_submit_and_wait_timeout(&state_->ring, &first, 1, &limit, nullptr);
  } else {
    io_uring_submit(&state_->ring);
    io_uring_get_events(&state_->ring);
  }
  std::size_t handled = 0;
  unsigned recycled = 0;
  // Completions are handled one at a time and the queue looked at again after each: a handler
  // may unwatch a socket (its later completions are then dropped) or arm one.
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(&state_->ring, &cqe) == 0 && cqe != nullptr) {
    complete(cqe, handler, recycled);
    io_uring_cqe_seen(&state_->ring, cqe);
    ++handled;
    if (recycled >= 64) {
      io_uring_buf_ring_advance(state_->buffers, static_cast<int>(recycled));
      recycled = 0;
    }
  }
  if (recycled > 0) {
    io_uring_buf_ring_advance(state_->buffers, static_cast<int>(recycled));
  }
  if (io_uring_sq_ready(&state_->ring) > 0) {
    io_uring_submit(&state_->ring);  // re-armed receives
  }
  return handled;
}

}  // namespace confab::mixer

#else  // built without liburing: the mixer threads use epoll

namespace confab::mixer {

struct IoRing::State {};

std::unique_ptr<IoRing> IoRing::create(std::size_t /*buffers*/, std::string& why) {
  why = "built without liburing";
  return nullptr;
}
IoRing::IoRing(std::unique_ptr<State> state) : state_(std::move(state)) {}
IoRing::~IoRing() = default;
bool IoRing::watch(int /*fd*/, uint64_t /*tag*/) {
  return false;
}
void IoRing::unwatch(int /*fd*/) {}
bool IoRing::watchReadable(int /*fd*/, uint64_t /*tag*/) {
  return false;
}
std::size_t IoRing::wait(std::chrono::nanoseconds /*timeout*/, Handler& /*handler*/) {
  return 0;
}
bool IoRing::add(int /*fd*/, uint64_t /*tag*/, bool /*readable*/) {
  return false;
}
void IoRing::arm(std::size_t /*watchIndex*/) {}
void IoRing::complete(void* /*cqe*/, Handler& /*handler*/, unsigned& /*recycled*/) {}
bool IoRing::post(int /*fd*/,
                  const sockaddr_storage& /*to*/,
                  socklen_t /*toLength*/,
                  std::span<const uint8_t> /*data*/,
                  uint64_t /*tag*/) {
  return false;
}
void IoRing::flush() {}

}  // namespace confab::mixer

#endif
