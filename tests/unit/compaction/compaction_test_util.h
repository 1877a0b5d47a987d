#pragma once
// Helpers shared by the compaction tests: producing keyed records and reading a log back record
// by record (temp directories come from the storage log tests).

#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/kafka/batch/record_batch_builder.h"
#include "protocol/kafka/batch/record_reader.h"
#include "storage/log/partition_log.h"
#include "tests/unit/storage_log/log_test_util.h"

namespace sluice::storage::testing {

struct TestRecord {
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt = tombstone
};

struct StoredRecord {
  int64_t offset;
  std::optional<std::string> key;
  std::optional<std::string> value;
  bool operator==(const StoredRecord&) const = default;
};

// Appends one batch holding `records`; returns its base offset.
inline int64_t Produce(PartitionLog& log, const std::vector<TestRecord>& records, int64_t timestamp_ms,
                       kafka::Compression compression = kafka::Compression::kNone) {
  kafka::RecordBatchBuilder builder(kafka::RecordBatchBuilder::Options{
      .compression = compression, .producer_id = 7, .producer_epoch = 1, .base_sequence = 0});
  for (const auto& record : records) {
    builder.Add(record.key ? std::optional<std::string_view>(*record.key) : std::nullopt,
                record.value ? std::optional<std::string_view>(*record.value) : std::nullopt, timestamp_ms);
  }
  auto batch = builder.Build();
  REQUIRE(batch.ok());
  auto appended = log.Append(std::span<char>(batch->data(), batch->size()), kNoLeaderEpoch);
  REQUIRE(appended.ok());
  return appended->base_offset;
}

inline std::vector<StoredRecord> ReadAll(const PartitionLog& log) {
  std::vector<StoredRecord> out;
  auto status = log.ForEachBatch(log.log_start_offset(), [&](const kafka::RecordBatchHeader&, std::string_view bytes) {
    return kafka::ForEachRecord(bytes, [&](const kafka::RecordView& record) {
      out.push_back(StoredRecord{record.offset,
                                 record.key ? std::optional<std::string>(std::string(*record.key)) : std::nullopt,
                                 record.value ? std::optional<std::string>(std::string(*record.value)) : std::nullopt});
      return absl::OkStatus();
    });
  });
  REQUIRE(status.ok());
  return out;
}

}  // namespace sluice::storage::testing
