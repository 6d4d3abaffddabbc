// A bounded single-producer single-consumer queue: where the signalling thread and a mixer thread
// meet. Neither side ever waits for the other or takes a lock.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <optional>
#include <utility>

namespace confab::mixer {

template <class T, std::size_t Capacity>
class SpscQueue {
  static_assert((Capacity & (Capacity - 1)) == 0, "capacity is a power of two");

 public:
  // Producer side. False when full (the item is left untouched).
  bool push(T& item) {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) == Capacity) {
      return false;
    }
    slots_[head & (Capacity - 1)] = std::move(item);
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer side.
  std::optional<T> pop() {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_.load(std::memory_order_acquire)) {
      return std::nullopt;
    }
    std::optional<T> item(std::move(slots_[tail & (Capacity - 1)]));
    tail_.store(tail + 1, std::memory_order_release);
    return item;
  }

 private:
  std::array<T, Capacity> slots_{};
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
};

}  // namespace confab::mixer
