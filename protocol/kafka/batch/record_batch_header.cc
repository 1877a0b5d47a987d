#include "protocol/kafka/batch/record_batch_header.h"

#include "absl/strings/str_cat.h"
#include "protocol/kafka/batch/byte_order.h"
#include "protocol/kafka/batch/crc32c.h"

namespace sluice::kafka {

using batch_internal::LoadBigEndian;
using batch_internal::StoreBigEndian;
namespace L = batch_layout;

absl::StatusOr<RecordBatchHeader> ParseBatchHeader(std::string_view data) {
  if (data.size() > L::kMagic) {
    int8_t magic = static_cast<int8_t>(data[L::kMagic]);
    if (magic >= 0 && magic < L::kCurrentMagic) {
      return absl::UnimplementedError(absl::StrCat("message format magic ", magic, " is not supported (need 2)"));
    }
    if (magic != L::kCurrentMagic) return absl::DataLossError(absl::StrCat("unknown record batch magic ", magic));
  }
  if (data.size() < L::kHeaderSize) {
    return absl::DataLossError(absl::StrCat("truncated record batch header: ", data.size(), " bytes"));
  }
  const char* p = data.data();
  RecordBatchHeader h;
  h.base_offset = LoadBigEndian<int64_t>(p + L::kBaseOffset);
  h.batch_length = LoadBigEndian<int32_t>(p + L::kBatchLength);
  h.partition_leader_epoch = LoadBigEndian<int32_t>(p + L::kPartitionLeaderEpoch);
  h.magic = static_cast<int8_t>(p[L::kMagic]);
  h.crc = LoadBigEndian<uint32_t>(p + L::kCrc);
  h.attributes = LoadBigEndian<int16_t>(p + L::kAttributes);
  h.last_offset_delta = LoadBigEndian<int32_t>(p + L::kLastOffsetDelta);
  h.base_timestamp = LoadBigEndian<int64_t>(p + L::kBaseTimestamp);
  h.max_timestamp = LoadBigEndian<int64_t>(p + L::kMaxTimestamp);
  h.producer_id = LoadBigEndian<int64_t>(p + L::kProducerId);
  h.producer_epoch = LoadBigEndian<int16_t>(p + L::kProducerEpoch);
  h.base_sequence = LoadBigEndian<int32_t>(p + L::kBaseSequence);
  h.records_count = LoadBigEndian<int32_t>(p + L::kRecordsCount);
  if (h.batch_length < static_cast<int32_t>(L::kHeaderSize - L::kLogOverhead)) {
    return absl::DataLossError(absl::StrCat("record batch length ", h.batch_length, " is smaller than its header"));
  }
  return h;
}

void SetBaseOffset(char* batch, int64_t base_offset) { StoreBigEndian<int64_t>(batch + L::kBaseOffset, base_offset); }

uint32_t ComputeBatchCrc(const char* batch, size_t size) {
  return Crc32cExtend(0, batch + L::kAttributes, size - L::kAttributes);
}

void StampLogAppendTime(char* batch, int64_t timestamp_ms) {
  int16_t attributes = LoadBigEndian<int16_t>(batch + L::kAttributes);
  StoreBigEndian<int16_t>(batch + L::kAttributes, static_cast<int16_t>(attributes | L::kTimestampTypeBit));
  StoreBigEndian<int64_t>(batch + L::kMaxTimestamp, timestamp_ms);
  size_t size = static_cast<size_t>(LoadBigEndian<int32_t>(batch + L::kBatchLength)) + L::kLogOverhead;
  StoreBigEndian<uint32_t>(batch + L::kCrc, ComputeBatchCrc(batch, size));
}

}  // namespace sluice::kafka
