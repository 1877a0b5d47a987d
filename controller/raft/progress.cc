#include "controller/raft/progress.h"

#include <algorithm>

namespace sluice::raft {

bool Progress::IsPaused(size_t max_inflight) const {
  switch (state_) {
    case State::kProbe:
      return probe_sent_;
    case State::kReplicate:
      return inflight_.size() >= max_inflight;
    case State::kSnapshot:
      return true;
  }
  return true;
}

void Progress::BecomeProbe() {
  if (state_ == State::kSnapshot) {
    next_ = std::max(match_ + 1, pending_snapshot_ + 1);
  } else {
    next_ = match_ + 1;
  }
  state_ = State::kProbe;
  probe_sent_ = false;
  pending_snapshot_ = 0;
  stalled_ticks_ = 0;
  inflight_.clear();
}

void Progress::BecomeReplicate() {
  state_ = State::kReplicate;
  next_ = match_ + 1;
  probe_sent_ = false;
  pending_snapshot_ = 0;
  stalled_ticks_ = 0;
  inflight_.clear();
}

void Progress::BecomeSnapshot(uint64_t snapshot_index) {
  state_ = State::kSnapshot;
  pending_snapshot_ = snapshot_index;
  stalled_ticks_ = 0;
  inflight_.clear();
}

void Progress::SentEntries(uint64_t last, bool had_entries) {
  if (state_ == State::kReplicate) {
    if (had_entries) {
      next_ = last + 1;
      inflight_.push_back(last);
    }
  } else if (state_ == State::kProbe) {
    probe_sent_ = true;
  }
}

bool Progress::MaybeUpdate(uint64_t index) {
  bool updated = false;
  if (match_ < index) {
    match_ = index;
    updated = true;
    probe_sent_ = false;
    stalled_ticks_ = 0;
  }
  next_ = std::max(next_, index + 1);
  while (!inflight_.empty() && inflight_.front() <= index) inflight_.pop_front();
  return updated;
}

bool Progress::MaybeDecrTo(uint64_t rejected, uint64_t hint) {
  if (state_ == State::kReplicate) {
    if (rejected <= match_) return false;
    next_ = match_ + 1;
    return true;
  }
  if (next_ - 1 != rejected) return false;
  next_ = std::max(std::min(rejected, hint + 1), match_ + 1);
  probe_sent_ = false;
  return true;
}

}  // namespace sluice::raft
