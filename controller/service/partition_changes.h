#pragma once
// Plans for the operations that change partitions in place, with Kafka's semantics and error
// codes: AlterPartition (a leader's ISR change, KIP-497/KIP-903 fencing), ElectLeaders
// (preferred or unclean), partition reassignment (KIP-455) and the periodic preferred-leader
// rebalance.

#include "controller/service/plan_context.h"
#include "protocol/metadata/controller_api.pb.h"

namespace sluice::controller {

metadata::AlterPartitionResponse PlanAlterPartition(const metadata::AlterPartitionRequest& request, PlanContext& ctx);
metadata::ElectLeadersResponse PlanElectLeaders(const metadata::ElectLeadersRequest& request, PlanContext& ctx);
metadata::AlterReassignmentsResponse PlanAlterReassignments(const metadata::AlterReassignmentsRequest& request,
                                                            PlanContext& ctx);
// Read-only: ongoing reassignments in `image`.
metadata::ListReassignmentsResponse ListReassignments(const metadata::ListReassignmentsRequest& request,
                                                      const metadata::MetadataImage& image);
// Preferred-leader elections for the partitions of every broker whose share of partitions led
// by someone other than their preferred leader exceeds leader.imbalance.per.broker.percentage.
void PlanLeaderRebalance(PlanContext& ctx);

}  // namespace sluice::controller
