#pragma once
// A partition replica hosted by this broker: its log, the idempotent-producer state that must
// change atomically with appends, and the fetches waiting for new data.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "broker/txn/producer_state.h"
#include "protocol/kafka/error_codes.h"
#include "storage/log/partition_log.h"

namespace sluice::broker {

// Something (a long-polling fetch) to notify once when the partition's log grows.
class AppendWaiter {
 public:
  virtual ~AppendWaiter() = default;
  virtual void OnAppend() = 0;
};

struct AppendOutcome {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  std::string message;
  int64_t base_offset = -1;
  int64_t log_append_time_ms = -1;
};

class Partition {
 public:
  Partition(std::string topic, int32_t index, std::unique_ptr<storage::PartitionLog> log);

  // Rebuilds the idempotent-producer table from the batches in the log.
  absl::Status LoadProducerState();

  // Validates and appends the request's record batches (patched in place with their offsets).
  AppendOutcome Append(std::span<char> batches);

  // Registers a one-shot notification for the next append. Waiters are held weakly: one that
  // went away (its fetch answered) is simply skipped.
  void AddAppendWaiter(const std::shared_ptr<AppendWaiter>& waiter);

  // With one replica the high watermark is the log end; replication will track the ISR's.
  int64_t high_watermark() const { return log_->log_end_offset(); }
  int32_t leader_epoch() const { return leader_epoch_.load(std::memory_order_relaxed); }
  void set_leader_epoch(int32_t epoch) { leader_epoch_.store(epoch, std::memory_order_relaxed); }
  int32_t max_message_bytes() const { return max_message_bytes_.load(std::memory_order_relaxed); }
  void set_max_message_bytes(int32_t bytes) { max_message_bytes_.store(bytes, std::memory_order_relaxed); }
  // A compacted topic (cleanup.policy includes compact) refuses records without a key.
  bool compacted() const { return compacted_.load(std::memory_order_relaxed); }
  void set_compacted(bool compacted) { compacted_.store(compacted, std::memory_order_relaxed); }
  int32_t min_insync_replicas() const { return min_insync_replicas_.load(std::memory_order_relaxed); }
  void set_min_insync_replicas(int32_t count) { min_insync_replicas_.store(count, std::memory_order_relaxed); }

  const std::string& topic() const { return topic_; }
  int32_t index() const { return index_; }
  storage::PartitionLog& log() const { return *log_; }

 private:
  void WakeWaiters();

  const std::string topic_;
  const int32_t index_;
  const std::unique_ptr<storage::PartitionLog> log_;
  std::atomic<int32_t> max_message_bytes_{1048588};
  std::atomic<int32_t> min_insync_replicas_{1};
  std::atomic<bool> compacted_{false};
  std::atomic<int32_t> leader_epoch_{0};

  std::mutex append_mutex_;  // orders sequence checks with appends
  ProducerStateTable producers_;

  std::mutex waiters_mutex_;
  std::vector<std::weak_ptr<AppendWaiter>> waiters_;
};

}  // namespace sluice::broker
