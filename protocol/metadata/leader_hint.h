#pragma once
// How a controller that is not the quorum leader tells a broker where the leader is: an
// Unavailable status whose message ends with the leader's id and address. This file is the one
// place that writes and reads that message.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"

namespace sluice::metadata {

struct LeaderHint {
  int32_t leader_id = -1;
  std::string host;
  uint16_t port = 0;
};

// leader_id < 0: the leader is not known (an election is under way).
absl::Status NotLeaderStatus(int32_t leader_id, const std::string& host, uint16_t port);
// The hint in a status made by NotLeaderStatus with a known leader; nullopt otherwise.
std::optional<LeaderHint> ParseLeaderHint(const absl::Status& status);

}  // namespace sluice::metadata
