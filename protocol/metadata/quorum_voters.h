#pragma once
// controller.quorum.voters as Kafka writes it: "id@host:port,id@host:port,...". Controllers
// read it to find their peers, brokers to find the controllers.

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "common/endpoint.h"

namespace sluice::metadata {

// Voter node id -> address. InvalidArgument names the entry that does not parse.
absl::StatusOr<std::map<int32_t, HostPort>> ParseQuorumVoters(const std::string& text);

}  // namespace sluice::metadata
