#pragma once
// A data directory remembers the node it belongs to, in `meta.properties` as Kafka writes it
// (version=1, node.id=N). A process whose configured node.id differs refuses to start rather
// than serve another node's replicas under its own id: on Kubernetes a volume follows its pod
// ordinal, and a mix-up must fail loudly.

#include <cstdint>
#include <filesystem>

#include "absl/status/status.h"

namespace sluice::storage {

// Creates `dir` if needed. Writes meta.properties on first use (crash-safe); afterwards checks
// it: FailedPrecondition when it names another node, DataLoss when it cannot be parsed.
absl::Status ClaimDataDirectory(const std::filesystem::path& dir, int32_t node_id);

}  // namespace sluice::storage
