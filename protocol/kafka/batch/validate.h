#pragma once
// Produce-path validation of record batch bytes, before the log assigns offsets.
//
// Status codes and the Kafka error the broker answers with:
//   kDataLoss        -> CORRUPT_MESSAGE (2): CRC mismatch, truncated or inconsistent lengths,
//                       unknown magic, unknown compression codec
//   kOutOfRange      -> MESSAGE_TOO_LARGE (10): a batch larger than max_batch_bytes
//   kInvalidArgument -> INVALID_RECORD (87): no batches, negative record count or offset delta,
//                       more records than the offset range holds
//   kUnimplemented   -> UNSUPPORTED_FOR_MESSAGE_FORMAT (43): magic 0 or 1 (v0/v1 message sets)

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/kafka/batch/record_batch_header.h"

namespace sluice::kafka {

// Checks that `data` is one or more complete v2 batches that exactly fill it, each with a valid
// CRC32C and at most `max_batch_bytes` bytes. Returns the parsed headers in order. Does not
// decode records.
absl::StatusOr<std::vector<RecordBatchHeader>> ValidateBatches(std::string_view data, int32_t max_batch_bytes);

}  // namespace sluice::kafka
