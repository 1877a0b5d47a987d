#pragma once
// One segment of a partition log: `<20-digit base offset>.log` holding wire-format batches
// exactly as appended (or, encrypted, chunks of them: encrypted_log.h), with its sparse .index
// and .timeindex, which hold logical (plaintext) positions either way. Not thread-safe: PartitionLog
// serialises access. Only a pinned segment (the active one) keeps its log's descriptor; the
// others, and every index, open theirs through the FileCache when used.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/kafka/batch/record_batch_header.h"
#include "storage/encryption/key_provider.h"
#include "storage/log/encrypted_log.h"
#include "storage/log/file.h"
#include "storage/log/file_cache.h"
#include "storage/log/sparse_index.h"

namespace sluice::storage {

struct BatchLocation {
  kafka::RecordBatchHeader header;
  int64_t position = 0;
};

// A segment's log at logical positions: the file itself, or its decrypted chunks. Holds what a
// read needs outside PartitionLog's lock.
class LogBytes {
 public:
  LogBytes(std::shared_ptr<File> file, std::shared_ptr<const EncryptedLog> encrypted)
      : file_(std::move(file)), encrypted_(std::move(encrypted)) {}
  absl::Status Read(char* out, size_t size, int64_t position) const {
    return encrypted_ ? encrypted_->Read(*file_, out, size, position) : file_->ReadExact(out, size, position);
  }
  const std::shared_ptr<File>& file() const { return file_; }
  // Encrypted bytes cannot go out with sendfile: readers decrypt them into memory.
  bool encrypted() const { return encrypted_ != nullptr; }
  const std::filesystem::path& path() const { return file_->path(); }

 private:
  std::shared_ptr<File> file_;
  std::shared_ptr<const EncryptedLog> encrypted_;
};

// Reads and checks the header of the batch at `position` of `log`, whose readable data ends at
// `end`: kDataLoss when it is malformed or runs past `end`.
absl::StatusOr<kafka::RecordBatchHeader> ReadBatchHeader(const LogBytes& log, int64_t position, int64_t end);

class LogSegment {
 public:
  static std::filesystem::path LogPath(const std::filesystem::path& dir, int64_t base_offset);
  // `<20-digit base offset><extension>`, e.g. ".index" or ".log.swap".
  static std::filesystem::path FilePath(const std::filesystem::path& dir, int64_t base_offset, std::string_view extension);
  // The extensions of a segment's files; the log comes last so it is removed or replaced last.
  static constexpr std::string_view kExtensions[] = {".index", ".timeindex", ".log"};
  // Parses "<20 digits>.log"; nullopt for any other name.
  static std::optional<int64_t> ParseLogFileName(std::string_view name);

  // Creates empty files for a new segment, pinned. A `suffix` (e.g. ".cleaned") is appended to every
  // file name: such a segment is a replacement being written (see PartitionLog::ReplaceSegment).
  // With `keys` the log is encrypted under a new data key wrapped by the active master key.
  static absl::StatusOr<std::unique_ptr<LogSegment>> Create(const std::filesystem::path& dir, int64_t base_offset,
                                                            int64_t now_ms, std::string_view suffix = "",
                                                            const KeyProvider* keys = nullptr);
  // Opens an existing segment, pinned. With `recover` (crash recovery), every batch header is
  // checked, every batch whose last offset is at or past `checked_from` (the recovery point:
  // what lies below it was fsynced before it was written) is read and CRC-checked, and the file
  // is truncated at the first torn or corrupt batch. Otherwise indexes are loaded when sound
  // (rebuilt from batch headers when not) and only the tail is scanned. An encrypted log needs
  // `keys` (kFailedPrecondition naming the file and key id without them); with `keys`, an
  // empty plaintext log becomes an encrypted one.
  static absl::StatusOr<std::unique_ptr<LogSegment>> Open(const std::filesystem::path& dir, int64_t base_offset,
                                                          int64_t now_ms, bool recover, int64_t checked_from,
                                                          int32_t index_interval_bytes,
                                                          const KeyProvider* keys = nullptr);

