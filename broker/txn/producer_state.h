#pragma once
// Idempotent-producer state of one partition: for each producer id, its epoch and the last
// few batches' sequence ranges, so that a retried batch is answered with its original offset
// instead of being appended twice, and a gap in sequences is refused.

#include <cstdint>
#include <deque>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "protocol/kafka/batch/record_batch_header.h"
#include "protocol/kafka/error_codes.h"

namespace sluice::storage {
class PartitionLog;
}

namespace sluice::broker {

// The sequence of a batch's last record. Sequences wrap from INT32_MAX to 0, so the sum may not
// be taken in 32 bits.
int32_t LastSequence(int32_t base_sequence, int32_t last_offset_delta);

struct ProducerBatch {
  int32_t first_sequence = 0;
  int32_t last_sequence = 0;
  int64_t base_offset = 0;
  int64_t log_append_time_ms = -1;

  // The batch as the log holds it (its base offset assigned).
  static ProducerBatch From(const kafka::RecordBatchHeader& header, int64_t log_append_time_ms);
};

struct SequenceCheck {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  // Set when the batch is a retry of one already in the log: answer with this batch's result.
  const ProducerBatch* duplicate_of = nullptr;
};

class ProducerStateTable {
 public:
  // Kafka keeps the last five batches per producer: the most a client has in flight.
  static constexpr size_t kRetainedBatches = 5;

  SequenceCheck Check(int64_t producer_id, int16_t epoch, int32_t first_sequence, int32_t last_sequence) const;
  // Records an appended batch (also used when rebuilding the table from the log).
  void Record(int64_t producer_id, int16_t epoch, const ProducerBatch& batch);
  size_t size() const { return producers_.size(); }

 private:
  struct Producer {
    int16_t epoch = -1;
    std::deque<ProducerBatch> batches;
  };
  std::unordered_map<int64_t, Producer> producers_;
};

// Rebuilds a partition's table from the batch headers in its log (after opening or truncating
// it). Reads the disk: never on an I/O thread.
absl::StatusOr<ProducerStateTable> LoadProducerState(const storage::PartitionLog& log);

}  // namespace sluice::broker
