#pragma once
// Plans for broker lifecycle operations: registration (and the leader elections it makes
// possible), fencing (a lapsed lease or a controlled shutdown, with the leader moves they force
// in the same entry), replicas a broker reports offline or online, producer-id blocks and
// minting the cluster id.

#include <cstdint>
#include <set>

#include "absl/status/statusor.h"
#include "controller/service/plan_context.h"
#include "protocol/metadata/controller_api.pb.h"

namespace sluice::controller {

// broker_epoch is left for the caller: it is the offset of the entry that commits the plan.
absl::StatusOr<metadata::RegisterBrokerResponse> PlanRegisterBroker(const metadata::RegisterBrokerRequest& request,
                                                                    PlanContext& ctx);
// Fences those of `brokers` that are live in ctx.image.
void PlanFenceBrokers(const std::set<int32_t>& brokers, PlanContext& ctx);
absl::StatusOr<metadata::ControlledShutdownResponse> PlanControlledShutdown(
    const metadata::ControlledShutdownRequest& request, PlanContext& ctx);
// Marks the broker's replicas it cannot open as offline (leadership moves to another in-sync
// replica, or the partition goes leaderless; the replica leaves the ISR unless it is the last
// member) and clears those it reports open again (electing a leader where there is none).
absl::StatusOr<metadata::ReportReplicasResponse> PlanReportReplicas(const metadata::ReportReplicasRequest& request,
                                                                    PlanContext& ctx);
absl::StatusOr<metadata::AllocateProducerIdsResponse> PlanAllocateProducerIds(
    const metadata::AllocateProducerIdsRequest& request, PlanContext& ctx);
// A ClusterId record when the image has none: 16 random bytes in URL-safe base64 without
// padding (22 characters), the shape Kafka's cluster ids have.
void PlanMintClusterId(PlanContext& ctx);

}  // namespace sluice::controller
