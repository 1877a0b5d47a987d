#pragma once
// acks=all appends (produce requests and group offset commits) waiting for the high watermark
// to pass their last offset. Owner shard only.

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>

#include "common/metrics/registry.h"
#include "protocol/kafka/error_codes.h"

namespace sluice::broker {

class AckWaiters {
 public:
  using Done = std::function<void(kafka::ErrorCode)>;

  // `required_offset`: the high watermark that covers the append (its last offset + 1).
  // Appends come in offset order, so waiters stay sorted by it.
  void Add(int64_t required_offset, int64_t deadline_ms, Done done);
  // Answers every waiter the high watermark covers: NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND
  // when the ISR is below min.insync.replicas by then (Kafka's rule).
  void Complete(int64_t high_watermark, bool enough_replicas);
  // REQUEST_TIMED_OUT for waiters whose deadline (monotonic ms) passed.
  void Expire(int64_t now_ms);
  void FailAll(kafka::ErrorCode error);
  std::optional<int64_t> EarliestDeadline() const;
  bool empty() const { return waiters_.empty(); }
  // Follows the number of waiters (the broker's produce purgatory size); none when unset.
  void set_size_gauge(metrics::Gauge* gauge) { size_gauge_ = gauge; }

 private:
  struct Waiter {
    int64_t required_offset;
    int64_t deadline_ms;
    Done done;
  };
  void Answered(size_t n) {
    if (size_gauge_ != nullptr && n > 0) size_gauge_->Add(-static_cast<int64_t>(n));
  }

  std::deque<Waiter> waiters_;
  metrics::Gauge* size_gauge_ = nullptr;
};

}  // namespace sluice::broker
