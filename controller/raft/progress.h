#pragma once
// The leader's view of one follower's log: how far it matches, what to send next, and how
// many appends may be in flight (the pipeline window).

#include <cstddef>
#include <cstdint>
#include <deque>

namespace sluice::raft {

class Progress {
 public:
  enum class State {
    kProbe,      // position unknown: one append per heartbeat until it matches
    kReplicate,  // matched: stream appends optimistically, up to the inflight window
    kSnapshot,   // log compacted past the follower: a snapshot is on its way
  };

  Progress(uint64_t next, bool learner) : next_(next), learner_(learner) {}

  State state() const { return state_; }
  uint64_t match() const { return match_; }
  uint64_t next() const { return next_; }
  bool learner() const { return learner_; }
  void set_learner(bool learner) { learner_ = learner; }
  uint64_t pending_snapshot() const { return pending_snapshot_; }

  bool recent_active() const { return recent_active_; }
  void set_recent_active(bool active) { recent_active_ = active; }
  uint64_t read_ack() const { return read_ack_; }
  void AckRead(uint64_t ctx) { if (ctx > read_ack_) read_ack_ = ctx; }

  // Whether no further append may be sent right now.
  bool IsPaused(size_t max_inflight) const;

  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(uint64_t snapshot_index);

  // Records that an append ending at `last` (possibly empty, then last = next-1) was sent.
  void SentEntries(uint64_t last, bool had_entries);
  // A follower confirmed its log matches through `index`. Returns whether match advanced.
  bool MaybeUpdate(uint64_t index);
  // A follower rejected the append after `rejected`; `hint` is the highest index that may
  // still match. Returns false when the rejection is stale.
  bool MaybeDecrTo(uint64_t rejected, uint64_t hint);
  // A heartbeat answer arrived: let a probe go out again.
  void ResumeProbe() { probe_sent_ = false; }

  // Ticks since match last advanced while behind; lets a leader recover a stalled pipeline
  // or a snapshot whose delivery was lost.
  int stalled_ticks() const { return stalled_ticks_; }
  void TickStalled() { ++stalled_ticks_; }

 private:
  State state_ = State::kProbe;
  uint64_t match_ = 0;
  uint64_t next_;
  bool learner_;
  bool probe_sent_ = false;
  bool recent_active_ = false;
  uint64_t pending_snapshot_ = 0;
  uint64_t read_ack_ = 0;
  int stalled_ticks_ = 0;
  std::deque<uint64_t> inflight_;  // last index of each append in flight
};

}  // namespace sluice::raft
