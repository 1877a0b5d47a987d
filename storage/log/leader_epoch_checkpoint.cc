#include "storage/log/leader_epoch_checkpoint.h"

#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "storage/log/file.h"

namespace sluice::storage {
namespace {

constexpr std::string_view kVersion = "0";
// An entry is at most ~32 bytes; this bounds a damaged file, not a real one.
constexpr int64_t kMaxCheckpointBytes = 64 << 20;

template <typename T>
bool ParseNumber(std::string_view text, T& value) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && error == std::errc() && end == text.data() + text.size();
}

// Splits off the next '\n'-terminated line; false when there is none.
bool NextLine(std::string_view& text, std::string_view& line) {
  size_t newline = text.find('\n');
  if (newline == std::string_view::npos) return false;
  line = text.substr(0, newline);
  text.remove_prefix(newline + 1);
  return true;
}

}  // namespace

std::string FormatLeaderEpochCheckpoint(std::span<const EpochEntry> entries) {
  std::string contents = absl::StrCat(ToAbsl(kVersion), "\n", entries.size(), "\n");
  for (const EpochEntry& entry : entries) absl::StrAppend(&contents, entry.epoch, " ", entry.start_offset, "\n");
  return contents;
}

absl::StatusOr<LeaderEpochCache> ParseLeaderEpochCheckpoint(std::string_view text, std::string_view source) {
  auto damaged = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("bad leader epoch checkpoint ", ToAbsl(source), ": ", why));
  };
  std::string_view line;
  if (!NextLine(text, line) || line != kVersion) return damaged("unknown version");
  size_t count = 0;
  if (!NextLine(text, line) || !ParseNumber(line, count)) return damaged("bad entry count");
  std::vector<EpochEntry> entries;
  for (size_t i = 0; i < count; ++i) {
    if (!NextLine(text, line)) return damaged(absl::StrCat("expected ", count, " entries, found ", i));
    size_t space = line.find(' ');
    EpochEntry entry{};
    if (space == std::string_view::npos || !ParseNumber(line.substr(0, space), entry.epoch) ||
        !ParseNumber(line.substr(space + 1), entry.start_offset)) {
      return damaged(absl::StrCat("bad entry \"", ToAbsl(line), "\""));
    }
    entries.push_back(entry);
  }
  if (!text.empty()) return damaged("data after the last entry");
  auto cache = LeaderEpochCache::FromEntries(std::move(entries));
  if (!cache.ok()) return damaged(cache.status().message());
  return cache;
}

absl::Status WriteLeaderEpochCheckpoint(const std::filesystem::path& path, std::span<const EpochEntry> entries) {
  return WriteFileAtomically(path, FormatLeaderEpochCheckpoint(entries));
}

absl::StatusOr<LeaderEpochCache> ReadLeaderEpochCheckpoint(const std::filesystem::path& path) {
  auto contents = ReadWholeFile(path, kMaxCheckpointBytes);
  if (!contents.ok()) return contents.status();
  return ParseLeaderEpochCheckpoint(*contents, path.string());
}

}  // namespace sluice::storage
