#pragma once
// Counters that many threads bump without contending: each thread writes its own cache line
// (picked once per thread), and a reader sums them. Increments are relaxed atomics, never locks.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sluice::metrics {

inline constexpr size_t kSlots = 16;

// This thread's slot, assigned round-robin on first use.
size_t ThreadSlot();

class ShardedCount {
 public:
  void Add(uint64_t n) { slots_[ThreadSlot()].value.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Sum() const {
    uint64_t total = 0;
    for (const auto& slot : slots_) total += slot.value.load(std::memory_order_relaxed);
    return total;
  }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> value{0};
  };
  std::array<Slot, kSlots> slots_{};
};

}  // namespace sluice::metrics
