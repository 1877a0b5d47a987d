#pragma once
// Pure Raft state machine (no threads, sockets, clocks or disk), in the shape of etcd's raft:
// the host feeds it ticks, messages and requests, then drains a Ready, makes its contents
// durable, sends its messages, applies its committed entries and calls Advance().
//
// Host loop:
//   raft.Tick() / raft.Step(msg) / raft.Propose(...) ...
//   if (raft.HasReady()) {
//     Ready rd = raft.GetReady();
//     persist rd.snapshot, rd.entries, rd.hard_state (one synced write)
//     send rd.messages; restore rd.snapshot into the state machine; apply rd.committed_entries
//     serve rd.read_states once applied >= their index
//     raft.Advance();
//   }
// Nothing may be fed to the core between GetReady() and Advance(): messages in a Ready may
// depend on every piece of its state being durable (a vote on the term and vote, an append
// acknowledgement on the entries).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/raft/prng.h"
#include "controller/raft/progress.h"
#include "controller/raft/raft.pb.h"
#include "controller/raft/raft_log.h"

namespace sluice::raft {

struct RaftOptions {
  uint64_t id = 0;
  // A follower campaigns after a random timeout in [election_tick, 2 * election_tick).
  int election_tick = 10;
  int heartbeat_tick = 1;
  bool pre_vote = true;
  // The leader steps down when a quorum has not been heard from for an election timeout, and
  // voters ignore candidates while they hear from a live leader (the leader lease).
  bool check_quorum = true;
  size_t max_inflight = 64;          // appends in flight per follower
  uint64_t max_append_bytes = 1 << 20;  // payload bytes per append message
  uint64_t seed = 1;                 // randomizes election timeouts
  // Index the host's state machine already reflects (>= the snapshot index on restart).
  uint64_t applied = 0;
};

// What the host restored from durable storage. A brand-new cluster member bootstraps with an
// index-0 snapshot whose config lists the initial voters; a node that joins later starts with
// an empty config and learns it from the leader.
struct PersistentState {
  pb::HardState hard_state;
  pb::Snapshot snapshot;
  std::vector<pb::Entry> entries;  // contiguous, starting at snapshot index + 1
};

struct ReadState {
  uint64_t request_id;
  uint64_t index;  // serve the read once the state machine has applied this index
};

struct Ready {
  std::optional<pb::HardState> hard_state;
  // Received from the leader: replaces the whole log and the state machine.
  std::optional<pb::Snapshot> snapshot;
  // Delete stored entries at and after entries.front().index(), then append these.
  std::vector<pb::Entry> entries;
  std::vector<pb::Message> messages;  // send only after the above are durable
  std::vector<pb::Entry> committed_entries;
  std::vector<ReadState> read_states;
};

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };
const char* RoleName(Role role);

struct LogPosition {
  uint64_t index;
  uint64_t term;  // the entry is committed iff it is applied at `index` with this term
};

class Raft {
 public:
  static absl::StatusOr<std::unique_ptr<Raft>> Create(const RaftOptions& options,
                                                       PersistentState state);

  void Tick();
  // Malformed or misaddressed messages give InvalidArgument and change nothing.
  absl::Status Step(const pb::Message& message);

  // Leader only (FailedPrecondition otherwise, naming the known leader).
  absl::StatusOr<LogPosition> Propose(std::string data);
  // One server at a time: refused while a previous change is uncommitted or before the leader
  // has committed an entry of its own term.
  absl::StatusOr<LogPosition> ProposeConfChange(const pb::ConfChange& change);
  absl::Status TransferLeadership(uint64_t target);
  // Linearizable read: a ReadState with `request_id` appears in a later Ready once a quorum
  // confirmed this node still leads. Reads pending when leadership is lost are dropped; the
  // host times them out.
  absl::Status ReadIndex(uint64_t request_id);
  // The host took a snapshot of its state machine at `index` (<= applied) and stored it with
  // the log prefix removed; the core drops the prefix too and sends this snapshot to
  // followers that lag behind it.
  absl::Status Compact(uint64_t index, std::string data);

