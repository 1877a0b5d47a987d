#pragma once
// Every metric family a broker exports on /metrics, declared in one place so that
// docs/operations.md is rendered from the same list (tests/unit/docs), plus the replica
// gauges computed at scrape time.

#include <cstdint>
#include <vector>

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/groups/group_coordinator.h"
#include "common/metrics/registry.h"

namespace sluice::broker {

void DescribeBrokerMetrics(metrics::Registry& registry);

// Partition, leader, under-replicated and offline replica counts of broker `self`.
// Committed offsets and lag of the groups this broker coordinates.
void CollectGroupMetrics(groups::GroupCoordinator& groups, std::vector<metrics::Sample>& samples);

void CollectReplicaMetrics(int32_t self, const MetadataCache& metadata, const PartitionManager& partitions,
                           std::vector<metrics::Sample>& samples);

}  // namespace sluice::broker
