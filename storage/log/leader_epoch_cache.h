#pragma once
// The leader-epoch cache of a partition replica: for each leader epoch that wrote to the log,
// the offset of its first batch (Kafka's leader-epoch cache, KIP-101 / KIP-279). A follower
// asks the leader where its latest epoch ends (OffsetsForLeaderEpoch) and truncates there.
//
// Invariants: epochs strictly increase, start offsets never decrease, neither is negative.
// Not thread-safe: PartitionLog guards it with its own locks and owns its checkpoint file
// (leader_epoch_checkpoint.h).

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace sluice::storage {

// Kafka's "no epoch" (UNDEFINED_EPOCH, NO_PARTITION_LEADER_EPOCH) and "no end offset"
// (UNDEFINED_EPOCH_OFFSET).
inline constexpr int32_t kNoLeaderEpoch = -1;
inline constexpr int64_t kNoEpochEndOffset = -1;

struct EpochEntry {
  int32_t epoch;
  int64_t start_offset;  // the first offset written in `epoch`
  bool operator==(const EpochEntry&) const = default;
};

struct EpochEndOffset {
  int32_t epoch;
  int64_t end_offset;
  bool operator==(const EpochEndOffset&) const = default;
};

class LeaderEpochCache {
 public:
  LeaderEpochCache() = default;
  // kDataLoss when `entries` break the invariants above (a damaged checkpoint).
  static absl::StatusOr<LeaderEpochCache> FromEntries(std::vector<EpochEntry> entries);

  // Records that `epoch` starts at `start_offset` when it is newer than the latest epoch. The
  // latest epoch again is a no-op; an older epoch, an offset below the latest entry's start or
  // a negative value is ignored with a warning. True when an entry was added.
  bool Assign(int32_t epoch, int64_t start_offset);

  // Where `requested_epoch` ends in this log: the largest epoch <= requested and the start of
  // the first epoch after it, or `log_end_offset` for the latest epoch. Epochs older than every
  // entry answer (requested, first start); a negative or unknown newer epoch answers
  // (kNoLeaderEpoch, kNoEpochEndOffset).
  EpochEndOffset EndOffsetFor(int32_t requested_epoch, int64_t log_end_offset) const;

  // Removes the entries starting at or after `offset` (the log was truncated to `offset`).
  bool TruncateFromEnd(int64_t offset);
  // The log now starts at `offset`: entries whose data lies wholly below it go, and the last
  // entry starting at or below it is kept as starting at `offset`. True when anything changed.
  bool TruncateFromStart(int64_t offset);
  bool Clear();

  int32_t latest_epoch() const { return entries_.empty() ? kNoLeaderEpoch : entries_.back().epoch; }
  // The epoch of the entry covering `offset` (the last one starting at or before it).
  int32_t EpochForOffset(int64_t offset) const;
  const std::vector<EpochEntry>& entries() const { return entries_; }

 private:
  std::vector<EpochEntry> entries_;
};

}  // namespace sluice::storage
