#include "protocol/kafka/batch/record_batch_builder.h"

#include <algorithm>

#include "protocol/kafka/batch/byte_order.h"
#include "protocol/kafka/batch/compression.h"
#include "protocol/kafka/batch/varint.h"

namespace sluice::kafka {
namespace {

using batch_internal::AppendVarint;
using batch_internal::AppendVarlong;
using batch_internal::StoreBigEndian;
namespace L = batch_layout;

void AppendNullable(std::string& out, std::optional<std::string_view> bytes) {
  if (!bytes) {
    AppendVarint(out, -1);
    return;
  }
  AppendVarint(out, static_cast<int32_t>(bytes->size()));
  out.append(*bytes);
}

}  // namespace

void RecordBatchBuilder::Add(std::optional<std::string_view> key, std::optional<std::string_view> value,
                             int64_t timestamp_ms, std::span<const RecordHeaderView> headers) {
  AddWithOffsetDelta(next_offset_delta_, key, value, timestamp_ms, headers);
}

void RecordBatchBuilder::AddWithOffsetDelta(int32_t offset_delta, std::optional<std::string_view> key,
                                            std::optional<std::string_view> value, int64_t timestamp_ms,
                                            std::span<const RecordHeaderView> headers) {
  if (record_count_ == 0) base_timestamp_ = timestamp_ms;
  max_timestamp_ = record_count_ == 0 ? timestamp_ms : std::max(max_timestamp_, timestamp_ms);

  std::string body;
  body.push_back(0);  // record attributes
  // Wrapping, as the reader adds it back: records read from a damaged batch are rewritten as read.
  AppendVarlong(body, WrappingSubtract(timestamp_ms, base_timestamp_));
  AppendVarint(body, offset_delta);
  AppendNullable(body, key);
  AppendNullable(body, value);
  AppendVarint(body, static_cast<int32_t>(headers.size()));
  for (const auto& header : headers) {
    AppendNullable(body, header.key);
    AppendNullable(body, header.value);
  }
  AppendVarint(records_, static_cast<int32_t>(body.size()));
  records_.append(body);
  ++record_count_;
  next_offset_delta_ = offset_delta + 1;
}

absl::StatusOr<std::string> RecordBatchBuilder::Build() const {
  if (record_count_ == 0) return absl::InvalidArgumentError("a record batch needs at least one record");
  std::string compressed_storage;
  std::string_view payload = records_;
  if (options_.compression != Compression::kNone) {
    auto compressed = Compress(options_.compression, records_);
    if (!compressed.ok()) return compressed.status();
    compressed_storage = std::move(*compressed);
    payload = compressed_storage;
  }
  int16_t attributes = static_cast<int16_t>(options_.compression);
  if (options_.transactional) attributes |= L::kTransactionalBit;
  if (options_.control) attributes |= L::kControlBit;
  if (options_.log_append_time_ms) attributes |= L::kTimestampTypeBit;
  const int32_t last_offset_delta = options_.last_offset_delta.value_or(next_offset_delta_ - 1);
  if (last_offset_delta < next_offset_delta_ - 1) {
    return absl::InvalidArgumentError("last offset delta is below the last record's offset delta");
  }

  std::string batch(L::kHeaderSize + payload.size(), '\0');
  char* p = batch.data();
  StoreBigEndian<int64_t>(p + L::kBaseOffset, options_.base_offset);
  StoreBigEndian<int32_t>(p + L::kBatchLength, static_cast<int32_t>(batch.size() - L::kLogOverhead));
  StoreBigEndian<int32_t>(p + L::kPartitionLeaderEpoch, options_.partition_leader_epoch);
  p[L::kMagic] = L::kCurrentMagic;
  StoreBigEndian<int16_t>(p + L::kAttributes, attributes);
  StoreBigEndian<int32_t>(p + L::kLastOffsetDelta, last_offset_delta);
  StoreBigEndian<int64_t>(p + L::kBaseTimestamp, base_timestamp_);
  StoreBigEndian<int64_t>(p + L::kMaxTimestamp, options_.log_append_time_ms.value_or(max_timestamp_));
  StoreBigEndian<int64_t>(p + L::kProducerId, options_.producer_id);
  StoreBigEndian<int16_t>(p + L::kProducerEpoch, options_.producer_epoch);
  StoreBigEndian<int32_t>(p + L::kBaseSequence, options_.base_sequence);
  StoreBigEndian<int32_t>(p + L::kRecordsCount, record_count_);
  std::copy(payload.begin(), payload.end(), p + L::kHeaderSize);
  StoreBigEndian<uint32_t>(p + L::kCrc, ComputeBatchCrc(p, batch.size()));
  return batch;
}

}  // namespace sluice::kafka