  int64_t base_offset() const { return base_offset_; }
  int64_t next_offset() const { return next_offset_; }  // base_offset when empty
  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t max_timestamp() const { return max_timestamp_; }  // -1 when no batch has a timestamp
  int64_t offset_of_max_timestamp() const { return offset_of_max_timestamp_; }
  int64_t created_ms() const { return created_ms_; }
  // The time retention.ms is measured from: the largest batch timestamp, or the file's
  // modification time when no batch carries a timestamp.
  int64_t RetentionTimestampMs() const;
  bool truncated_by_recovery() const { return truncated_by_recovery_; }
  // The log file, opened again when the segment is not pinned and the cache closed it.
  absl::StatusOr<std::shared_ptr<File>> LogFile() const;
  // The log's bytes at logical positions (decrypting when encrypted).
  absl::StatusOr<LogBytes> Bytes() const;
  bool encrypted() const { return encrypted_ != nullptr; }
  const std::filesystem::path& log_path() const { return log_file_.path(); }
  // Keeps the log's descriptor open (the active segment, appended to and read most).
  absl::Status Pin();
  // Leaves the log's descriptor to the cache (a segment that is no longer active).
  void Unpin();
  ~LogSegment();
  LogSegment(const LogSegment&) = delete;
  LogSegment& operator=(const LogSegment&) = delete;
  bool IndexFull(int32_t segment_index_bytes) const;

  // Appends `data`, the concatenation of `batches` (offsets already assigned), at the end.
  absl::Status Append(std::string_view data, std::span<const kafka::RecordBatchHeader> batches,
                      int32_t index_interval_bytes);

  // The first batch whose last offset is >= `offset`; nullopt when there is none.
  absl::StatusOr<std::optional<BatchLocation>> FindBatch(int64_t offset) const;
  // The position of the last indexed batch start at or before `max_position` whose offset is
  // <= `max_offset`: every batch before it is whole and ends below `max_offset`, so a read can
  // skip to it without reading their headers. nullopt when no entry qualifies.
  std::optional<int64_t> IndexedPositionWithin(int64_t max_position, int64_t max_offset) const;
  // The first batch whose max timestamp is >= `timestamp`.
  absl::StatusOr<std::optional<BatchLocation>> FindTimestamp(int64_t timestamp) const;
  // The header of the batch at `position` (< size()) of `log` (this segment's Bytes(), taken
  // once for a walk over many batches), checked to lie within the file.
  absl::StatusOr<kafka::RecordBatchHeader> ReadHeaderAt(const LogBytes& log, int64_t position) const;

  // Removes every batch whose last offset is >= `offset`.
  absl::Status TruncateTo(int64_t offset, int32_t index_interval_bytes);

  // Writes index entries still in memory only (a write(2), no sync).
  absl::Status WriteIndexes();
  // Files a flusher must fsync for this segment's data and indexes to be durable (indexes
  // only when written since the last call).
  absl::StatusOr<std::vector<std::shared_ptr<File>>> TakeFilesToSync();
  // Unlinks the files; open descriptors (held by in-flight reads) stay valid.
  absl::Status Remove();
  // Unlinks the files of a segment that is not open.
  static absl::Status RemoveFiles(const std::filesystem::path& dir, int64_t base_offset);

 private:
  LogSegment(const std::filesystem::path& dir, int64_t base_offset, std::shared_ptr<File> log, int64_t now_ms,
             std::string_view suffix);
  void IndexBatch(const kafka::RecordBatchHeader& header, int64_t position, int32_t index_interval_bytes);
  // Rebuilds both indexes from the batches, CRC-checking those whose last offset is at or past
  // `crc_from`; truncates at the first bad batch.
  absl::Status ScanAll(int64_t crc_from, int32_t index_interval_bytes);
  // Derives next offset and max timestamp from the indexes plus a scan of the tail; false when
  // the indexes disagree with the log.
  absl::StatusOr<bool> ScanTail();
  // Cuts the log to `size` logical bytes.
  absl::Status TruncateLog(const File& log, int64_t size);

  int64_t base_offset_;
  CachedFile log_file_;
  std::shared_ptr<File> pinned_log_;  // set while pinned
  std::shared_ptr<EncryptedLog> encrypted_;  // set when the log is encrypted
  SparseIndex offset_index_;
  SparseIndex time_index_;
  int64_t size_ = 0;
  int64_t next_offset_;
  int64_t max_timestamp_ = -1;
  int64_t offset_of_max_timestamp_ = -1;
  int64_t created_ms_;
  int64_t bytes_since_offset_entry_ = 0;
  int64_t bytes_since_time_entry_ = 0;
  bool truncated_by_recovery_ = false;
};

}  // namespace sluice::storage
