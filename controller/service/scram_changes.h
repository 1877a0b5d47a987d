#pragma once
// SCRAM credential changes (Kafka's AlterUserScramCredentials, KIP-554) and the bootstrap users a
// new cluster starts with.

#include <vector>

#include "absl/status/statusor.h"
#include "controller/service/plan_context.h"
#include "protocol/metadata/controller_api.pb.h"

namespace sluice::controller {

// Validates each user's alteration as Kafka does and plans the records of the valid ones. One
// result per user, in the order the users first appear.
absl::StatusOr<metadata::AlterUserScramCredentialsResponse> PlanAlterUserScramCredentials(
    const metadata::AlterUserScramCredentialsRequest& request, PlanContext& ctx);

// Writes `credentials` once, when the metadata log is new (no cluster id minted yet): the first
// users, without whom nobody could log in to create others.
void PlanBootstrapScramCredentials(const std::vector<metadata::UserScramCredential>& credentials, PlanContext& ctx);

}  // namespace sluice::controller
