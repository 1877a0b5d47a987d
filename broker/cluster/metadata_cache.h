#pragma once
// The broker's view of cluster metadata: an immutable image swapped atomically, so request
// handlers read one consistent snapshot without locks; plus waiters for an image offset (an
// admin request is answered once this broker has applied the records it caused, its replicas
// included).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "protocol/metadata/image.h"

namespace sluice::broker {

class MetadataCache {
 public:
  MetadataCache();
  std::shared_ptr<const metadata::MetadataImage> Current() const;
  void Publish(std::shared_ptr<const metadata::MetadataImage> image);
  // The replicas have taken the roles every image up to `offset` gives them (their logs are
  // open, their owners act on the assignment).
  void MarkApplied(int64_t offset);
  int64_t applied_offset() const;
  // Calls `reached` (on the thread that marks it, or now) once `offset` is applied.
  void WhenApplied(int64_t offset, std::function<void()> reached);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const metadata::MetadataImage> current_;
  int64_t applied_offset_ = -1;
  std::multimap<int64_t, std::function<void()>> waiters_;
};

}  // namespace sluice::broker
