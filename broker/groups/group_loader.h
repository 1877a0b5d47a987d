#pragma once
// Replays one __consumer_offsets partition into the groups and offsets it describes: the last
// record per key wins and a tombstone removes the key. Offsets written inside a transaction
// (TxnOffsetCommit) count from their commit marker on and vanish with an abort marker; those
// whose transaction has no marker yet come back pending. Runs off the I/O threads (it reads the
// whole log); the coordinator installs the result on its own thread.

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "broker/groups/group_records.h"
#include "broker/groups/pending_txn_offsets.h"
#include "storage/log/partition_log.h"

namespace sluice::broker::groups {

struct LoadedGroup {
  std::optional<GroupSnapshot> metadata;
  std::map<TopicPartition, CommittedOffset> offsets;
};

struct LoadedPartition {
  std::map<std::string, LoadedGroup> groups;
  PendingTxnOffsets pending;  // transactions still open at the log end
  int64_t records = 0;
};

// Fails only when the log cannot be read; records of unknown versions are skipped and counted
// in the log, so a newer broker's records never stop an older one from loading.
absl::StatusOr<LoadedPartition> LoadGroups(const storage::PartitionLog& log, int32_t partition);

}  // namespace sluice::broker::groups
