// Record batches v2 as the produce path validates them (ValidateBatches) and as the log cleaner
// and the group coordinator read them (ForEachRecord, decompressing with the batch's codec).
// Input: one flags byte, then batch bytes; flag bit 0 recomputes each framed batch's CRC first, so
// that mutations get past the CRC check to the checks behind it. Property (the log cleaner's
// rewrite, storage/compaction/log_cleaner.cc): the records of a valid batch rebuilt with
// RecordBatchBuilder give a valid batch that reads back as the same records.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/kafka/batch/record_batch_builder.h"
#include "protocol/kafka/batch/record_reader.h"
#include "protocol/kafka/batch/validate.h"
#include "tests/fuzz/fix_batch_crcs.h"
#include "tests/fuzz/fuzz_check.h"

namespace sluice::kafka {
namespace {

// Smaller than the broker's 64 MiB so that decompression bombs stay fast to run.
constexpr size_t kMaxDecompressedBytes = 4 << 20;

struct Record {
  int32_t offset_delta;
  int64_t timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  bool operator==(const Record&) const = default;
};

std::optional<std::string> Copy(std::optional<std::string_view> bytes) {
  return bytes ? std::optional<std::string>(*bytes) : std::nullopt;
}
std::optional<std::string_view> View(const std::optional<std::string>& bytes) {
  return bytes ? std::optional<std::string_view>(*bytes) : std::nullopt;
}

absl::StatusOr<std::vector<Record>> ReadRecords(std::string_view batch) {
  std::vector<Record> records;
  absl::Status status = ForEachRecord(batch, [&](const RecordView& view) {
    Record record{view.offset_delta, view.timestamp, Copy(view.key), Copy(view.value), {}};
    for (const RecordHeaderView& header : view.headers) record.headers.emplace_back(header.key, Copy(header.value));
    records.push_back(std::move(record));
    return absl::OkStatus();
  }, kMaxDecompressedBytes);
  if (!status.ok()) return status;
  return records;
}

// What CompactBatch does with the records it keeps (here all of them).
absl::StatusOr<std::string> Rebuild(const RecordBatchHeader& header, const std::vector<Record>& records) {
  const bool log_append_time = header.timestamp_type() == TimestampType::kLogAppendTime;
  RecordBatchBuilder builder(RecordBatchBuilder::Options{
      .compression = header.compression(),
      .base_offset = header.base_offset,
      .partition_leader_epoch = header.partition_leader_epoch,
      .producer_id = header.producer_id,
      .producer_epoch = header.producer_epoch,
      .base_sequence = header.base_sequence,
      .transactional = header.is_transactional(),
      .last_offset_delta = header.last_offset_delta,
      .log_append_time_ms = log_append_time ? std::optional<int64_t>(header.max_timestamp) : std::nullopt,
  });
  for (const Record& record : records) {
    std::vector<RecordHeaderView> headers;
    for (const auto& [key, value] : record.headers) headers.push_back(RecordHeaderView{key, View(value)});
    builder.AddWithOffsetDelta(record.offset_delta, View(record.key), View(record.value), record.timestamp, headers);
  }
  return builder.Build();
}

}  // namespace
}  // namespace sluice::kafka

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::kafka;
  if (size < 1) return 0;
  std::string batches(sluice::fuzz::AsBytes(data + 1, size - 1));
  if (data[0] & 1) sluice::fuzz::FixBatchCrcs(batches);
  auto headers = ValidateBatches(batches, INT32_MAX);
  if (!headers.ok()) {
    // Readers of the log meet batches the produce path never validated (a damaged segment).
    ReadRecords(batches).IgnoreError();
    return 0;
  }
  size_t position = 0;
  for (const RecordBatchHeader& header : *headers) {
    const std::string_view batch = std::string_view(batches).substr(position, static_cast<size_t>(header.total_size()));
    position += batch.size();
    auto records = ReadRecords(batch);
    if (!records.ok() || records->empty()) continue;
    auto rebuilt = Rebuild(header, *records);
    if (!rebuilt.ok()) continue;  // e.g. a record's offset delta beyond the batch's last one
    SLUICE_FUZZ_CHECK(ValidateBatches(*rebuilt, INT32_MAX).ok());
    auto reread = ReadRecords(*rebuilt);
    SLUICE_FUZZ_CHECK(reread.ok() && *reread == *records);
  }
  SLUICE_FUZZ_CHECK(position == batches.size());
  return 0;
}
