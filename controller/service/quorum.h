#pragma once
// What the controller needs from its Raft node, in controller terms (node ids, not Raft ids):
// proposing one entry, a barrier that proves leadership and waits until everything committed
// before it is applied, and the leader's view of the quorum. Tests substitute their own.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sluice::controller {

struct VoterProgress {
  int32_t node_id = -1;
  int64_t log_end_offset = -1;  // last index known to be in its log
  int64_t last_fetch_wall_ms = -1;
  int64_t last_caught_up_wall_ms = -1;
};

struct QuorumStatus {
  bool leader = false;
  uint64_t term = 0;
  int32_t leader_id = -1;  // -1: unknown
  int64_t commit_index = 0;
  int64_t last_index = 0;
  std::vector<VoterProgress> followers;  // the leader's view; empty elsewhere
};

class Quorum {
 public:
  virtual ~Quorum() = default;
  // `done` runs on the controller's thread once the entry is applied (OK) or will never be.
  virtual void Propose(std::string entry, std::function<void(absl::Status)> done) = 0;
  // `done` gets OK once this node is confirmed leader and has applied every entry committed
  // before the call.
  virtual void Barrier(std::function<void(absl::Status)> done) = 0;
  virtual void Status(std::function<void(QuorumStatus)> done) = 0;
};

}  // namespace sluice::controller
