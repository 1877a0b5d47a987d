#pragma once
// Record batch v2 (magic 2) header: the fixed 61 bytes in front of the records.
//
//   0 base_offset int64 | 8 batch_length int32 | 12 partition_leader_epoch int32 | 16 magic int8
//  17 crc uint32 (CRC32C of bytes 21..end) | 21 attributes int16 | 23 last_offset_delta int32
//  27 base_timestamp int64 | 35 max_timestamp int64 | 43 producer_id int64
//  51 producer_epoch int16 | 53 base_sequence int32 | 57 records_count int32 | 61 records...
//
// batch_length counts the bytes after the batch_length field, so a batch occupies
// batch_length + 12 bytes. Only base_offset and partition_leader_epoch lie outside the CRC.

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace sluice::kafka {

enum class Compression : uint8_t { kNone = 0, kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4 };
enum class TimestampType : uint8_t { kCreateTime = 0, kLogAppendTime = 1 };

namespace batch_layout {
inline constexpr size_t kBaseOffset = 0;
inline constexpr size_t kBatchLength = 8;
inline constexpr size_t kPartitionLeaderEpoch = 12;
inline constexpr size_t kMagic = 16;
inline constexpr size_t kCrc = 17;
inline constexpr size_t kAttributes = 21;
inline constexpr size_t kLastOffsetDelta = 23;
inline constexpr size_t kBaseTimestamp = 27;
inline constexpr size_t kMaxTimestamp = 35;
inline constexpr size_t kProducerId = 43;
inline constexpr size_t kProducerEpoch = 51;
inline constexpr size_t kBaseSequence = 53;
inline constexpr size_t kRecordsCount = 57;
inline constexpr size_t kHeaderSize = 61;
inline constexpr size_t kLogOverhead = 12;  // base_offset + batch_length precede the counted bytes
inline constexpr int8_t kCurrentMagic = 2;

inline constexpr int16_t kCompressionMask = 0x07;
inline constexpr int16_t kTimestampTypeBit = 0x08;
inline constexpr int16_t kTransactionalBit = 0x10;
inline constexpr int16_t kControlBit = 0x20;
}  // namespace batch_layout

// A base plus a delta read from a batch, in the two's-complement wrapping arithmetic of Kafka's
// Java longs: hostile values must not overflow (undefined behaviour for C++ signed integers).
constexpr int64_t WrappingAdd(int64_t base, int64_t delta) {
  return static_cast<int64_t>(static_cast<uint64_t>(base) + static_cast<uint64_t>(delta));
}
constexpr int64_t WrappingSubtract(int64_t value, int64_t base) {
  return static_cast<int64_t>(static_cast<uint64_t>(value) - static_cast<uint64_t>(base));
}

struct RecordBatchHeader {
  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = -1;
  int8_t magic = batch_layout::kCurrentMagic;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = -1;
  int64_t max_timestamp = -1;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t records_count = 0;

  // The raw codec bits; values above 4 are unknown codecs (Decompress rejects them).
  Compression compression() const {
    return static_cast<Compression>(attributes & batch_layout::kCompressionMask);
  }
  TimestampType timestamp_type() const {
    return (attributes & batch_layout::kTimestampTypeBit) ? TimestampType::kLogAppendTime : TimestampType::kCreateTime;
  }
  bool is_transactional() const { return (attributes & batch_layout::kTransactionalBit) != 0; }
  bool is_control() const { return (attributes & batch_layout::kControlBit) != 0; }
  int64_t total_size() const { return static_cast<int64_t>(batch_length) + batch_layout::kLogOverhead; }
  int64_t last_offset() const { return base_offset + last_offset_delta; }
};

// Decodes the fixed header from the start of `data` (at least 61 bytes). Checks the magic and
// that batch_length covers the header, not the CRC nor that the batch fits in `data`.
// Errors: kDataLoss (truncated, batch_length too small, unknown magic), kUnimplemented (magic 0/1).
absl::StatusOr<RecordBatchHeader> ParseBatchHeader(std::string_view data);

// Patches base_offset in place (outside the CRC, so the CRC stays valid).
void SetBaseOffset(char* batch, int64_t base_offset);

// Marks the batch as LogAppendTime with max_timestamp = `timestamp_ms` and recomputes the CRC.
// `batch` must be a batch that passed ValidateBatches (its batch_length is trusted).
void StampLogAppendTime(char* batch, int64_t timestamp_ms);

// CRC32C over the CRC-covered range of a complete batch of `size` bytes.
uint32_t ComputeBatchCrc(const char* batch, size_t size);

}  // namespace sluice::kafka
