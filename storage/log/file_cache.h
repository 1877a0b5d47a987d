#pragma once
// A process-wide bound on the descriptors of files that are not written all the time: closed
// segments' logs and every segment's indexes. Such a file is a CachedFile, opened when it is
// used; when more than `capacity` are open, the least recently used one is closed. A
// descriptor still in use elsewhere (a fetch response's slice) stays open until that use ends,
// so the bound holds for idle descriptors. The active segment's log stays open for appends and
// sendfile: a partition holds one descriptor of its own.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "storage/log/file.h"

namespace sluice::storage {

class FileCache {
 public:
  explicit FileCache(size_t capacity) : capacity_(capacity) {}
  // The cache the logs of this process share (log.fd.cache.size; 4096 until set).
  static FileCache& Shared();

  void set_capacity(size_t capacity);
  size_t capacity() const;
  size_t open_count() const;
  // Descriptors held outside the cache by pinned (active) segments, so that whoever opens
  // logs can keep within the process's file limit.
  void AddPinned(int64_t delta) { pinned_.fetch_add(delta, std::memory_order_relaxed); }
  int64_t pinned_count() const { return pinned_.load(std::memory_order_relaxed); }

 private:
  friend class CachedFile;
  uint64_t NewId();
  absl::StatusOr<std::shared_ptr<File>> Get(uint64_t id, const std::filesystem::path& path, int flags);
  void Drop(uint64_t id);
  void EvictLocked();

  struct Entry {
    uint64_t id;
    std::shared_ptr<File> file;
  };
  mutable std::mutex mutex_;
  size_t capacity_;
  uint64_t next_id_ = 1;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<uint64_t, std::list<Entry>::iterator> by_id_;
  std::atomic<int64_t> pinned_{0};
};

// One file whose descriptor the cache may close between uses. Each object is its own cache
// entry, so a file removed and created again under the same name is never served from a
// descriptor of the old one.
class CachedFile {
 public:
  // `flags` as for File::Open, used every time the file is opened again.
  CachedFile(std::filesystem::path path, int flags, FileCache& cache = FileCache::Shared());
  ~CachedFile();
  CachedFile(const CachedFile&) = delete;
  CachedFile& operator=(const CachedFile&) = delete;

  absl::StatusOr<std::shared_ptr<File>> Get() const { return cache_.Get(id_, path_, flags_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  FileCache& cache_;
  const std::filesystem::path path_;
  const int flags_;
  const uint64_t id_;
};

}  // namespace sluice::storage
