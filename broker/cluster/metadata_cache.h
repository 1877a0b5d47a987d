#pragma once
// The broker's view of cluster metadata: an immutable image swapped atomically, so request
// handlers read one consistent snapshot without locks; plus waiters for an image offset (an
// admin request is answered once this broker has applied the records it caused).

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
  // Calls `reached` (on the publishing thread, or now) once an image at or past `offset` is published.
  void WhenApplied(int64_t offset, std::function<void()> reached);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const metadata::MetadataImage> current_;
  std::multimap<int64_t, std::function<void()>> waiters_;
};

}  // namespace sluice::broker
