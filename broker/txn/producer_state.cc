#include "broker/txn/producer_state.h"

#include <algorithm>
#include <limits>

#include "storage/log/partition_log.h"

namespace sluice::broker {
namespace {
// Sequences wrap from INT32_MAX to 0.
int32_t NextSequence(int32_t sequence) {
  return sequence == std::numeric_limits<int32_t>::max() ? 0 : sequence + 1;
}
}  // namespace

absl::Status ApplyLoggedBatch(ProducerStateTable& table, const kafka::RecordBatchHeader& header,
                              std::string_view control_batch) {
  const int64_t append_time = header.timestamp_type() == kafka::TimestampType::kLogAppendTime ? header.max_timestamp : -1;
  if (!header.is_control()) {
    table.Apply(header, append_time, nullptr);
    return absl::OkStatus();
  }
  auto marker = kafka::ParseTxnMarker(control_batch);
  if (marker.ok()) {
    table.Apply(header, append_time, &*marker);
    return absl::OkStatus();
  }
  // Control records that are not transaction markers say nothing about producers.
  if (marker.status().code() == absl::StatusCode::kUnimplemented) return absl::OkStatus();
  return marker.status();
}

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
  // A batch without sequence (the group coordinator's TxnOffsetCommit records) is fenced by
  // epoch only: the producer's sequences count its own batches.
  if (first_sequence < 0) return {};
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

void ProducerStateTable::Apply(const kafka::RecordBatchHeader& header, int64_t log_append_time_ms,
                               const kafka::TxnMarker* marker) {
  if (header.producer_id < 0) return;
  Producer& producer = producers_[header.producer_id];
  if (header.producer_epoch != producer.epoch) {
    // A new epoch fences the old one: its sequences start over.
    producer.epoch = header.producer_epoch;
    producer.batches.clear();
  }
  producer.last_timestamp = log_append_time_ms >= 0 ? log_append_time_ms : header.max_timestamp;
  if (marker != nullptr) {
    producer.coordinator_epoch = marker->coordinator_epoch;
    producer.last_marker_offset = header.base_offset;
    if (producer.txn_first_offset >= 0) {
      ongoing_.erase(producer.txn_first_offset);
      completing_[producer.txn_first_offset] = header.base_offset;
      if (!marker->commit()) {
        aborted_.push_back({.producer_id = header.producer_id,
                            .first_offset = producer.txn_first_offset,
                            .last_offset = header.base_offset});
      }
      producer.txn_first_offset = -1;
    }
    return;
  }
  if (header.base_sequence >= 0) Record(header.producer_id, header.producer_epoch, ProducerBatch::From(header, log_append_time_ms));
  if (header.is_transactional() && producer.txn_first_offset < 0) {
    producer.txn_first_offset = header.base_offset;
    ongoing_[header.base_offset] = header.producer_id;
  }
}

size_t ProducerStateTable::ExpireIdle(int64_t now_ms, int64_t expiration_ms,
                                      const std::function<bool(int64_t)>& keep) {
  return std::erase_if(producers_, [&](const auto& entry) {
    const Producer& producer = entry.second;
    return producer.txn_first_offset < 0 && producer.last_timestamp + expiration_ms <= now_ms && !keep(entry.first);
  });
}

kafka::ErrorCode ProducerStateTable::CheckMarker(int64_t producer_id, int16_t epoch, int32_t coordinator_epoch) const {
  auto it = producers_.find(producer_id);
  if (it == producers_.end()) return kafka::ErrorCode::kNone;
  if (epoch < it->second.epoch) return kafka::ErrorCode::kInvalidProducerEpoch;
  if (coordinator_epoch < it->second.coordinator_epoch) return kafka::ErrorCode::kTransactionCoordinatorFenced;
  return kafka::ErrorCode::kNone;
}

int64_t ProducerStateTable::OngoingTxnStart(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? -1 : it->second.txn_first_offset;
}

int64_t ProducerStateTable::LastMarkerOffset(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? -1 : it->second.last_marker_offset;
}

std::optional<int64_t> ProducerStateTable::FirstUnstableOffset(int64_t high_watermark) {
  std::erase_if(completing_, [&](const auto& entry) { return entry.second < high_watermark; });
  std::optional<int64_t> first;
  if (!ongoing_.empty()) first = ongoing_.begin()->first;
  if (!completing_.empty() && (!first || completing_.begin()->first < *first)) first = completing_.begin()->first;
  return first;
}

std::vector<AbortedTxn> ProducerStateTable::AbortedOverlapping(int64_t from, int64_t to) const {
  std::vector<AbortedTxn> overlapping;
  // Sorted by last offset: skip those that ended before `from`; first offsets are not sorted.
  auto it = std::lower_bound(aborted_.begin(), aborted_.end(), from,
                             [](const AbortedTxn& txn, int64_t offset) { return txn.last_offset < offset; });
  for (; it != aborted_.end(); ++it) {
    if (it->first_offset < to) overlapping.push_back(*it);
  }
  return overlapping;
}

void ProducerStateTable::RemoveAbortedBelow(int64_t log_start_offset) {
  while (!aborted_.empty() && aborted_.front().last_offset < log_start_offset) aborted_.pop_front();
}

std::vector<ProducerSummary> ProducerStateTable::Summaries() const {
  std::vector<ProducerSummary> summaries;
  summaries.reserve(producers_.size());
  for (const auto& [id, producer] : producers_) {
    summaries.push_back({.producer_id = id,
                         .epoch = producer.epoch,
                         .last_sequence = producer.batches.empty() ? -1 : producer.batches.back().last_sequence,
                         .last_timestamp = producer.last_timestamp,
                         .coordinator_epoch = producer.coordinator_epoch,
                         .txn_start_offset = producer.txn_first_offset});
  }
  std::sort(summaries.begin(), summaries.end(),
            [](const ProducerSummary& a, const ProducerSummary& b) { return a.producer_id < b.producer_id; });
  return summaries;
}

absl::StatusOr<ProducerStateTable> LoadProducerState(const storage::PartitionLog& log) {
  ProducerStateTable table;
  absl::Status status = log.ForEachBatchHeader(
      log.log_start_offset(), [&](const kafka::RecordBatchHeader& header, std::string_view control_batch) {
        return ApplyLoggedBatch(table, header, control_batch);
      });
  if (!status.ok()) return status;
  return table;
}

}  // namespace sluice::broker
