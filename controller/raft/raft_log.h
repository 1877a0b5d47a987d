#pragma once
// In-memory Raft log: the last snapshot plus every entry after it. The host persists what
// Ready hands it; this copy is what the core reasons about.

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "controller/raft/raft.pb.h"

namespace sluice::raft {

class RaftLog {
 public:
  explicit RaftLog(pb::Snapshot snapshot) : snapshot_(std::move(snapshot)) {}

  uint64_t snapshot_index() const { return snapshot_.meta().index(); }
  uint64_t first_index() const { return snapshot_index() + 1; }
  uint64_t last_index() const { return snapshot_index() + entries_.size(); }
  uint64_t last_term() const { return *Term(last_index()); }
  const pb::Snapshot& snapshot() const { return snapshot_; }

  // Term of the entry at `index`; nullopt when compacted away or past the end.
  std::optional<uint64_t> Term(uint64_t index) const;
  bool MatchTerm(uint64_t index, uint64_t term) const;
  // Whether a log ending at (last_index, last_term) is at least as up to date as this one.
  bool IsUpToDate(uint64_t last_index, uint64_t last_term) const;
  // Largest index <= `index` whose term is <= `term` (or the first unknown index below it):
  // where a log that has `term` at `index` can diverge from this one at the earliest.
  uint64_t FindConflictByTerm(uint64_t index, uint64_t term) const;

  // Requires first_index() <= index <= last_index().
  const pb::Entry& At(uint64_t index) const { return entries_[index - first_index()]; }
  // Entries in [lo, hi] up to roughly `max_bytes` (always at least one when lo <= hi).
  std::vector<pb::Entry> Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const;

  // Requires entry.index() == last_index() + 1.
  void Append(pb::Entry entry) { entries_.push_back(std::move(entry)); }
  // Removes entries with index >= `index`; requires index > snapshot_index().
  void TruncateFrom(uint64_t index);
  // Replaces the prefix up to snapshot.meta().index() (which must be <= last_index()).
  void Compact(pb::Snapshot snapshot);
  // Discards the whole log in favour of `snapshot`.
  void Restore(pb::Snapshot snapshot);

 private:
  pb::Snapshot snapshot_;
  std::deque<pb::Entry> entries_;
};

}  // namespace sluice::raft
