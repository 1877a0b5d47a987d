#pragma once
// Small per-partition checkpoint files holding one offset (log start offset, recovery point).
// Format (text, so operators can read it): "sluice-offset-checkpoint 1\n<offset>\n".

#include <cstdint>
#include <filesystem>

#include "absl/status/statusor.h"

namespace sluice::storage {

absl::Status WriteOffsetCheckpoint(const std::filesystem::path& path, int64_t offset);

// kNotFound when absent; kDataLoss when the contents are not a valid checkpoint.
absl::StatusOr<int64_t> ReadOffsetCheckpoint(const std::filesystem::path& path);

}  // namespace sluice::storage
