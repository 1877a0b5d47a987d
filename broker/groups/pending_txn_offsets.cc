#include "broker/groups/pending_txn_offsets.h"

namespace sluice::broker::groups {

void PendingTxnOffsets::Add(int64_t producer_id, int32_t partition, const std::string& group,
                            const std::vector<std::pair<TopicPartition, CommittedOffset>>& offsets) {
  auto& group_offsets = pending_[{producer_id, partition}][group];
  for (const auto& [tp, offset] : offsets) group_offsets[tp] = offset;
}

void PendingTxnOffsets::Remove(int64_t producer_id, int32_t partition, const std::string& group,
                               const std::vector<std::pair<TopicPartition, CommittedOffset>>& offsets) {
  auto it = pending_.find({producer_id, partition});
  if (it == pending_.end()) return;
  if (auto g = it->second.find(group); g != it->second.end()) {
    for (const auto& [tp, offset] : offsets) g->second.erase(tp);
    if (g->second.empty()) it->second.erase(g);
  }
  if (it->second.empty()) pending_.erase(it);
}

void PendingTxnOffsets::Supersede(const std::string& group, const TopicPartition& partition) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (auto g = it->second.find(group); g != it->second.end()) {
      g->second.erase(partition);
      if (g->second.empty()) it->second.erase(g);
    }
    it = it->second.empty() ? pending_.erase(it) : std::next(it);
  }
}

GroupOffsets PendingTxnOffsets::Take(int64_t producer_id, int32_t partition) {
  auto it = pending_.find({producer_id, partition});
  if (it == pending_.end()) return {};
  GroupOffsets taken = std::move(it->second);
  pending_.erase(it);
  return taken;
}

bool PendingTxnOffsets::IsPending(const std::string& group, const TopicPartition& partition) const {
  for (const auto& [key, groups] : pending_) {
    if (auto g = groups.find(group); g != groups.end() && g->second.count(partition) > 0) return true;
  }
  return false;
}

void PendingTxnOffsets::DropPartition(int32_t partition) {
  std::erase_if(pending_, [partition](const auto& entry) { return entry.first.second == partition; });
}

void PendingTxnOffsets::DropGroup(const std::string& group) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    it->second.erase(group);
    it = it->second.empty() ? pending_.erase(it) : std::next(it);
  }
}

void PendingTxnOffsets::Merge(PendingTxnOffsets other) {
  for (auto& [key, groups] : other.pending_) {
    for (auto& [group, offsets] : groups) {
      for (auto& [tp, offset] : offsets) pending_[key][group][tp] = std::move(offset);
    }
  }
}

}  // namespace sluice::broker::groups
