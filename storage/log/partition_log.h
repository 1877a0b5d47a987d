#pragma once
// The log of one partition replica: a directory of segments plus checkpoints.
//
// Directory contents:
//   <20-digit base offset>.log / .index / .timeindex   segments (see segment.h, sparse_index.h)
//   log-start-offset.checkpoint, recovery-point.checkpoint   (see checkpoint.h)
//   leader-epoch-checkpoint   the leader-epoch cache (leader_epoch_cache.h), Kafka's format
//   high-watermark.checkpoint   the last high watermark given to CheckpointHighWatermark
//   clean-shutdown   written by Close, removed by Open; without it Open re-validates every
//                    batch from the recovery point and truncates at the first torn one.
//   <base>.log|.index|.timeindex + ".cleaned" / ".swap"   a segment replacement in progress
//                    (ReplaceSegment): Open deletes ".cleaned" files and completes ".swap" ones.
//
// Leader epochs: the cache lives in memory. Flush rewrites its checkpoint (when it changed)
// after syncing the data and BEFORE the recovery point, so the checkpoint on disk always holds
// every entry for offsets below the recovery point on disk; entries at or past it may be stale
// or missing. TruncateTo (when entries go) and TruncateFullyAndStartAt rewrite it where they
// lower the recovery point, so it never names epochs the log no longer has. Open
// keeps the checkpoint's entries below min(recovery point, log end) and rebuilds the rest from
// the batch headers between the recovery point and the log end, after crash recovery has cut
// any torn tail, so the cache describes exactly the batches that survived; a missing or
// damaged checkpoint is rebuilt from every header. After a clean shutdown the recovery point is
// the log end and nothing is scanned.
//
// segment.ms counts from the active segment's creation, or from the log's opening for a
// segment that was already active then (a restart restarts that clock).
//
// Thread-safe. Appends and reads share a reader/writer lock whose critical sections do only
// write(2)/pread(2) to the page cache; fsync (Flush, checkpoints) happens outside it, except
// in the rare TruncateTo / TruncateFullyAndStartAt.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "protocol/kafka/batch/record_batch_header.h"
#include "protocol/kafka/records.h"
#include "storage/log/leader_epoch_cache.h"

namespace sluice::storage {

class File;
class KeyProvider;
class LogBytes;
class LogSegment;

struct LogConfig {
  int64_t segment_bytes = 1073741824;
  int64_t segment_ms = 604800000;
  int64_t retention_ms = 604800000;  // -1 = forever
  int64_t retention_bytes = -1;      // -1 = unlimited
  int64_t flush_messages = INT64_MAX;
  int64_t flush_ms = INT64_MAX;
  int32_t index_interval_bytes = 4096;
  int32_t segment_index_bytes = 10485760;
  bool log_append_time = false;
  bool compact = false;                       // cleanup.policy includes compact
  bool delete_policy = true;                  // cleanup.policy includes delete (DeleteRecords may)
  int64_t delete_retention_ms = 86400000;     // how long the cleaner keeps tombstones
  double min_cleanable_dirty_ratio = 0.5;     // the cleaner runs when dirty bytes exceed this share
};

struct SegmentSummary {
  int64_t base_offset;
  int64_t next_offset;
  int64_t size;
};

struct AppendResult {
  int64_t base_offset;
  int64_t last_offset;
  int64_t log_append_time_ms;  // -1 unless LogAppendTime
};

struct ReadResult {
  // Whole batches, in offset order: file slices (sent with sendfile) of plaintext segments,
  // decrypted memory of encrypted ones.
  std::vector<kafka::RecordsChunk> chunks;
  int64_t bytes = 0;
  // The offset after the returned batches: the base offset of the first batch not returned, or
  // the log end (Kafka's upper bound for the aborted transactions a fetch reports).
  int64_t next_offset = -1;
};

struct OffsetAndTimestamp {
  int64_t offset;
  int64_t timestamp;
};

class PartitionLog {
 public:
  // Whether the caller vouches that the log was closed cleanly without its own marker (a
  // marker for a whole data directory, see Close).
  enum class Shutdown { kAsMarked, kVouchedClean };
  // With `keys` (log.encryption.enable) every new segment is encrypted, and a non-empty
  // plaintext active segment is rolled so that no plaintext is appended; plaintext segments
  // stay readable. Without `keys` an encrypted segment fails the Open (kFailedPrecondition).
  static absl::StatusOr<std::unique_ptr<PartitionLog>> Open(std::filesystem::path dir, LogConfig config,
                                                            const Clock& clock, Shutdown shutdown = Shutdown::kAsMarked,
                                                            std::shared_ptr<const KeyProvider> keys = nullptr);
  ~PartitionLog();

