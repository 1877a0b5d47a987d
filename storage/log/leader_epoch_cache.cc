#include "storage/log/leader_epoch_cache.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace sluice::storage {

absl::StatusOr<LeaderEpochCache> LeaderEpochCache::FromEntries(std::vector<EpochEntry> entries) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const EpochEntry& entry = entries[i];
    if (entry.epoch < 0 || entry.start_offset < 0) {
      return absl::DataLossError(absl::StrCat("negative leader epoch entry ", entry.epoch, " ", entry.start_offset));
    }
    if (i > 0 && (entry.epoch <= entries[i - 1].epoch || entry.start_offset < entries[i - 1].start_offset)) {
      return absl::DataLossError(absl::StrCat("leader epoch entry ", entry.epoch, " ", entry.start_offset,
                                              " does not follow ", entries[i - 1].epoch, " ",
                                              entries[i - 1].start_offset));
    }
  }
  LeaderEpochCache cache;
  cache.entries_ = std::move(entries);
  return cache;
}

bool LeaderEpochCache::Assign(int32_t epoch, int64_t start_offset) {
  if (epoch < 0 || start_offset < 0) {
    log::Warn("ignoring invalid leader epoch entry (epoch {}, start offset {})", epoch, start_offset);
    return false;
  }
  if (!entries_.empty()) {
    const EpochEntry& latest = entries_.back();
    if (epoch == latest.epoch) return false;
    if (epoch < latest.epoch || start_offset < latest.start_offset) {
      log::Warn("ignoring leader epoch {} at offset {}: the latest is epoch {} from offset {}", epoch, start_offset,
                latest.epoch, latest.start_offset);
      return false;
    }
  }
  entries_.push_back(EpochEntry{epoch, start_offset});
  return true;
}

EpochEndOffset LeaderEpochCache::EndOffsetFor(int32_t requested_epoch, int64_t log_end_offset) const {
  constexpr EpochEndOffset kUndefined{kNoLeaderEpoch, kNoEpochEndOffset};
  if (requested_epoch < 0) return kUndefined;
  if (requested_epoch == latest_epoch()) return EpochEndOffset{requested_epoch, log_end_offset};
  auto higher = std::upper_bound(entries_.begin(), entries_.end(), requested_epoch,
                                 [](int32_t epoch, const EpochEntry& entry) { return epoch < entry.epoch; });
  if (higher == entries_.end()) return kUndefined;
  // Data of epochs before the first entry is gone (or never carried an epoch): the requester's
  // epoch ends where the oldest known one starts.
  if (higher == entries_.begin()) return EpochEndOffset{requested_epoch, higher->start_offset};
  return EpochEndOffset{std::prev(higher)->epoch, higher->start_offset};
}

bool LeaderEpochCache::TruncateFromEnd(int64_t offset) {
  auto first_removed = std::lower_bound(entries_.begin(), entries_.end(), offset,
                                        [](const EpochEntry& entry, int64_t o) { return entry.start_offset < o; });
  if (first_removed == entries_.end()) return false;
  entries_.erase(first_removed, entries_.end());
  return true;
}

bool LeaderEpochCache::TruncateFromStart(int64_t offset) {
  auto after = std::upper_bound(entries_.begin(), entries_.end(), offset,
                                [](int64_t o, const EpochEntry& entry) { return o < entry.start_offset; });
  if (after == entries_.begin()) return false;
  auto kept = std::prev(after);
  bool changed = kept != entries_.begin() || kept->start_offset != offset;
  kept->start_offset = offset;
  entries_.erase(entries_.begin(), kept);
  return changed;
}

bool LeaderEpochCache::Clear() {
  if (entries_.empty()) return false;
  entries_.clear();
  return true;
}

int32_t LeaderEpochCache::EpochForOffset(int64_t offset) const {
  auto after = std::upper_bound(entries_.begin(), entries_.end(), offset,
                                [](int64_t o, const EpochEntry& entry) { return o < entry.start_offset; });
  return after == entries_.begin() ? kNoLeaderEpoch : std::prev(after)->epoch;
}

}  // namespace sluice::storage
