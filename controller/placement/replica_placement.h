#pragma once
// Replica assignment for new partitions: spread leaders and replicas evenly over brokers and,
// when brokers carry racks, place each partition's replicas on distinct racks first.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sluice::controller {

struct PlacementBroker {
  int32_t id;
  std::string rack;
};

// Assigns `count` partitions numbered from `first_partition`, each with `replication_factor`
// distinct replicas; the first replica is the preferred leader. `start` rotates the layout so
// that topics do not all lead on the same broker.
absl::StatusOr<std::vector<std::vector<int32_t>>> PlaceReplicas(const std::vector<PlacementBroker>& brokers,
                                                                int32_t first_partition, int32_t count,
                                                                int32_t replication_factor, uint32_t start);

}  // namespace sluice::controller
