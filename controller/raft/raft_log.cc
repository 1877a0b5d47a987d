#include "controller/raft/raft_log.h"

namespace sluice::raft {

std::optional<uint64_t> RaftLog::Term(uint64_t index) const {
  if (index == snapshot_index()) return snapshot_.meta().term();
  if (index < snapshot_index() || index > last_index()) return std::nullopt;
  return At(index).term();
}

bool RaftLog::MatchTerm(uint64_t index, uint64_t term) const {
  std::optional<uint64_t> t = Term(index);
  return t.has_value() && *t == term;
}

bool RaftLog::IsUpToDate(uint64_t index, uint64_t term) const {
  return term > last_term() || (term == last_term() && index >= last_index());
}

uint64_t RaftLog::FindConflictByTerm(uint64_t index, uint64_t term) const {
  if (index > last_index()) index = last_index();
  while (index > snapshot_index()) {
    if (At(index).term() <= term) return index;
    --index;
  }
  return index;
}

std::vector<pb::Entry> RaftLog::Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  std::vector<pb::Entry> out;
  uint64_t bytes = 0;
  for (uint64_t i = lo; i <= hi; ++i) {
    const pb::Entry& e = At(i);
    bytes += e.data().size() + 16;
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

void RaftLog::TruncateFrom(uint64_t index) {
  while (last_index() >= index && !entries_.empty()) entries_.pop_back();
}

void RaftLog::Compact(pb::Snapshot snapshot) {
  uint64_t new_index = snapshot.meta().index();
  while (!entries_.empty() && entries_.front().index() <= new_index) entries_.pop_front();
  snapshot_ = std::move(snapshot);
}

void RaftLog::Restore(pb::Snapshot snapshot) {
  entries_.clear();
  snapshot_ = std::move(snapshot);
}

}  // namespace sluice::raft
