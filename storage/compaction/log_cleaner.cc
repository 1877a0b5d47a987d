#include "storage/compaction/log_cleaner.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/absl_compat.h"
#include "common/status_macros.h"
#include "protocol/kafka/batch/control_record.h"
#include "protocol/kafka/batch/record_batch_builder.h"
#include "protocol/kafka/batch/record_reader.h"

namespace sluice::storage {
namespace {

using LatestOffsets = absl::flat_hash_map<std::string, int64_t>;

// A record copied out of its batch (RecordViews die with the callback).
struct KeptRecord {
  int32_t offset_delta;
  int64_t timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

std::optional<std::string> Copy(std::optional<std::string_view> bytes) {
  return bytes ? std::optional<std::string>(std::string(*bytes)) : std::nullopt;
}

std::optional<std::string_view> View(const std::optional<std::string>& bytes) {
  return bytes ? std::optional<std::string_view>(*bytes) : std::nullopt;
}

// Calls `fn` for each batch of `log` whose base offset is in [from, to).
absl::Status ForEachBatchIn(const PartitionLog& log, int64_t from, int64_t to,
                            const std::function<absl::Status(const kafka::RecordBatchHeader&, std::string_view)>& fn) {
  bool reached_end = false;
  absl::Status status = log.ForEachBatch(from, [&](const kafka::RecordBatchHeader& header, std::string_view bytes) {
    if (header.base_offset >= to) {
      reached_end = true;
      return absl::CancelledError("end of range");
    }
    if (header.base_offset < from) return absl::OkStatus();
    return fn(header, bytes);
  });
  return reached_end ? absl::OkStatus() : status;
}

// Each producer's aborted transactions as [first offset, marker offset] ranges.
class AbortedTransactions {
 public:
  // Scans the headers (and markers) from `from` to the log end: a marker may lie past the
  // cleanable range.
  static absl::StatusOr<AbortedTransactions> Find(const PartitionLog& log, int64_t from) {
    AbortedTransactions found;
    absl::flat_hash_map<int64_t, int64_t> open;  // producer id -> first offset of its transaction
    SLUICE_RETURN_IF_ERROR(log.ForEachBatchHeader(
        from, [&](const kafka::RecordBatchHeader& header, std::string_view control_batch) -> absl::Status {
          if (header.producer_id < 0 || !header.is_transactional()) return absl::OkStatus();
          if (!header.is_control()) {
            open.try_emplace(header.producer_id, header.base_offset);
            return absl::OkStatus();
          }
          auto marker = kafka::ParseTxnMarker(control_batch);
          if (!marker.ok()) {
            return marker.status().code() == absl::StatusCode::kUnimplemented ? absl::OkStatus() : marker.status();
          }
          auto it = open.find(header.producer_id);
          if (it == open.end()) return absl::OkStatus();
          if (!marker->commit()) found.ranges_[header.producer_id].emplace_back(it->second, header.base_offset);
          open.erase(it);
          return absl::OkStatus();
        }));
    return found;
  }

  bool Contains(const kafka::RecordBatchHeader& header) const {
    if (!header.is_transactional() || header.is_control()) return false;
    auto it = ranges_.find(header.producer_id);
    if (it == ranges_.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(), [&](const auto& range) {
      return range.first <= header.base_offset && header.base_offset <= range.second;
    });
  }

