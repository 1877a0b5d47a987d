#include "broker/cluster/partition.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/absl_compat.h"
#include "protocol/kafka/batch/record_reader.h"
#include "protocol/kafka/batch/validate.h"

namespace sluice::broker {
namespace {

kafka::ErrorCode BatchErrorCode(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kDataLoss: return kafka::ErrorCode::kCorruptMessage;
    case absl::StatusCode::kOutOfRange: return kafka::ErrorCode::kMessageTooLarge;
    case absl::StatusCode::kUnimplemented: return kafka::ErrorCode::kUnsupportedForMessageFormat;
    default: return kafka::ErrorCode::kInvalidRecord;
  }
}

// Compaction keeps the latest record per key, so a keyless record has no place in a compacted
// topic (Kafka refuses it the same way).
absl::Status CheckAllRecordsKeyed(std::string_view batches, const std::vector<kafka::RecordBatchHeader>& headers) {
  size_t position = 0;
  for (const auto& header : headers) {
    std::string_view batch = batches.substr(position, static_cast<size_t>(header.total_size()));
    position += batch.size();
    absl::Status status = kafka::ForEachRecord(batch, [](const kafka::RecordView& record) {
      if (!record.key) return absl::InvalidArgumentError("compacted topics accept only records with a key");
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace

Partition::Partition(std::string topic, int32_t index, std::unique_ptr<storage::PartitionLog> log)
    : topic_(std::move(topic)), index_(index), log_(std::move(log)) {}

absl::Status Partition::LoadProducerState() {
  std::lock_guard lock(append_mutex_);
  return log_->ForEachBatch(log_->log_start_offset(), [this](const kafka::RecordBatchHeader& header, std::string_view) {
    if (header.producer_id >= 0 && header.base_sequence >= 0) {
      producers_.Record(header.producer_id, header.producer_epoch,
                        {.first_sequence = header.base_sequence,
                         .last_sequence = header.base_sequence + header.last_offset_delta,
                         .base_offset = header.base_offset,
                         .log_append_time_ms = header.timestamp_type() == kafka::TimestampType::kLogAppendTime
                                                   ? header.max_timestamp
                                                   : -1});
    }
    return absl::OkStatus();
  });
}

AppendOutcome Partition::Append(std::span<char> batches) {
  // CRC and structure checks run before taking the lock: they are the expensive part.
  auto headers = kafka::ValidateBatches(std::string_view(batches.data(), batches.size()), max_message_bytes());
  if (!headers.ok()) {
    return {.error = BatchErrorCode(headers.status()), .message = std::string(ToStd(headers.status().message()))};
  }
  for (const auto& header : *headers) {
    // Control batches (transaction markers) are written by the broker, never by producers.
    if (header.is_control()) return {.error = kafka::ErrorCode::kInvalidRecord, .message = "producers may not send control batches"};
  }
  if (compacted()) {
    absl::Status keyed = CheckAllRecordsKeyed(std::string_view(batches.data(), batches.size()), *headers);
    if (!keyed.ok()) return {.error = kafka::ErrorCode::kInvalidRecord, .message = std::string(ToStd(keyed.message()))};
  }
  const kafka::RecordBatchHeader& first = headers->front();
  const bool idempotent = first.producer_id >= 0;
  if (idempotent && headers->size() != 1) {
    return {.error = kafka::ErrorCode::kInvalidRecord,
            .message = "an idempotent produce must carry exactly one batch per partition"};
  }
  AppendOutcome outcome;
  {
    std::lock_guard lock(append_mutex_);
    const int32_t last_sequence = first.base_sequence + first.last_offset_delta;
    if (idempotent) {
      SequenceCheck check = producers_.Check(first.producer_id, first.producer_epoch, first.base_sequence, last_sequence);
      if (check.error != kafka::ErrorCode::kNone) {
        return {.error = check.error,
                .message = fmt::format("producer {} epoch {} sequence {} rejected", first.producer_id,
                                       first.producer_epoch, first.base_sequence)};
      }
      if (check.duplicate_of != nullptr) {
        return {.base_offset = check.duplicate_of->base_offset,
                .log_append_time_ms = check.duplicate_of->log_append_time_ms};
      }
    }
    auto appended = log_->Append(batches, storage::kNoLeaderEpoch);
    if (!appended.ok()) {
      return {.error = kafka::ErrorCode::kKafkaStorageError, .message = std::string(ToStd(appended.status().message()))};
    }
    outcome.base_offset = appended->base_offset;
    outcome.log_append_time_ms = appended->log_append_time_ms;
    if (idempotent) {
      producers_.Record(first.producer_id, first.producer_epoch,
                        {.first_sequence = first.base_sequence,
                         .last_sequence = last_sequence,
                         .base_offset = appended->base_offset,
                         .log_append_time_ms = appended->log_append_time_ms});
    }
  }
  WakeWaiters();
  return outcome;
}

void Partition::AddAppendWaiter(const std::shared_ptr<AppendWaiter>& waiter) {
  std::lock_guard lock(waiters_mutex_);
  // Pruning here keeps an idle partition from collecting waiters of answered fetches.
  std::erase_if(waiters_, [](const std::weak_ptr<AppendWaiter>& w) { return w.expired(); });
  waiters_.push_back(waiter);
}

void Partition::WakeWaiters() {
  std::vector<std::weak_ptr<AppendWaiter>> waking;
  {
    std::lock_guard lock(waiters_mutex_);
    if (waiters_.empty()) return;
    waking.swap(waiters_);
  }
  for (auto& weak : waking) {
    if (auto waiter = weak.lock()) waiter->OnAppend();
  }
}

}  // namespace sluice::broker
