#pragma once
// The `leader-epoch-checkpoint` file of a partition directory, in Kafka's text format so
// Kafka's tools and operators read it as they know it:
//   "0\n<entry count>\n" then "<epoch> <start offset>\n" per entry, oldest first.

#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "storage/log/leader_epoch_cache.h"

namespace sluice::storage {

// Crash-safe replacement (WriteFileAtomically): a crash leaves the old or the new entries.
absl::Status WriteLeaderEpochCheckpoint(const std::filesystem::path& path, std::span<const EpochEntry> entries);

// kNotFound when absent; kDataLoss when the contents are not a valid checkpoint, including
// entries that break the cache's ordering.
absl::StatusOr<LeaderEpochCache> ReadLeaderEpochCheckpoint(const std::filesystem::path& path);

// The file's contents for `entries`, and their parser (kDataLoss naming `source`). The file
// functions above are these plus the I/O; the parser takes a buffer so that it can be fuzzed
// without a file.
std::string FormatLeaderEpochCheckpoint(std::span<const EpochEntry> entries);
absl::StatusOr<LeaderEpochCache> ParseLeaderEpochCheckpoint(std::string_view contents, std::string_view source);

}  // namespace sluice::storage
