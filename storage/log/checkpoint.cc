#include "storage/log/checkpoint.h"

#include <charconv>
#include <string>

#include "storage/log/file.h"

namespace sluice::storage {
namespace {
constexpr std::string_view kHeader = "sluice-offset-checkpoint 1\n";
}  // namespace

absl::Status WriteOffsetCheckpoint(const std::filesystem::path& path, int64_t offset) {
  return WriteFileAtomically(path, std::string(kHeader) + std::to_string(offset) + "\n");
}

absl::StatusOr<int64_t> ReadOffsetCheckpoint(const std::filesystem::path& path) {
  auto contents = ReadWholeFile(path, 4096);
  if (!contents.ok()) return contents.status();
  std::string_view text = *contents;
  if (!text.starts_with(kHeader) || !text.ends_with('\n')) {
    return absl::DataLossError("bad checkpoint file " + path.string());
  }
  std::string_view number = text.substr(kHeader.size(), text.size() - kHeader.size() - 1);
  int64_t offset = -1;
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), offset);
  if (error != std::errc() || end != number.data() + number.size() || number.empty() || offset < 0) {
    return absl::DataLossError("bad checkpoint value in " + path.string());
  }
  return offset;
}

}  // namespace sluice::storage
