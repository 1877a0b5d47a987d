#include "broker/handlers/produce_validation.h"

#include "common/absl_compat.h"
#include "protocol/kafka/batch/record_reader.h"
#include "protocol/kafka/batch/validate.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;

ErrorCode BatchErrorCode(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kDataLoss: return ErrorCode::kCorruptMessage;
    case absl::StatusCode::kOutOfRange: return ErrorCode::kMessageTooLarge;
    case absl::StatusCode::kUnimplemented: return ErrorCode::kUnsupportedForMessageFormat;
    default: return ErrorCode::kInvalidRecord;
  }
}

constexpr std::string_view kKeylessRecord = "compacted topics accept only records with a key";

// Compaction keeps the latest record per key, so a keyless record has no place in a compacted
// topic (Kafka refuses it the same way). Names every keyless record, by its index in its batch,
// so the producer can tell them from the records that only shared their batch.
absl::Status FindKeylessRecords(std::string_view batches, const std::vector<kafka::RecordBatchHeader>& headers,
                                std::vector<RecordError>& keyless) {
  size_t position = 0;
  for (const auto& header : headers) {
    std::string_view batch = batches.substr(position, static_cast<size_t>(header.total_size()));
    position += batch.size();
    int32_t index = 0;
    absl::Status status = kafka::ForEachRecord(batch, [&](const kafka::RecordView& record) {
      if (!record.key) keyless.push_back({.batch_index = index, .message = std::string(kKeylessRecord)});
      ++index;
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace

ValidatedBatches ValidateProduceBatches(std::string_view batches, const Partition& partition) {
  auto headers = kafka::ValidateBatches(batches, partition.max_message_bytes());
  if (!headers.ok()) {
    return {.error = BatchErrorCode(headers.status()), .message = std::string(ToStd(headers.status().message()))};
  }
  for (const auto& header : *headers) {
    // Control batches (transaction markers) are written by the broker, never by producers.
    if (header.is_control()) return {.error = ErrorCode::kInvalidRecord, .message = "producers may not send control batches"};
  }
  if (partition.compacted()) {
    std::vector<RecordError> keyless;
    absl::Status read = FindKeylessRecords(batches, *headers, keyless);
    if (!read.ok()) return {.error = BatchErrorCode(read), .message = std::string(ToStd(read.message()))};
    if (!keyless.empty()) {
      return {.error = ErrorCode::kInvalidRecord, .message = std::string(kKeylessRecord), .record_errors = std::move(keyless)};
    }
  }
  if (headers->front().producer_id >= 0 && headers->size() != 1) {
    return {.error = ErrorCode::kInvalidRecord, .message = "an idempotent produce must carry exactly one batch per partition"};
  }
  // Only the group coordinator writes batches with a producer id and no sequence.
  if (headers->front().producer_id >= 0 && headers->front().base_sequence < 0) {
    return {.error = ErrorCode::kInvalidRecord, .message = "an idempotent batch needs a base sequence"};
  }
  return {.first = headers->front()};
}

}  // namespace sluice::broker
