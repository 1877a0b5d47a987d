#include "broker/txn/producer_state.h"

#include <limits>

#include "storage/log/partition_log.h"

namespace sluice::broker {
namespace {
// Sequences wrap from INT32_MAX to 0.
int32_t NextSequence(int32_t sequence) {
  return sequence == std::numeric_limits<int32_t>::max() ? 0 : sequence + 1;
}
}  // namespace

int32_t LastSequence(int32_t base_sequence, int32_t last_offset_delta) {
  const int64_t last = static_cast<int64_t>(base_sequence) + last_offset_delta;
  return static_cast<int32_t>(last > std::numeric_limits<int32_t>::max()
                                  ? last - std::numeric_limits<int32_t>::max() - 1
                                  : last);
}

ProducerBatch ProducerBatch::From(const kafka::RecordBatchHeader& header, int64_t log_append_time_ms) {
  return ProducerBatch{.first_sequence = header.base_sequence,
                       .last_sequence = LastSequence(header.base_sequence, header.last_offset_delta),
                       .base_offset = header.base_offset,
                       .log_append_time_ms = log_append_time_ms};
}

SequenceCheck ProducerStateTable::Check(int64_t producer_id, int16_t epoch, int32_t first_sequence,
                                        int32_t last_sequence) const {
  auto it = producers_.find(producer_id);
  // An unknown producer (new, or its state aged out with the log) may start at any sequence.
  if (it == producers_.end()) return {};
  const Producer& producer = it->second;
  if (epoch < producer.epoch) return {.error = kafka::ErrorCode::kInvalidProducerEpoch};
  if (epoch > producer.epoch) {
    if (first_sequence != 0) return {.error = kafka::ErrorCode::kOutOfOrderSequenceNumber};
    return {};
  }
  for (const auto& batch : producer.batches) {
    if (batch.first_sequence == first_sequence && batch.last_sequence == last_sequence) {
      return {.duplicate_of = &batch};
    }
  }
  if (!producer.batches.empty() && first_sequence != NextSequence(producer.batches.back().last_sequence)) {
    return {.error = kafka::ErrorCode::kOutOfOrderSequenceNumber};
  }
  return {};
}

void ProducerStateTable::Record(int64_t producer_id, int16_t epoch, const ProducerBatch& batch) {
  Producer& producer = producers_[producer_id];
  if (epoch != producer.epoch) {
    producer.epoch = epoch;
    producer.batches.clear();
  }
  producer.batches.push_back(batch);
  if (producer.batches.size() > kRetainedBatches) producer.batches.pop_front();
}

absl::StatusOr<ProducerStateTable> LoadProducerState(const storage::PartitionLog& log) {
  ProducerStateTable table;
  absl::Status status = log.ForEachBatchHeader(log.log_start_offset(), [&](const kafka::RecordBatchHeader& header) {
    if (header.producer_id >= 0 && header.base_sequence >= 0 && !header.is_control()) {
      const bool append_time = header.timestamp_type() == kafka::TimestampType::kLogAppendTime;
      table.Record(header.producer_id, header.producer_epoch,
                   ProducerBatch::From(header, append_time ? header.max_timestamp : -1));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return table;
}

}  // namespace sluice::broker
