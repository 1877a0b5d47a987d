#pragma once
// The bytes of an encrypted segment log (format: storage/encryption/segment_format.h). Callers
// see logical (plaintext) positions, which the indexes keep; this class maps them to chunks.
// Chunks are only ever appended, never rewritten: a torn write can lose only the chunk being
// written, which crash recovery drops like a torn batch. The chunk map is rebuilt from the
// chunk headers when the segment opens.
//
// Thread-safe: reads may run concurrently with each other and with appends (PartitionLog reads
// snapshots outside its own lock).

#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/encryption/key_provider.h"
#include "storage/encryption/segment_format.h"
#include "storage/log/file.h"

namespace sluice::storage {

class EncryptedLog {
 public:
  // Writes a new header (fresh data key wrapped under the active master key) to an empty
  // `file`, without syncing: the segment's first flush syncs it with its data.
  static absl::StatusOr<std::unique_ptr<EncryptedLog>> Create(const File& file, const KeyProvider& keys);
  // Unwraps the data key and rebuilds the chunk map; a torn or stale tail is cut off. With
  // `recover` (after a crash) every chunk's tag is checked too, and a header that never became
  // whole (no valid slot: its segment was never flushed) makes the segment empty again.
  // kFailedPrecondition, naming the file and key id, when the key cannot be unwrapped.
  static absl::StatusOr<std::unique_ptr<EncryptedLog>> Open(const File& file, const KeyProvider& keys, bool recover);

  // The key id of an encrypted segment file's current header; nullopt when it has none readable.
  static absl::StatusOr<std::optional<std::string>> ReadKeyId(const File& file);
  // Checks that the data key unwraps (kFailedPrecondition naming the file and key id if not) and,
  // when it is wrapped under another key than the active one, rewraps it under the active one
  // without touching the data: the other header slot is written and synced, so a crash leaves
  // either wrapping readable. True when it rewrapped. A file without a readable header is left
  // to Open's recovery.
  static absl::StatusOr<bool> CheckAndRewrap(const File& file, const KeyProvider& keys);

  int64_t size() const;  // logical: the plaintext bytes
  // Whether Open cut off a torn tail or reset a torn header.
  bool dropped_torn_tail() const { return dropped_torn_tail_; }

  // Appends `data` at size(), as chunks of at most kMaxChunkPlaintext. On failure the file is
  // cut back to where it ended.
  absl::Status Append(const File& file, std::string_view data);
  // Reads exactly `size` plaintext bytes at logical `position`; kDataLoss past the end or when
  // a chunk does not authenticate.
  absl::Status Read(const File& file, char* out, size_t size, int64_t position) const;
  // Keeps the first `logical_size` bytes. Chunks wholly past it are cut from the file; a chunk
  // it splits stays whole on disk and the header records how much of it is visible (no chunk
  // is rewritten). Syncs the file and the header.
  absl::Status Truncate(const File& file, int64_t logical_size);

 private:
  struct Chunk {
    int64_t logical_start;
    int64_t physical_start;
    uint32_t length;   // plaintext bytes in the chunk
    uint32_t visible;  // of which the log still holds the first `visible`
    int64_t physical_end() const { return physical_start + encrypted_segment::kChunkOverheadBytes + length; }
    int64_t logical_end() const { return logical_start + visible; }
  };
  EncryptedLog(encrypted_segment::HeaderSlot slot, int slot_index, SecretKey data_key)
      : segment_id_(slot.segment_id), slot_(std::move(slot)), slot_index_(slot_index), data_key_(data_key) {}
  // Reads the chunk map from the file; cuts the file at the first chunk that does not belong.
  absl::Status LoadChunks(const File& file, int64_t file_size, bool authenticate);
  // Writes `slot` to the slot not currently in use, syncs, and makes it current.
  absl::Status WriteSlot(const File& file, encrypted_segment::HeaderSlot slot);
  // Reads and decrypts a whole chunk into `out` (chunk.length bytes).
  absl::Status DecryptChunk(const File& file, const Chunk& chunk, char* out) const;
  // The chunk's plaintext, from a one-chunk cache (consecutive small reads hit the same chunk).
  absl::StatusOr<std::shared_ptr<const std::string>> CachedPlaintext(const File& file, const Chunk& chunk,
                                                                      uint64_t generation) const;

  // Readers use only these two, which never change; slot_ changes under mutex_ held exclusively
  // (Truncate) or before the log is shared (Open).
  const std::string segment_id_;
  encrypted_segment::HeaderSlot slot_;  // the current header slot
  int slot_index_;
  const SecretKey data_key_;
  bool dropped_torn_tail_ = false;

  mutable std::shared_mutex mutex_;  // guards the members below
  std::vector<Chunk> chunks_;        // by logical (and physical) position
  int64_t physical_end_ = encrypted_segment::kHeaderBytes;
  int64_t logical_end_ = 0;
  uint64_t generation_ = 0;  // bumped by Truncate: a physical position may then hold another chunk

  mutable std::mutex cache_mutex_;
  mutable uint64_t cached_generation_ = 0;
  mutable int64_t cached_physical_ = -1;
  mutable std::shared_ptr<const std::string> cached_plaintext_;
};

}  // namespace sluice::storage
