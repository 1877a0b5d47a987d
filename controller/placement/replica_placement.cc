#include "controller/placement/replica_placement.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

namespace sluice::controller {

absl::StatusOr<std::vector<std::vector<int32_t>>> PlaceReplicas(const std::vector<PlacementBroker>& brokers,
                                                                int32_t first_partition, int32_t count,
                                                                int32_t replication_factor, uint32_t start) {
  if (replication_factor <= 0) return absl::InvalidArgumentError("replication factor must be positive");
  if (static_cast<size_t>(replication_factor) > brokers.size()) {
    return absl::InvalidArgumentError(fmt::format("replication factor {} is larger than the {} available brokers",
                                                  replication_factor, brokers.size()));
  }
  // Interleave racks (r1-b1, r2-b1, r3-b1, r1-b2, ...) so consecutive picks land on distinct racks.
  std::map<std::string, std::vector<int32_t>> by_rack;
  std::map<int32_t, std::string> rack_of;
  for (const auto& b : brokers) {
    by_rack[b.rack].push_back(b.id);
    rack_of[b.id] = b.rack;
  }
  for (auto& [rack, ids] : by_rack) std::sort(ids.begin(), ids.end());
  // Interleave racks (r1-b1, r2-b1, r3-b1, r1-b2, ...) so that leaders rotate over racks.
  std::vector<int32_t> order;
  for (size_t round = 0; order.size() < brokers.size(); ++round) {
    for (auto& [rack, ids] : by_rack) {
      if (round < ids.size()) order.push_back(ids[round]);
    }
  }
  const size_t n = order.size();
  std::vector<std::vector<int32_t>> result;
  for (int32_t i = 0; i < count; ++i) {
    const size_t p = static_cast<size_t>(first_partition + i);
    const size_t leader_index = (start + p) % n;
    std::vector<int32_t> replicas = {order[leader_index]};
    std::set<std::string> racks_used = {rack_of[order[leader_index]]};
    // The follower start shifts with the partition so that followers spread as well.
    const size_t shift = 1 + (p / n) % std::max<size_t>(1, n - 1);
    for (int32_t r = 1; r < replication_factor; ++r) {
      std::optional<int32_t> pick;
      std::optional<int32_t> fallback;  // a broker on an already used rack
      for (size_t k = 0; k < n && !pick; ++k) {
        int32_t id = order[(leader_index + r * shift + k) % n];
        if (std::find(replicas.begin(), replicas.end(), id) != replicas.end()) continue;
        if (!racks_used.count(rack_of[id])) {
          pick = id;
        } else if (!fallback) {
          fallback = id;
        }
      }
      int32_t chosen = pick ? *pick : *fallback;
      replicas.push_back(chosen);
      racks_used.insert(rack_of[chosen]);
    }
    result.push_back(std::move(replicas));
  }
  return result;
}

}  // namespace sluice::controller
