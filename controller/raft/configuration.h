#pragma once
// Cluster membership: voters decide, learners only follow. Changes go one server at a time,
// so any majority of the old voter set overlaps any majority of the new one.

#include <cstdint>

#include "absl/status/statusor.h"
#include "controller/raft/raft.pb.h"

namespace sluice::raft {

bool IsVoter(const pb::Configuration& config, uint64_t id);
bool IsLearner(const pb::Configuration& config, uint64_t id);
bool IsMember(const pb::Configuration& config, uint64_t id);

// The configuration after one change; an error when the change is a no-op, would leave no
// voter, or names node 0.
absl::StatusOr<pb::Configuration> ApplyConfChange(const pb::Configuration& config,
                                                  const pb::ConfChange& change);

}  // namespace sluice::raft
