#pragma once
// Builds one v2 record batch from records: for tests, tools and the broker's internal topics.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "protocol/kafka/batch/record_batch_header.h"
#include "protocol/kafka/batch/record_reader.h"

namespace sluice::kafka {

class RecordBatchBuilder {
 public:
  struct Options {
    Compression compression = Compression::kNone;
    int64_t base_offset = 0;
    int32_t partition_leader_epoch = -1;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t base_sequence = -1;
    bool transactional = false;
    bool control = false;
    // Rewriting a batch (the log cleaner) keeps its original offsets: when set, the batch
    // declares this last offset delta instead of record_count - 1.
    std::optional<int32_t> last_offset_delta;
    // When set, the batch is stamped LogAppendTime with this max timestamp.
    std::optional<int64_t> log_append_time_ms;
  };

  RecordBatchBuilder() : RecordBatchBuilder(Options{}) {}
  explicit RecordBatchBuilder(Options options) : options_(options) {}

  // Appends a record with the next offset delta. The first record's timestamp becomes the
  // batch's base timestamp.
  void Add(std::optional<std::string_view> key, std::optional<std::string_view> value, int64_t timestamp_ms,
           std::span<const RecordHeaderView> headers = {});

  // Appends a record with an explicit offset delta (strictly above the previous record's), so a
  // rewritten batch may leave gaps where records were removed.
  void AddWithOffsetDelta(int32_t offset_delta, std::optional<std::string_view> key,
                          std::optional<std::string_view> value, int64_t timestamp_ms,
                          std::span<const RecordHeaderView> headers = {});

  int32_t record_count() const { return record_count_; }

  // The encoded batch (CRC set). Errors: kInvalidArgument when empty, compression failures.
  absl::StatusOr<std::string> Build() const;

 private:
  Options options_;
  std::string records_;  // encoded, uncompressed
  int32_t record_count_ = 0;
  int32_t next_offset_delta_ = 0;
  int64_t base_timestamp_ = -1;
  int64_t max_timestamp_ = -1;
};

}  // namespace sluice::kafka
