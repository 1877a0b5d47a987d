#include "broker/cluster/metadata_cache.h"

#include <vector>

namespace sluice::broker {

MetadataCache::MetadataCache() : current_(std::make_shared<metadata::MetadataImage>()) {}

std::shared_ptr<const metadata::MetadataImage> MetadataCache::Current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

void MetadataCache::Publish(std::shared_ptr<const metadata::MetadataImage> image) {
  std::lock_guard lock(mutex_);
  current_ = std::move(image);
}

void MetadataCache::MarkApplied(int64_t offset) {
  std::vector<std::function<void()>> reached;
  {
    std::lock_guard lock(mutex_);
    if (offset <= applied_offset_) return;
    applied_offset_ = offset;
    auto end = waiters_.upper_bound(offset);
    for (auto it = waiters_.begin(); it != end; ++it) reached.push_back(std::move(it->second));
    waiters_.erase(waiters_.begin(), end);
  }
  for (auto& callback : reached) callback();
}

int64_t MetadataCache::applied_offset() const {
  std::lock_guard lock(mutex_);
  return applied_offset_;
}

void MetadataCache::WhenApplied(int64_t offset, std::function<void()> reached) {
  {
    std::lock_guard lock(mutex_);
    if (applied_offset_ < offset) {
      waiters_.emplace(offset, std::move(reached));
      return;
    }
  }
  reached();
}

}  // namespace sluice::broker