  // The leader's append. `batches`: one or more batches that passed kafka::ValidateBatches.
  // Assigns consecutive offsets by patching each base offset in place, stamps LogAppendTime
  // when configured, rolls the segment by size/time/index space, appends. `leader_epoch` is
  // stamped into every batch's partition leader epoch (outside the CRC; kNoLeaderEpoch stamps
  // -1, whatever the producer sent) and, when newer than latest_epoch(), starts that epoch in
  // the cache at the first offset appended; an epoch older than latest_epoch() is refused
  // (kFailedPrecondition: a deposed leader). kInvalidArgument for malformed framing,
  // kFailedPrecondition after Close/Delete, I/O errors as statuses (kResourceExhausted: disk full).
  absl::StatusOr<AppendResult> Append(std::span<char> batches, int32_t leader_epoch);

  // The follower's append: `batches` come from the leader with offsets, leader epochs and
  // timestamps set (CRCs already checked by the caller) and are stored unchanged, rolled and
  // indexed as in Append; every batch with an epoch >= 0 feeds the epoch cache. The first batch
  // may start past the log end and later ones past the previous batch's end: compaction leaves
  // such gaps in the leader's log. Nothing is appended when offsets overlap or go backwards
  // within `batches` (kInvalidArgument) or the first batch starts below the log end
  // (kFailedPrecondition; e.g. a leader whose log start is mid-batch: restart the log at that
  // batch's base offset with TruncateFullyAndStartAt). log_append_time_ms is -1.
  absl::StatusOr<AppendResult> AppendAsFollower(std::string_view batches);

  // Whole batches from the one containing `fetch_offset`, stopping before the first batch that
  // reaches `max_offset` (exclusive, e.g. the high watermark) and within `max_bytes`, except that
  // the first batch is returned whole when `min_one_batch` (KIP-74). kOutOfRange when
  // fetch_offset < log start or > log end.
  absl::StatusOr<ReadResult> Read(int64_t fetch_offset, int64_t max_bytes, int64_t max_offset,
                                  bool min_one_batch) const;

  int64_t log_start_offset() const;
  int64_t log_end_offset() const;  // the next offset to assign
  int64_t recovery_point() const;
  int64_t size_bytes() const;
  size_t segment_count() const;

  // OffsetsForLeaderEpoch: LeaderEpochCache::EndOffsetFor against the current log end.
  EpochEndOffset EndOffsetForEpoch(int32_t epoch) const;
  int32_t latest_epoch() const;  // kNoLeaderEpoch when no batch carried one
  // A newly elected leader starts its epoch at the log end before it appends anything, so
  // that followers of an older epoch learn where that one ended (KIP-279). An entry with no
  // batch at or after it is not kept across a restart; the next append records it again.
  void AssignLeaderEpoch(int32_t epoch, int64_t start_offset);
  int32_t EpochForOffset(int64_t offset) const;  // the epoch `offset` was written in, or kNoLeaderEpoch
  std::vector<EpochEntry> leader_epoch_entries() const;  // a copy, oldest first

