#pragma once
// The sparse indexes of a segment, kept in memory and mirrored to a file that can always be
// rebuilt from the .log:
//   .index      offset -> byte position of the batch starting at that offset
//   .timeindex  running max timestamp -> base offset of the batch that reached it
// File layout: 8-byte header (4-byte magic "SLOI"/"SLTI", version byte 1, 3 zero bytes), then
// big-endian entries: .index = relative offset u32 + position u32; .timeindex = timestamp i64 +
// relative offset u32. Entries are appended in memory and written in batches (WritePending).

#include <fcntl.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/log/file_cache.h"

namespace sluice::storage {

class SparseIndex {
 public:
  enum class Kind { kOffset, kTime };
  struct Entry {
    int64_t key;    // offset (.index) or timestamp (.timeindex)
    int64_t value;  // position (.index) or offset (.timeindex)
  };

  SparseIndex(Kind kind, std::filesystem::path path, int64_t base_offset)
      : kind_(kind), file_(std::move(path), kFileFlags), base_offset_(base_offset) {}

  // Loads and checks the file: header, whole entries, keys strictly increasing, values
  // non-decreasing, offsets relative to the segment, positions below `log_size`. Any defect
  // returns an error and the caller rebuilds.
  absl::Status Load(int64_t log_size);

  void Append(int64_t key, int64_t value) { entries_.push_back(Entry{key, value}); }
  const std::vector<Entry>& entries() const { return entries_; }
  std::optional<Entry> last() const {
    return entries_.empty() ? std::nullopt : std::optional<Entry>(entries_.back());
  }
  size_t file_bytes() const;

  // Last entry with key <= `key` (or < `key` when `strict`).
  std::optional<Entry> Floor(int64_t key, bool strict) const;
  // Last entry with key <= `key` and value <= `value` (both grow along the index).
  std::optional<Entry> FloorBoth(int64_t key, int64_t value) const;

  // Drops entries whose (.index) position or (.timeindex) offset is >= `limit`, in memory and file.
  absl::Status TruncateFrom(int64_t limit);
  // Empties the index; the next WritePending rewrites the file from scratch.
  void Reset() {
    entries_.clear();
    written_ = 0;
    rewrite_ = true;
  }

  // Writes entries not yet in the file (rewrites the file when it no longer matches memory).
  absl::Status WritePending();
  // The file when it was written since the last call (else null), so a flusher can fsync it
  // outside the log lock.
  absl::StatusOr<std::shared_ptr<File>> TakeFileToSync();

 private:
  static constexpr int kFileFlags = O_RDWR | O_CREAT;
  size_t entry_size() const { return kind_ == Kind::kOffset ? 8 : 12; }

  Kind kind_;
  CachedFile file_;  // opened on demand: an index is read once at Open and written rarely
  int64_t base_offset_;
  std::vector<Entry> entries_;
  size_t written_ = 0;       // entries known to be in the file
  bool rewrite_ = true;      // the file must be rewritten from scratch before appending
  bool unsynced_ = false;    // written since the last TakeFileToSync
};

}  // namespace sluice::storage
