#pragma once
// Decoding the records inside a v2 batch (after decompressing them when needed). Used off the
// produce/fetch hot path: coordinators replaying internal topics, tests, tools.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace sluice::kafka {

struct RecordHeaderView {
  std::string_view key;
  std::optional<std::string_view> value;  // nullopt = null
};

// Views into the batch (or its decompressed copy); valid only during the callback.
struct RecordView {
  int64_t offset = 0;     // base_offset + offset_delta
  int64_t timestamp = 0;  // base_timestamp + timestamp_delta, or max_timestamp for LogAppendTime
  int32_t offset_delta = 0;
  int64_t timestamp_delta = 0;
  std::optional<std::string_view> key;    // nullopt = null
  std::optional<std::string_view> value;  // nullopt = null (a tombstone)
  std::vector<RecordHeaderView> headers;
};

using RecordCallback = std::function<absl::Status(const RecordView&)>;

inline constexpr size_t kDefaultMaxDecompressedBytes = 64 * 1024 * 1024;

// Calls `callback` for each record of the single complete batch `batch`, in order; stops at the
// first non-OK status from the callback and returns it. Errors: kDataLoss for malformed records
// or compressed data, kOutOfRange when decompressed records exceed `max_decompressed_bytes`,
// plus ParseBatchHeader's errors. Does not check the CRC (ValidateBatches does).
absl::Status ForEachRecord(std::string_view batch, const RecordCallback& callback,
                           size_t max_decompressed_bytes = kDefaultMaxDecompressedBytes);

}  // namespace sluice::kafka