 private:
  absl::flat_hash_map<int64_t, std::vector<std::pair<int64_t, int64_t>>> ranges_;
};

absl::StatusOr<LatestOffsets> BuildOffsetMap(const PartitionLog& log, int64_t from, int64_t to,
                                             const AbortedTransactions& aborted) {
  LatestOffsets latest;
  SLUICE_RETURN_IF_ERROR(ForEachBatchIn(log, from, to, [&](const kafka::RecordBatchHeader& header, std::string_view bytes) {
    // An aborted record never happened: it must not shadow the committed record of its key.
    if (header.is_control() || aborted.Contains(header)) return absl::OkStatus();
    return kafka::ForEachRecord(bytes, [&](const kafka::RecordView& record) {
      if (record.key) latest[std::string(*record.key)] = record.offset;
      return absl::OkStatus();
    });
  }));
  return latest;
}

// The batch without its superseded records and expired tombstones: nullopt when every record
// survives, an empty string when none does.
absl::StatusOr<std::optional<std::string>> CompactBatch(const kafka::RecordBatchHeader& header, std::string_view bytes,
                                                        const LatestOffsets& latest, int64_t now_ms,
                                                        int64_t delete_retention_ms, int64_t& records_removed) {
  std::vector<KeptRecord> kept;
  int32_t total = 0;
  // The producer chose max_timestamp: compare without subtracting it, which could overflow.
  const bool tombstones_expired = header.max_timestamp < now_ms - delete_retention_ms;
  SLUICE_RETURN_IF_ERROR(kafka::ForEachRecord(bytes, [&](const kafka::RecordView& record) {
    ++total;
    if (record.key) {
      auto it = latest.find(ToAbsl(*record.key));
      bool superseded = it != latest.end() && it->second != record.offset;
      if (superseded || (!record.value && tombstones_expired)) return absl::OkStatus();
    }
    KeptRecord copy{record.offset_delta, record.timestamp, Copy(record.key), Copy(record.value), {}};
    for (const auto& h : record.headers) copy.headers.emplace_back(std::string(h.key), Copy(h.value));
    kept.push_back(std::move(copy));
    return absl::OkStatus();
  }));
  records_removed += total - static_cast<int32_t>(kept.size());
  if (static_cast<int32_t>(kept.size()) == total) return std::optional<std::string>();
  if (kept.empty()) return std::optional<std::string>(std::string());

  const bool log_append_time = header.timestamp_type() == kafka::TimestampType::kLogAppendTime;
  kafka::RecordBatchBuilder builder(kafka::RecordBatchBuilder::Options{
      .compression = header.compression(),
      .base_offset = header.base_offset,
      .partition_leader_epoch = header.partition_leader_epoch,
      .producer_id = header.producer_id,
      .producer_epoch = header.producer_epoch,
      .base_sequence = header.base_sequence,
      .transactional = header.is_transactional(),
      .control = false,
      .last_offset_delta = header.last_offset_delta,
      .log_append_time_ms = log_append_time ? std::optional<int64_t>(header.max_timestamp) : std::nullopt,
  });
  for (const KeptRecord& record : kept) {
    std::vector<kafka::RecordHeaderView> headers;
    for (const auto& [key, value] : record.headers) headers.push_back(kafka::RecordHeaderView{key, View(value)});
    builder.AddWithOffsetDelta(record.offset_delta, View(record.key), View(record.value), record.timestamp, headers);
  }
  SLUICE_ASSIGN_OR_RETURN(std::string rebuilt, builder.Build());
  return std::optional<std::string>(std::move(rebuilt));
}

// The closed segments ending at or below `max_offset`, oldest first.
std::vector<SegmentSummary> CleanableSegments(const PartitionLog& log, int64_t max_offset) {
  std::vector<SegmentSummary> segments = log.ClosedSegments();
  auto beyond = std::find_if(segments.begin(), segments.end(),
                             [&](const SegmentSummary& segment) { return segment.next_offset > max_offset; });
  segments.erase(beyond, segments.end());
  return segments;
}

}  // namespace

double DirtyRatio(const PartitionLog& log, int64_t max_offset) {
  const int64_t cleaned_through = log.cleaned_through_offset();
  int64_t total = 0;
  int64_t dirty = 0;
  for (const SegmentSummary& segment : CleanableSegments(log, max_offset)) {
    total += segment.size;
    if (segment.base_offset >= cleaned_through) dirty += segment.size;
  }
  return total == 0 ? 0.0 : static_cast<double>(dirty) / static_cast<double>(total);
}

absl::StatusOr<CleanResult> CleanLog(PartitionLog& log, int64_t now_ms, int64_t max_offset) {
  CleanResult result;
  const std::vector<SegmentSummary> segments = CleanableSegments(log, max_offset);
  if (segments.empty()) return result;
  const int64_t end = segments.back().next_offset;
  const int64_t delete_retention_ms = log.config().delete_retention_ms;
  SLUICE_ASSIGN_OR_RETURN(AbortedTransactions aborted, AbortedTransactions::Find(log, segments.front().base_offset));
  SLUICE_ASSIGN_OR_RETURN(LatestOffsets latest, BuildOffsetMap(log, segments.front().base_offset, end, aborted));

  for (const SegmentSummary& segment : segments) {
    result.bytes_before += segment.size;
    std::string cleaned;
    std::vector<kafka::RecordBatchHeader> headers;
    bool changed = false;
    SLUICE_RETURN_IF_ERROR(ForEachBatchIn(
        log, segment.base_offset, segment.next_offset,
        [&](const kafka::RecordBatchHeader& header, std::string_view bytes) -> absl::Status {
          std::optional<std::string> rebuilt;
          if (aborted.Contains(header)) {
            // No consumer may see it: the batch goes (its marker stays).
            rebuilt = std::string();
            result.records_removed += header.records_count;
          } else if (!header.is_control()) {
            SLUICE_ASSIGN_OR_RETURN(rebuilt, CompactBatch(header, bytes, latest, now_ms, delete_retention_ms,
                                                          result.records_removed));
          }
          if (!rebuilt) {
            cleaned.append(bytes);
            headers.push_back(header);
            return absl::OkStatus();
          }
          changed = true;
          if (rebuilt->empty()) return absl::OkStatus();
          SLUICE_ASSIGN_OR_RETURN(kafka::RecordBatchHeader rebuilt_header, kafka::ParseBatchHeader(*rebuilt));
          cleaned.append(*rebuilt);
          headers.push_back(rebuilt_header);
          return absl::OkStatus();
        }));
    if (!changed) {
      result.bytes_after += segment.size;
      continue;
    }
    absl::Status replaced = log.ReplaceSegment(segment.base_offset, segment.next_offset, cleaned, headers);
    // A segment removed meanwhile (retention) is simply skipped.
    if (replaced.code() == absl::StatusCode::kFailedPrecondition) continue;
    SLUICE_RETURN_IF_ERROR(replaced);
    result.bytes_after += static_cast<int64_t>(cleaned.size());
    if (cleaned.empty()) {
      ++result.segments_removed;
    } else {
      ++result.segments_rewritten;
    }
  }
  log.set_cleaned_through_offset(end);
  return result;
}

}  // namespace sluice::storage
