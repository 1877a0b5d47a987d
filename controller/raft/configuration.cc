#include "controller/raft/configuration.h"

#include <algorithm>
#include <string>

namespace sluice::raft {
namespace {

bool Contains(const google::protobuf::RepeatedField<uint64_t>& ids, uint64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

void Insert(google::protobuf::RepeatedField<uint64_t>* ids, uint64_t id) {
  ids->Add(id);
  std::sort(ids->begin(), ids->end());
}

void Erase(google::protobuf::RepeatedField<uint64_t>* ids, uint64_t id) {
  auto it = std::remove(ids->begin(), ids->end(), id);
  ids->Truncate(static_cast<int>(it - ids->begin()));
}

}  // namespace

bool IsVoter(const pb::Configuration& config, uint64_t id) { return Contains(config.voters(), id); }
bool IsLearner(const pb::Configuration& config, uint64_t id) {
  return Contains(config.learners(), id);
}
bool IsMember(const pb::Configuration& config, uint64_t id) {
  return IsVoter(config, id) || IsLearner(config, id);
}

absl::StatusOr<pb::Configuration> ApplyConfChange(const pb::Configuration& config,
                                                  const pb::ConfChange& change) {
  const uint64_t id = change.node_id();
  if (id == 0) return absl::InvalidArgumentError("node id 0 is reserved");
  pb::Configuration next = config;
  switch (change.type()) {
    case pb::ADD_LEARNER:
      if (IsMember(config, id)) {
        return absl::AlreadyExistsError("node " + std::to_string(id) + " is already a member");
      }
      Insert(next.mutable_learners(), id);
      return next;
    case pb::ADD_VOTER:
      if (IsVoter(config, id)) {
        return absl::AlreadyExistsError("node " + std::to_string(id) + " is already a voter");
      }
      Erase(next.mutable_learners(), id);
      Insert(next.mutable_voters(), id);
      return next;
    case pb::REMOVE_NODE:
      if (!IsMember(config, id)) {
        return absl::NotFoundError("node " + std::to_string(id) + " is not a member");
      }
      if (IsVoter(config, id) && config.voters_size() == 1) {
        return absl::FailedPreconditionError("cannot remove the last voter");
      }
      Erase(next.mutable_voters(), id);
      Erase(next.mutable_learners(), id);
      return next;
    default:
      return absl::InvalidArgumentError("unknown configuration change type");
  }
}

}  // namespace sluice::raft
