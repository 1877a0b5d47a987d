#pragma once
// Offsets that TxnOffsetCommit wrote to __consumer_offsets inside a transaction that has not
// ended yet (KIP-98, KIP-447). They become the group's committed offsets when the transaction's
// commit marker reaches their partition, and are dropped on an abort marker. Until then an
// OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT for them, so that a consumer
// taking over a partition does not start from an offset the transaction is about to replace.
//
// Whichever record was appended last decides a partition's offset, as in Kafka: a plain
// OffsetCommit appended after a pending transactional one supersedes it.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "broker/groups/group.h"

namespace sluice::broker::groups {

using GroupOffsets = std::map<std::string, std::map<TopicPartition, CommittedOffset>>;  // by group id

class PendingTxnOffsets {
 public:
  // The producer's transactional offsets for `group`, appended to __consumer_offsets partition
  // `partition`; a later write for the same group partition replaces an earlier one.
  void Add(int64_t producer_id, int32_t partition, const std::string& group,
           const std::vector<std::pair<TopicPartition, CommittedOffset>>& offsets);
  // The append of these offsets failed: forgets them unless a marker took them already.
  void Remove(int64_t producer_id, int32_t partition, const std::string& group,
              const std::vector<std::pair<TopicPartition, CommittedOffset>>& offsets);
  // A plain commit of the group's partition was appended after any pending value for it.
  void Supersede(const std::string& group, const TopicPartition& partition);
  // Removes and returns what the producer's transaction wrote to `partition` (by group).
  GroupOffsets Take(int64_t producer_id, int32_t partition);
  bool IsPending(const std::string& group, const TopicPartition& partition) const;
  // The coordinator no longer leads `partition`, or the group was deleted.
  void DropPartition(int32_t partition);
  void DropGroup(const std::string& group);
  // Adds what a replay found still pending (a partition is only ever loaded when not owned).
  void Merge(PendingTxnOffsets other);
  bool empty() const { return pending_.empty(); }

 private:
  std::map<std::pair<int64_t, int32_t>, GroupOffsets> pending_;  // by (producer id, partition)
};

}  // namespace sluice::broker::groups