  // Writes `high_watermark` to high-watermark.checkpoint unless it is the value written last.
  // Blocks on disk: never call on an I/O thread. kInvalidArgument when negative,
  // kFailedPrecondition after Close/Delete.
  absl::Status CheckpointHighWatermark(int64_t high_watermark);
  // The checkpointed high watermark found by Open, clamped to [log start, log end] as they were
  // after Open; the log start when there was none.
  int64_t initial_high_watermark() const { return initial_high_watermark_; }

  // The first record with timestamp >= `timestamp` (ListOffsets); nullopt when none.
  absl::StatusOr<std::optional<OffsetAndTimestamp>> OffsetForTimestamp(int64_t timestamp) const;
  // The largest batch timestamp and that batch's last offset (ListOffsets -3).
  std::optional<OffsetAndTimestamp> MaxTimestamp() const;

  // Calls `fn` for each batch from the one containing `from_offset` to the log end at the time
  // of the call, with the whole batch bytes. Stops at and returns the first non-OK status.
  absl::Status ForEachBatch(
      int64_t from_offset,
      const std::function<absl::Status(const kafka::RecordBatchHeader&, std::string_view batch_bytes)>& fn) const;
  // The same, reading only the 61-byte headers (e.g. to rebuild producer state cheaply).
  absl::Status ForEachBatchHeader(int64_t from_offset,
                                  const std::function<absl::Status(const kafka::RecordBatchHeader&)>& fn) const;
  // The same, also reading the whole bytes of control batches (transaction markers: one small
  // record each), empty for other batches: what producer state is rebuilt from.
  absl::Status ForEachBatchHeader(
      int64_t from_offset,
      const std::function<absl::Status(const kafka::RecordBatchHeader&, std::string_view control_batch)>& fn) const;

  // fsyncs data and indexes up to the log end, then checkpoints the leader epochs (when they
  // changed) and the recovery point, in that order. Blocks on disk: never call on an I/O thread.
  absl::Status Flush();
  bool FlushDue(int64_t now_ms) const;  // by flush.messages / flush.ms
  // Deletes whole segments past retention.ms / retention.bytes and advances the log start (and
  // the epoch cache's start). Only segments ending at or below `max_offset` (the high
  // watermark; INT64_MAX for no bound) go. An expired active segment is first rolled, when it
  // may go, so an idle log still ages out.
  absl::Status ApplyRetention(int64_t now_ms, int64_t max_offset);
  // Removes every batch whose last offset is >= `offset` (rounds down to a batch boundary) and
  // the epoch cache's entries from the new log end on (also when no batch goes: an epoch
  // started at the log end without batches). Blocks on disk: never call on an I/O thread.
  absl::Status TruncateTo(int64_t offset);
  // Removes every segment and restarts the log empty at `offset`: log start = log end = recovery
  // point = `offset`, epoch cache empty (a follower whose log end is below the leader's log
  // start, or that must restart at a batch boundary). kInvalidArgument when negative. Blocks on
  // disk: never call on an I/O thread.
  absl::Status TruncateFullyAndStartAt(int64_t offset);
  // Raises the log start (DeleteRecords); deletes segments wholly below it. kOutOfRange past the end.
  absl::Status AdvanceLogStartOffset(int64_t offset);
  // Every segment but the active one, oldest first.
  std::vector<SegmentSummary> ClosedSegments() const;
  // Replaces the closed segment at `base_offset`, which must still end at `next_offset`, with
  // `batches` (whole batches with offsets inside the segment's range, headers in `headers`);
  // an empty `batches` removes the segment. Crash-safe: the new files are written as
  // ".cleaned", fsynced, renamed to ".swap" (the commit point) and then over the old files;
  // Open finishes or discards an interrupted replacement. Readers holding slices of the old
  // files keep reading them. Blocks on disk: never call on an I/O thread.
  absl::Status ReplaceSegment(int64_t base_offset, int64_t next_offset, std::string_view batches,
                              std::span<const kafka::RecordBatchHeader> headers);
  // Offsets below this have been compacted since the log was opened (0 after Open).
  int64_t cleaned_through_offset() const;
  void set_cleaned_through_offset(int64_t offset);
  void UpdateConfig(LogConfig config);
  LogConfig config() const;
  // Flushes and writes the clean-shutdown marker; later appends fail. With kVouchedClean the
  // marker is left to the caller, who vouches for this log at the next Open (one marker for a
  // whole data directory saves two fsyncs per log at shutdown and one at start).
  absl::Status Close(Shutdown marker = Shutdown::kAsMarked);
  // Closes and removes the directory. Outstanding FileSlices stay readable.
  absl::Status Delete();

