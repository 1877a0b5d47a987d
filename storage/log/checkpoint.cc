#include "storage/log/checkpoint.h"

#include <charconv>

#include "storage/log/file.h"

namespace sluice::storage {
namespace {
constexpr std::string_view kHeader = "sluice-offset-checkpoint 1\n";
// A checkpoint is ~50 bytes; this bounds a damaged file, not a real one.
constexpr int64_t kMaxCheckpointBytes = 4096;
}  // namespace

std::string FormatOffsetCheckpoint(int64_t offset) { return std::string(kHeader) + std::to_string(offset) + "\n"; }

absl::StatusOr<int64_t> ParseOffsetCheckpoint(std::string_view text, std::string_view source) {
  if (!text.starts_with(kHeader) || !text.ends_with('\n')) {
    return absl::DataLossError("bad checkpoint file " + std::string(source));
  }
  std::string_view number = text.substr(kHeader.size(), text.size() - kHeader.size() - 1);
  int64_t offset = -1;
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), offset);
  if (error != std::errc() || end != number.data() + number.size() || number.empty() || offset < 0) {
    return absl::DataLossError("bad checkpoint value in " + std::string(source));
  }
  return offset;
}

absl::Status WriteOffsetCheckpoint(const std::filesystem::path& path, int64_t offset) {
  return WriteFileAtomically(path, FormatOffsetCheckpoint(offset));
}

absl::StatusOr<int64_t> ReadOffsetCheckpoint(const std::filesystem::path& path) {
  auto contents = ReadWholeFile(path, kMaxCheckpointBytes);
  if (!contents.ok()) return contents.status();
  return ParseOffsetCheckpoint(*contents, path.string());
}

}  // namespace sluice::storage
