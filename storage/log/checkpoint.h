#pragma once
// Small per-partition checkpoint files holding one offset (log start offset, recovery point).
// Format (text, so operators can read it): "sluice-offset-checkpoint 1\n<offset>\n".

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sluice::storage {

absl::Status WriteOffsetCheckpoint(const std::filesystem::path& path, int64_t offset);

// kNotFound when absent; kDataLoss when the contents are not a valid checkpoint.
absl::StatusOr<int64_t> ReadOffsetCheckpoint(const std::filesystem::path& path);

// The file's contents for `offset`, and their parser (kDataLoss naming `source` when they are
// not a valid checkpoint). The file functions above are these plus the I/O; the parser takes a
// buffer so that it can be fuzzed without a file.
std::string FormatOffsetCheckpoint(int64_t offset);
absl::StatusOr<int64_t> ParseOffsetCheckpoint(std::string_view contents, std::string_view source);

}  // namespace sluice::storage
