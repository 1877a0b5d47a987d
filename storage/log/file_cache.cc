#include "storage/log/file_cache.h"

namespace sluice::storage {

FileCache& FileCache::Shared() {
  static FileCache* cache = new FileCache(4096);  // never destroyed: logs may outlive statics
  return *cache;
}

void FileCache::set_capacity(size_t capacity) {
  std::lock_guard lock(mutex_);
  capacity_ = std::max<size_t>(capacity, 1);
  EvictLocked();
}

size_t FileCache::capacity() const {
  std::lock_guard lock(mutex_);
  return capacity_;
}

size_t FileCache::open_count() const {
  std::lock_guard lock(mutex_);
  return lru_.size();
}

uint64_t FileCache::NewId() {
  std::lock_guard lock(mutex_);
  return next_id_++;
}

absl::StatusOr<std::shared_ptr<File>> FileCache::Get(uint64_t id, const std::filesystem::path& path, int flags) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = by_id_.find(id); it != by_id_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->file;
    }
  }
  // open(2) outside the lock: other shards' hits need not wait for this one's miss.
  auto opened = File::Open(path, flags);
  if (!opened.ok()) return opened.status();
  std::lock_guard lock(mutex_);
  if (auto it = by_id_.find(id); it != by_id_.end()) return it->second->file;  // a racing Get won
  lru_.push_front(Entry{id, *opened});
  by_id_[id] = lru_.begin();
  EvictLocked();
  return *opened;
}

void FileCache::Drop(uint64_t id) {
  std::shared_ptr<File> closing;  // closed after the lock is released
  std::lock_guard lock(mutex_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  closing = std::move(it->second->file);
  lru_.erase(it->second);
  by_id_.erase(it);
}

void FileCache::EvictLocked() {
  while (lru_.size() > capacity_) {
    by_id_.erase(lru_.back().id);
    lru_.pop_back();
  }
}

CachedFile::CachedFile(std::filesystem::path path, int flags, FileCache& cache)
    : cache_(cache), path_(std::move(path)), flags_(flags), id_(cache.NewId()) {}

CachedFile::~CachedFile() { cache_.Drop(id_); }

}  // namespace sluice::storage
