#pragma once
// Hands out producer ids from blocks the controller allocates, so ids are unique across
// brokers and restarts without a controller round trip per InitProducerId.

#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "absl/status/statusor.h"

namespace sluice::broker {

class ProducerIdManager {
 public:
  using Done = std::function<void(absl::StatusOr<int64_t>)>;
  // Asks the controller for a block: (first id, size) or an error.
  using BlockFetcher = std::function<void(std::function<void(absl::StatusOr<std::pair<int64_t, int32_t>>)>)>;

  explicit ProducerIdManager(BlockFetcher fetch_block) : fetch_block_(std::move(fetch_block)) {}

  // `done` runs on the caller's thread when an id is at hand, otherwise on the fetcher's.
  void Next(Done done);

 private:
  void OnBlock(absl::StatusOr<std::pair<int64_t, int32_t>> block);

  BlockFetcher fetch_block_;
  std::mutex mutex_;
  int64_t next_ = 0;
  int64_t end_ = 0;
  bool fetching_ = false;
  std::vector<Done> waiting_;
};

}  // namespace sluice::broker
