#pragma once
// DeleteRecords requests waiting for the partition's low watermark (the lowest log start offset
// over the leader and its live followers) to reach the offset they asked for, as Kafka's
// delete-records purgatory does. Owner shard only.

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "protocol/kafka/error_codes.h"

namespace sluice::broker {

class LogStartWaiters {
 public:
  // The error and the low watermark to answer with.
  using Done = std::function<void(kafka::ErrorCode, int64_t low_watermark)>;

  // `low_watermark` is answered with REQUEST_TIMED_OUT if the deadline (monotonic ms) passes first.
  void Add(int64_t required_offset, int64_t deadline_ms, int64_t low_watermark, Done done);
  // Answers NONE to every waiter that `low_watermark` reaches.
  void Complete(int64_t low_watermark);
  void Expire(int64_t now_ms);
  // Leadership lost: everyone gets `error` and low watermark -1.
  void FailAll(kafka::ErrorCode error);
  std::optional<int64_t> EarliestDeadline() const;
  bool empty() const { return waiters_.empty(); }

 private:
  struct Waiter {
    int64_t required_offset;
    int64_t deadline_ms;
    int64_t low_watermark;
    Done done;
  };
  std::vector<Waiter> waiters_;
};

}  // namespace sluice::broker