  bool HasReady();
  Ready GetReady();
  void Advance();

  uint64_t id() const { return options_.id; }
  Role role() const { return role_; }
  uint64_t term() const { return term_; }
  uint64_t leader() const { return leader_; }
  uint64_t commit() const { return commit_; }
  uint64_t applied() const { return applied_; }
  const pb::Configuration& config() const { return config_; }
  const RaftLog& log() const { return log_; }
  // Leader only: its view of every other member's log (empty otherwise).
  const std::map<uint64_t, Progress>& progress() const { return progress_; }

 private:
  explicit Raft(const RaftOptions& options, pb::Snapshot snapshot);

  bool promotable() const;
  void ResetTerm(uint64_t term);
  void BecomeFollower(uint64_t term, uint64_t leader);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void Campaign(bool pre_vote, bool force);
  // Records a vote and acts once the election is decided (won or lost).
  void TallyVote(uint64_t from, bool granted);

  void TickElection();
  void TickLeader();

  void StepLeader(const pb::Message& m);
  absl::Status StepCandidate(const pb::Message& m);
  void StepFollower(const pb::Message& m);
  void HandleVoteRequest(const pb::Message& m);
  absl::Status HandleAppend(const pb::Message& m);
  void HandleHeartbeat(const pb::Message& m);
  void HandleSnapshot(const pb::Message& m);
  void HandleAppendResponse(const pb::Message& m);
  void HandleHeartbeatResponse(const pb::Message& m);

  void Send(pb::Message m);
  void DropAcknowledgementsFrom(uint64_t index);
  // Sends the next append (or snapshot) to `to` if its window allows; returns whether sent.
  bool MaybeSendAppend(uint64_t to, bool send_if_empty);
  void SendHeartbeat(uint64_t to, uint64_t read_ctx);
  void BroadcastHeartbeat(uint64_t read_ctx);
  void FlushAppends();

  void AppendEntry(pb::Entry entry);
  // Leader: advances commit_ to the quorum match if that entry is of the current term.
  bool MaybeCommit();
  bool CommittedInCurrentTerm() const;
  void ReleaseReads();
  bool QuorumActive() const;

  // Recomputes config_ from the latest config entry in the log (or the snapshot).
  void RecomputeConfig();
  void SetConfig(const pb::Configuration& config, uint64_t index);
  void SyncProgressWithConfig();
  pb::Configuration ConfigAt(uint64_t index) const;

  uint64_t self_match() const { return unstable_from_ - 1; }
  int randomized_timeout() const { return randomized_election_timeout_; }

  RaftOptions options_;
  Prng prng_;
  RaftLog log_;

  Role role_ = Role::kFollower;
  uint64_t term_ = 0;
  uint64_t vote_ = 0;
  uint64_t leader_ = 0;
  uint64_t commit_ = 0;
  uint64_t applied_ = 0;

  pb::Configuration config_;
  uint64_t config_index_ = 0;  // index of the entry (or snapshot) that defined config_

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  std::map<uint64_t, bool> votes_;

  std::map<uint64_t, Progress> progress_;  // leader: every member but itself
  uint64_t lead_transferee_ = 0;
  bool appends_pending_ = false;  // new entries not yet offered to followers

  struct PendingRead {
    uint64_t request_id;
    uint64_t seq;
  };
  std::vector<PendingRead> pending_reads_;
  uint64_t read_seq_ = 0;
  std::vector<ReadState> read_states_;

  // Durability bookkeeping for Ready.
  uint64_t unstable_from_ = 1;  // first log index not yet handed to the host
  pb::HardState persisted_hard_state_;
  bool snapshot_pending_ = false;
  std::vector<pb::Message> outbox_;
  bool ready_in_progress_ = false;
  uint64_t ready_last_index_ = 0;
  uint64_t ready_applied_ = 0;
  int deferred_ticks_ = 0;
};

}  // namespace sluice::raft