  const std::filesystem::path& dir() const { return dir_; }

 private:
  PartitionLog(std::filesystem::path dir, LogConfig config, const Clock& clock,
               std::shared_ptr<const KeyProvider> keys);
  absl::Status Load(Shutdown shutdown);
  // Loads the epoch checkpoint and rebuilds what it cannot vouch for (see the top comment).
  absl::Status LoadLeaderEpochs();
  // Deletes ".cleaned" files and completes ".swap" replacements left by a crash.
  absl::Status RecoverInterruptedReplacements();
  absl::Status RollLocked(int64_t now_ms);
  bool ShouldRollLocked(int64_t append_bytes, int64_t last_offset, int64_t now_ms) const;
  // Rolls when due and appends batches whose offsets are already set.
  absl::Status AppendLocked(std::string_view batches, std::span<const kafka::RecordBatchHeader> headers,
                            int64_t now_ms);
  void AssignEpochLocked(int32_t epoch, int64_t start_offset);
  // Replaces every segment by an empty one at `offset` and checkpoints the result.
  absl::Status RestartAtLocked(int64_t offset);
  absl::Status WriteEpochCheckpointLocked();
  int64_t LeoLocked() const;
  size_t SegmentIndexLocked(int64_t offset) const;
  absl::Status RemoveSegments(const std::vector<std::shared_ptr<LogSegment>>& segments);
  absl::Status FlushHoldingMaintenance();  // maintenance_mutex_ held
  struct FileRange {
    std::shared_ptr<const LogBytes> file;
    int64_t start;
    int64_t end;
  };
  // The byte ranges holding the batches from the one containing `from_offset` to the log end.
  absl::StatusOr<std::vector<FileRange>> RangesFrom(int64_t from_offset) const;

  const std::filesystem::path dir_;
  const Clock& clock_;
  const std::shared_ptr<const KeyProvider> keys_;  // null: new segments are plaintext

  // Serialises Flush, retention, truncation and checkpoint writes (which may fsync).
  mutable std::mutex maintenance_mutex_;
  // Guards everything below; held exclusively by Append, shared by Read.
  mutable std::shared_mutex mutex_;
  LogConfig config_;
  std::vector<std::shared_ptr<LogSegment>> segments_;  // by base offset; never empty once open
  int64_t log_start_offset_ = 0;
  int64_t recovery_point_ = 0;
  int64_t last_flush_ms_ = 0;
  int64_t cleaned_through_offset_ = 0;
  bool directory_dirty_ = false;  // segment files created since the last directory fsync
  bool closed_ = false;
  LeaderEpochCache epoch_cache_;
  // Bumped on every change to epoch_cache_; the checkpoint is rewritten while they differ.
  uint64_t epoch_cache_version_ = 0;
  uint64_t epoch_checkpoint_version_ = 0;

  int64_t initial_high_watermark_ = 0;  // set by Open, then constant
  std::mutex high_watermark_mutex_;    // serialises CheckpointHighWatermark
  std::optional<int64_t> checkpointed_high_watermark_;  // guarded by high_watermark_mutex_
};

}  // namespace sluice::storage
