#include "controller/raft/raft.h"

#include <algorithm>
#include <string>
#include <utility>

#include "controller/raft/configuration.h"

namespace sluice::raft {
namespace {

bool IsVoteRequest(pb::MessageType t) { return t == pb::PRE_VOTE || t == pb::VOTE; }
bool IsFromLeader(pb::MessageType t) {
  return t == pb::APPEND || t == pb::HEARTBEAT || t == pb::SNAPSHOT;
}
size_t QuorumOf(size_t voters) { return voters / 2 + 1; }

absl::Status NotLeader(uint64_t leader) {
  return absl::FailedPreconditionError("not the leader (leader is " + std::to_string(leader) +
                                       ")");
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "?";
}

Raft::Raft(const RaftOptions& options, pb::Snapshot snapshot)
    : options_(options), prng_(options.seed), log_(std::move(snapshot)) {}

absl::StatusOr<std::unique_ptr<Raft>> Raft::Create(const RaftOptions& options,
                                                   PersistentState state) {
  if (options.id == 0) return absl::InvalidArgumentError("raft node id must be non-zero");
  if (options.heartbeat_tick < 1 || options.election_tick <= options.heartbeat_tick) {
    return absl::InvalidArgumentError("need 1 <= heartbeat_tick < election_tick");
  }
  if (options.max_inflight == 0) return absl::InvalidArgumentError("max_inflight must be > 0");
  uint64_t expected = state.snapshot.meta().index() + 1;
  uint64_t prev_term = state.snapshot.meta().term();
  for (const pb::Entry& e : state.entries) {
    if (e.index() != expected++ || e.term() < prev_term || e.term() == 0) {
      return absl::DataLossError("stored raft log is not contiguous at index " +
                                 std::to_string(e.index()));
    }
    prev_term = e.term();
  }
  if (state.hard_state.term() < prev_term) {
    return absl::DataLossError("stored term is older than the log");
  }

  std::unique_ptr<Raft> r(new Raft(options, std::move(state.snapshot)));
  for (pb::Entry& e : state.entries) r->log_.Append(std::move(e));
  r->term_ = state.hard_state.term();
  r->vote_ = state.hard_state.vote();
  const uint64_t last = r->log_.last_index();
  r->commit_ = std::min(std::max(state.hard_state.commit(), r->log_.snapshot_index()), last);
  r->applied_ = std::min(std::max(options.applied, r->log_.snapshot_index()), last);
  r->commit_ = std::max(r->commit_, r->applied_);
  r->unstable_from_ = last + 1;
  r->persisted_hard_state_ = state.hard_state;
  r->RecomputeConfig();
  r->BecomeFollower(r->term_, 0);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Roles

bool Raft::promotable() const { return IsVoter(config_, options_.id); }

void Raft::ResetTerm(uint64_t term) {
  if (term != term_) {
    term_ = term;
    vote_ = 0;
  }
  leader_ = 0;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  randomized_election_timeout_ =
      options_.election_tick + static_cast<int>(prng_.Below(options_.election_tick));
  votes_.clear();
  progress_.clear();
  lead_transferee_ = 0;
  pending_reads_.clear();
}

void Raft::BecomeFollower(uint64_t term, uint64_t leader) {
  ResetTerm(term);
  leader_ = leader;
  role_ = Role::kFollower;
}

void Raft::BecomePreCandidate() {
  // The term does not move: a node that cannot win (partitioned, stale log) must not force
  // the rest of the cluster into a new term when it comes back.
  role_ = Role::kPreCandidate;
  leader_ = 0;
  votes_.clear();
  randomized_election_timeout_ =
      options_.election_tick + static_cast<int>(prng_.Below(options_.election_tick));
}

void Raft::BecomeCandidate() {
  ResetTerm(term_ + 1);
  vote_ = options_.id;
  role_ = Role::kCandidate;
}

void Raft::BecomeLeader() {
  ResetTerm(term_);
  role_ = Role::kLeader;
  leader_ = options_.id;
  SyncProgressWithConfig();
  // Entries of earlier terms commit only by committing one of our own.
  pb::Entry noop;
  noop.set_term(term_);
  noop.set_index(log_.last_index() + 1);
  AppendEntry(std::move(noop));
}

void Raft::Campaign(bool pre_vote, bool force) {
  uint64_t vote_term;
  pb::MessageType type;
  if (pre_vote) {
    BecomePreCandidate();
    vote_term = term_ + 1;
    type = pb::PRE_VOTE;
  } else {
    BecomeCandidate();
    vote_term = term_;
    type = pb::VOTE;
  }
  const Role campaign_role = role_;
  const uint64_t campaign_term = term_;
  TallyVote(options_.id, true);
  if (role_ != campaign_role || term_ != campaign_term) return;  // single voter: decided
  for (uint64_t voter : config_.voters()) {
    if (voter == options_.id) continue;
    pb::Message m;
    m.set_type(type);
    m.set_to(voter);
    m.set_term(vote_term);
    m.set_index(log_.last_index());
    m.set_log_term(log_.last_term());
    m.set_force(force);
    Send(std::move(m));
  }
}

void Raft::TallyVote(uint64_t from, bool granted) {
  if (!IsVoter(config_, from)) return;
  votes_.emplace(from, granted);
  size_t yes = 0, no = 0;
  for (const auto& [id, g] : votes_) (g ? yes : no)++;
  const size_t voters = static_cast<size_t>(config_.voters_size());
  if (yes >= QuorumOf(voters)) {
    if (role_ == Role::kPreCandidate) {
      Campaign(/*pre_vote=*/false, /*force=*/false);
    } else {
      BecomeLeader();
    }
  } else if (voters - no < QuorumOf(voters)) {
    BecomeFollower(term_, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Time

void Raft::Tick() {
  if (ready_in_progress_) {
    ++deferred_ticks_;
    return;
  }
  if (role_ == Role::kLeader) {
    TickLeader();
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  ++election_elapsed_;
  if (promotable() && election_elapsed_ >= randomized_election_timeout_) {
    election_elapsed_ = 0;
    Campaign(options_.pre_vote, /*force=*/false);
  }
}

void Raft::TickLeader() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= options_.election_tick) {
    election_elapsed_ = 0;
    if (options_.check_quorum) {
      if (!QuorumActive()) {
        BecomeFollower(term_, 0);
        return;
      }
      for (auto& [id, pr] : progress_) pr.set_recent_active(false);
    }
    lead_transferee_ = 0;  // a transfer that did not finish within an election timeout failed
  }
  for (auto& [id, pr] : progress_) {
    if (pr.state() == Progress::State::kProbe || pr.match() >= log_.last_index()) continue;
    pr.TickStalled();
    // Appends or a snapshot were lost on the way: fall back to probing, which resends.
    if (pr.stalled_ticks() >= options_.election_tick) pr.BecomeProbe();
  }
  if (heartbeat_elapsed_ >= options_.heartbeat_tick) {
    heartbeat_elapsed_ = 0;
    BroadcastHeartbeat(read_seq_);
  }
}

bool Raft::QuorumActive() const {
  size_t active = 0;
  for (uint64_t voter : config_.voters()) {
    if (voter == options_.id) {
      ++active;
      continue;
    }
    auto it = progress_.find(voter);
    if (it != progress_.end() && it->second.recent_active()) ++active;
  }
  return active >= QuorumOf(static_cast<size_t>(config_.voters_size()));
}

// ---------------------------------------------------------------------------------------------
// Messages

absl::Status Raft::Step(const pb::Message& m) {
  if (ready_in_progress_) return absl::FailedPreconditionError("Step between GetReady and Advance");
  if (m.to() != options_.id) return absl::InvalidArgumentError("message for another node");
  if (m.from() == 0 || m.from() == options_.id) {
    return absl::InvalidArgumentError("message with a bad sender");
  }
  if (m.term() == 0) return absl::InvalidArgumentError("message without a term");
  if (m.type() <= pb::MSG_UNKNOWN || m.type() > pb::TIMEOUT_NOW) {
    return absl::InvalidArgumentError("unknown message type");
  }

  if (m.term() > term_) {
    if (IsVoteRequest(m.type())) {
      const bool in_lease = options_.check_quorum && leader_ != 0 &&
                            election_elapsed_ < options_.election_tick;
      if (in_lease && !m.force()) return absl::OkStatus();
    }
    if (m.type() == pb::PRE_VOTE || (m.type() == pb::PRE_VOTE_RESP && !m.reject())) {
      // A pre-vote never moves anyone's term.
    } else {
      BecomeFollower(m.term(), IsFromLeader(m.type()) ? m.from() : 0);
    }
  } else if (m.term() < term_) {
    if ((options_.check_quorum || options_.pre_vote) &&
        (m.type() == pb::APPEND || m.type() == pb::HEARTBEAT)) {
      // Tell a stale leader about the newer term so it steps down.
      pb::Message resp;
      resp.set_type(pb::APPEND_RESP);
      resp.set_to(m.from());
      Send(std::move(resp));
    } else if (m.type() == pb::PRE_VOTE) {
      pb::Message resp;
      resp.set_type(pb::PRE_VOTE_RESP);
      resp.set_to(m.from());
      resp.set_reject(true);
      Send(std::move(resp));
    }
    return absl::OkStatus();
  }

  if (IsVoteRequest(m.type())) {
    HandleVoteRequest(m);
    return absl::OkStatus();
  }
  switch (role_) {
    case Role::kLeader:
      StepLeader(m);
      return absl::OkStatus();
    case Role::kPreCandidate:
    case Role::kCandidate:
      return StepCandidate(m);
    case Role::kFollower:
      break;
  }
  switch (m.type()) {
    case pb::APPEND:
      election_elapsed_ = 0;
      leader_ = m.from();
      return HandleAppend(m);
    case pb::HEARTBEAT:
      election_elapsed_ = 0;
      leader_ = m.from();
      HandleHeartbeat(m);
      break;
    case pb::SNAPSHOT:
      election_elapsed_ = 0;
      leader_ = m.from();
      HandleSnapshot(m);
      break;
    case pb::TIMEOUT_NOW:
      if (promotable()) Campaign(/*pre_vote=*/false, /*force=*/true);
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

void Raft::StepLeader(const pb::Message& m) {
  if (m.type() == pb::APPEND_RESP) {
    HandleAppendResponse(m);
  } else if (m.type() == pb::HEARTBEAT_RESP) {
    HandleHeartbeatResponse(m);
  }
}

absl::Status Raft::StepCandidate(const pb::Message& m) {
  switch (m.type()) {
    case pb::APPEND:
    case pb::HEARTBEAT:
    case pb::SNAPSHOT:
      BecomeFollower(m.term(), m.from());
      return Step(m);  // now as a follower of the same term
    case pb::PRE_VOTE_RESP:
      if (role_ == Role::kPreCandidate) TallyVote(m.from(), !m.reject());
      break;
    case pb::VOTE_RESP:
      if (role_ == Role::kCandidate) TallyVote(m.from(), !m.reject());
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

void Raft::HandleVoteRequest(const pb::Message& m) {
  const bool pre = m.type() == pb::PRE_VOTE;
  const bool can_vote = vote_ == m.from() || (vote_ == 0 && leader_ == 0) ||
                        (pre && m.term() > term_);
  pb::Message resp;
  resp.set_type(pre ? pb::PRE_VOTE_RESP : pb::VOTE_RESP);
  resp.set_to(m.from());
  if (can_vote && log_.IsUpToDate(m.index(), m.log_term())) {
    resp.set_term(m.term());
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = m.from();
    }
  } else {
    resp.set_term(term_);
    resp.set_reject(true);
  }
  Send(std::move(resp));
}

absl::Status Raft::HandleAppend(const pb::Message& m) {
  pb::Message resp;
  resp.set_type(pb::APPEND_RESP);
  resp.set_to(m.from());
  if (m.index() < commit_) {
    resp.set_index(commit_);
    Send(std::move(resp));
    return absl::OkStatus();
  }
  if (!log_.MatchTerm(m.index(), m.log_term())) {
    uint64_t hint = log_.FindConflictByTerm(std::min(m.index(), log_.last_index()), m.log_term());
    resp.set_index(m.index());
    resp.set_reject(true);
    resp.set_reject_hint(hint);
    resp.set_log_term(log_.Term(hint).value_or(0));
    Send(std::move(resp));
    return absl::OkStatus();
  }
  uint64_t prev_term = m.log_term();
  for (int i = 0; i < m.entries_size(); ++i) {
    const pb::Entry& e = m.entries(i);
    if (e.index() != m.index() + 1 + static_cast<uint64_t>(i) || e.term() < prev_term ||
        e.term() > m.term()) {
      return absl::InvalidArgumentError("append with non-contiguous entries");
    }
    if (e.type() == pb::ENTRY_CONFIG && !pb::Configuration().ParseFromString(e.data())) {
      return absl::InvalidArgumentError("append with a malformed configuration entry");
    }
    prev_term = e.term();
  }
  const uint64_t last_new = m.index() + static_cast<uint64_t>(m.entries_size());
  int first_new = m.entries_size();
  for (int i = 0; i < m.entries_size(); ++i) {
    if (!log_.MatchTerm(m.entries(i).index(), m.entries(i).term())) {
      first_new = i;
      break;
    }
  }
  if (first_new < m.entries_size()) {
    const uint64_t conflict = m.entries(first_new).index();
    if (conflict <= commit_) {
      return absl::InternalError("leader tried to overwrite committed entry " +
                                 std::to_string(conflict));
    }
    bool config_changed = false;
    if (conflict <= log_.last_index()) {
      config_changed = config_index_ >= conflict;
      log_.TruncateFrom(conflict);
      unstable_from_ = std::min(unstable_from_, conflict);
      DropAcknowledgementsFrom(conflict);
    }
    for (int i = first_new; i < m.entries_size(); ++i) {
      if (m.entries(i).type() == pb::ENTRY_CONFIG) config_changed = true;
      log_.Append(m.entries(i));
    }
    if (config_changed) RecomputeConfig();
  }
  commit_ = std::max(commit_, std::min(m.commit(), last_new));
  resp.set_index(last_new);
  Send(std::move(resp));
  return absl::OkStatus();
}

void Raft::HandleHeartbeat(const pb::Message& m) {
  // The leader sends min(match, commit), so everything up to it matches its log.
  commit_ = std::max(commit_, std::min(m.commit(), log_.last_index()));
  pb::Message resp;
  resp.set_type(pb::HEARTBEAT_RESP);
  resp.set_to(m.from());
  resp.set_read_ctx(m.read_ctx());
  Send(std::move(resp));
}

void Raft::HandleSnapshot(const pb::Message& m) {
  const pb::SnapshotMeta& meta = m.snapshot().meta();
  pb::Message resp;
  resp.set_type(pb::APPEND_RESP);
  resp.set_to(m.from());
  if (meta.index() <= commit_ || meta.term() == 0 || meta.term() > m.term()) {
    resp.set_index(commit_);
  } else if (log_.MatchTerm(meta.index(), meta.term())) {
    // We already hold that prefix: just learn that it is committed.
    commit_ = meta.index();
    resp.set_index(commit_);
  } else {
    log_.Restore(m.snapshot());
    DropAcknowledgementsFrom(meta.index() + 1);
    commit_ = meta.index();
    applied_ = meta.index();
    unstable_from_ = meta.index() + 1;
    snapshot_pending_ = true;
    SetConfig(meta.config(), meta.index());
    resp.set_index(meta.index());
  }
  Send(std::move(resp));
}

void Raft::HandleAppendResponse(const pb::Message& m) {
  auto it = progress_.find(m.from());
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.set_recent_active(true);
  if (m.reject()) {
    uint64_t next_probe = m.reject_hint();
    if (m.log_term() > 0) next_probe = log_.FindConflictByTerm(m.reject_hint(), m.log_term());
    if (pr.MaybeDecrTo(m.index(), next_probe)) {
      if (pr.state() == Progress::State::kReplicate) pr.BecomeProbe();
      MaybeSendAppend(m.from(), /*send_if_empty=*/true);
    }
    return;
  }
  const bool was_paused = pr.IsPaused(options_.max_inflight);
  if (!pr.MaybeUpdate(m.index())) return;
  if (pr.state() == Progress::State::kProbe) {
    pr.BecomeReplicate();
  } else if (pr.state() == Progress::State::kSnapshot && pr.match() >= log_.snapshot_index()) {
    pr.BecomeReplicate();
  }
  if (MaybeCommit()) {
    ReleaseReads();
    if (role_ != Role::kLeader) return;
  }
  if (was_paused) MaybeSendAppend(m.from(), /*send_if_empty=*/false);
  while (MaybeSendAppend(m.from(), /*send_if_empty=*/false)) {
  }
  if (m.from() == lead_transferee_ && pr.match() == log_.last_index()) {
    pb::Message now;
    now.set_type(pb::TIMEOUT_NOW);
    now.set_to(m.from());
    Send(std::move(now));
  }
}

void Raft::HandleHeartbeatResponse(const pb::Message& m) {
  auto it = progress_.find(m.from());
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.set_recent_active(true);
  pr.ResumeProbe();
  pr.AckRead(m.read_ctx());
  if (pr.match() < log_.last_index()) {
    // A probe must go out even with nothing new: the follower may lack what we already have.
    MaybeSendAppend(m.from(), /*send_if_empty=*/pr.state() == Progress::State::kProbe);
  }
  ReleaseReads();
}

// ---------------------------------------------------------------------------------------------
// Sending

void Raft::DropAcknowledgementsFrom(uint64_t index) {
  // An acknowledgement still in the outbox for entries we just replaced would reach the
  // leader after the Ready is durable, yet claim entries that never will be.
  std::erase_if(outbox_, [index](const pb::Message& m) {
    return m.type() == pb::APPEND_RESP && !m.reject() && m.index() >= index;
  });
}

void Raft::Send(pb::Message m) {
  m.set_from(options_.id);
  if (m.term() == 0) m.set_term(term_);
  outbox_.push_back(std::move(m));
}

bool Raft::MaybeSendAppend(uint64_t to, bool send_if_empty) {
  auto it = progress_.find(to);
  if (it == progress_.end()) return false;
  Progress& pr = it->second;
  if (pr.IsPaused(options_.max_inflight)) return false;
  const uint64_t prev = pr.next() - 1;
  if (prev > log_.last_index()) {
    pr.BecomeProbe();
    return false;
  }
  std::optional<uint64_t> prev_term = log_.Term(prev);
  pb::Message m;
  m.set_to(to);
  if (!prev_term.has_value()) {
    m.set_type(pb::SNAPSHOT);
    *m.mutable_snapshot() = log_.snapshot();
    pr.BecomeSnapshot(log_.snapshot_index());
    Send(std::move(m));
    return true;
  }
  std::vector<pb::Entry> entries;
  if (pr.next() <= log_.last_index()) {
    entries = log_.Slice(pr.next(), log_.last_index(), options_.max_append_bytes);
  }
  if (entries.empty() && !send_if_empty) return false;
  m.set_type(pb::APPEND);
  m.set_index(prev);
  m.set_log_term(*prev_term);
  m.set_commit(commit_);
  const uint64_t last = entries.empty() ? prev : entries.back().index();
  for (pb::Entry& e : entries) *m.add_entries() = std::move(e);
  pr.SentEntries(last, m.entries_size() > 0);
  Send(std::move(m));
  return true;
}

void Raft::SendHeartbeat(uint64_t to, uint64_t read_ctx) {
  const Progress& pr = progress_.at(to);
  pb::Message m;
  m.set_type(pb::HEARTBEAT);
  m.set_to(to);
  m.set_commit(std::min(pr.match(), commit_));
  m.set_read_ctx(read_ctx);
  Send(std::move(m));
}

void Raft::BroadcastHeartbeat(uint64_t read_ctx) {
  for (const auto& [id, pr] : progress_) SendHeartbeat(id, read_ctx);
}

void Raft::FlushAppends() {
  appends_pending_ = false;
  if (role_ != Role::kLeader) return;
  for (auto& [id, pr] : progress_) {
    while (MaybeSendAppend(id, /*send_if_empty=*/false)) {
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Log and commit

void Raft::AppendEntry(pb::Entry entry) {
  log_.Append(std::move(entry));
  appends_pending_ = true;
}

bool Raft::MaybeCommit() {
  const int n = config_.voters_size();
  if (n == 0) return false;
  std::vector<uint64_t> matches;
  matches.reserve(static_cast<size_t>(n));
  for (uint64_t voter : config_.voters()) {
    if (voter == options_.id) {
      matches.push_back(self_match());
    } else {
      auto it = progress_.find(voter);
      matches.push_back(it == progress_.end() ? 0 : it->second.match());
    }
  }
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const uint64_t candidate = matches[QuorumOf(static_cast<size_t>(n)) - 1];
  if (candidate <= commit_ || log_.Term(candidate) != term_) return false;
  commit_ = candidate;
  // A leader that removed itself hands over once the removal is committed.
  if (!IsVoter(config_, options_.id) && config_index_ <= commit_) BecomeFollower(term_, 0);
  return true;
}

bool Raft::CommittedInCurrentTerm() const { return log_.Term(commit_) == term_; }

void Raft::ReleaseReads() {
  if (role_ != Role::kLeader || !CommittedInCurrentTerm()) return;
  const size_t quorum = QuorumOf(static_cast<size_t>(config_.voters_size()));
  size_t released = 0;
  for (const PendingRead& read : pending_reads_) {
    size_t acks = 0;
    for (uint64_t voter : config_.voters()) {
      if (voter == options_.id) {
        ++acks;
        continue;
      }
      auto it = progress_.find(voter);
      if (it != progress_.end() && it->second.read_ack() >= read.seq) ++acks;
    }
    if (acks < quorum) break;
    read_states_.push_back(ReadState{read.request_id, commit_});
    ++released;
  }
  pending_reads_.erase(pending_reads_.begin(), pending_reads_.begin() + released);
}

// ---------------------------------------------------------------------------------------------
// Configuration

void Raft::SetConfig(const pb::Configuration& config, uint64_t index) {
  config_ = config;
  config_index_ = index;
  if (role_ == Role::kLeader) SyncProgressWithConfig();
}

void Raft::SyncProgressWithConfig() {
  for (auto it = progress_.begin(); it != progress_.end();) {
    it = IsMember(config_, it->first) ? std::next(it) : progress_.erase(it);
  }
  auto add = [&](uint64_t id, bool learner) {
    if (id == options_.id) return;
    auto [it, inserted] = progress_.try_emplace(id, log_.last_index() + 1, learner);
    it->second.set_learner(learner);
  };
  for (uint64_t id : config_.voters()) add(id, false);
  for (uint64_t id : config_.learners()) add(id, true);
  if (lead_transferee_ != 0 && !IsVoter(config_, lead_transferee_)) lead_transferee_ = 0;
}

pb::Configuration Raft::ConfigAt(uint64_t index) const {
  for (uint64_t i = std::min(index, log_.last_index()); i > log_.snapshot_index(); --i) {
    const pb::Entry& e = log_.At(i);
    if (e.type() != pb::ENTRY_CONFIG) continue;
    pb::Configuration config;
    if (config.ParseFromString(e.data())) return config;
  }
  return log_.snapshot().meta().config();
}

void Raft::RecomputeConfig() {
  for (uint64_t i = log_.last_index(); i > log_.snapshot_index(); --i) {
    const pb::Entry& e = log_.At(i);
    if (e.type() != pb::ENTRY_CONFIG) continue;
    pb::Configuration config;
    if (config.ParseFromString(e.data())) {
      SetConfig(config, i);
      return;
    }
  }
  SetConfig(log_.snapshot().meta().config(), log_.snapshot_index());
}

// ---------------------------------------------------------------------------------------------
// Requests

absl::StatusOr<LogPosition> Raft::Propose(std::string data) {
  if (ready_in_progress_) return absl::FailedPreconditionError("Propose during a Ready");
  if (role_ != Role::kLeader) return NotLeader(leader_);
  if (lead_transferee_ != 0) return absl::UnavailableError("leadership transfer in progress");
  pb::Entry e;
  e.set_term(term_);
  e.set_index(log_.last_index() + 1);
  e.set_data(std::move(data));
  LogPosition pos{e.index(), e.term()};
  AppendEntry(std::move(e));
  return pos;
}

absl::StatusOr<LogPosition> Raft::ProposeConfChange(const pb::ConfChange& change) {
  if (ready_in_progress_) return absl::FailedPreconditionError("Propose during a Ready");
  if (role_ != Role::kLeader) return NotLeader(leader_);
  if (lead_transferee_ != 0) return absl::UnavailableError("leadership transfer in progress");
  if (config_index_ > commit_) {
    return absl::FailedPreconditionError("a configuration change is still uncommitted");
  }
  if (!CommittedInCurrentTerm()) {
    return absl::UnavailableError("leader has not committed an entry of its term yet");
  }
  absl::StatusOr<pb::Configuration> next = ApplyConfChange(config_, change);
  if (!next.ok()) return next.status();
  pb::Entry e;
  e.set_term(term_);
  e.set_index(log_.last_index() + 1);
  e.set_type(pb::ENTRY_CONFIG);
  e.set_data(next->SerializeAsString());
  LogPosition pos{e.index(), e.term()};
  AppendEntry(std::move(e));
  SetConfig(*next, pos.index);
  return pos;
}

absl::Status Raft::TransferLeadership(uint64_t target) {
  if (ready_in_progress_) return absl::FailedPreconditionError("transfer during a Ready");
  if (role_ != Role::kLeader) return NotLeader(leader_);
  if (target == options_.id) return absl::OkStatus();
  if (!IsVoter(config_, target)) {
    return absl::InvalidArgumentError("transfer target " + std::to_string(target) +
                                      " is not a voter");
  }
  lead_transferee_ = target;
  election_elapsed_ = 0;
  if (progress_.at(target).match() == log_.last_index()) {
    pb::Message now;
    now.set_type(pb::TIMEOUT_NOW);
    now.set_to(target);
    Send(std::move(now));
  } else {
    MaybeSendAppend(target, /*send_if_empty=*/true);
  }
  return absl::OkStatus();
}

absl::Status Raft::ReadIndex(uint64_t request_id) {
  if (ready_in_progress_) return absl::FailedPreconditionError("ReadIndex during a Ready");
  if (role_ != Role::kLeader) return NotLeader(leader_);
  pending_reads_.push_back(PendingRead{request_id, ++read_seq_});
  BroadcastHeartbeat(read_seq_);
  ReleaseReads();
  return absl::OkStatus();
}

absl::Status Raft::Compact(uint64_t index, std::string data) {
  if (ready_in_progress_) return absl::FailedPreconditionError("Compact during a Ready");
  if (index <= log_.snapshot_index()) {
    return absl::FailedPreconditionError("log already compacted past " + std::to_string(index));
  }
  if (index > applied_) {
    return absl::InvalidArgumentError("cannot snapshot past the applied index");
  }
  pb::Snapshot snapshot;
  snapshot.mutable_meta()->set_index(index);
  snapshot.mutable_meta()->set_term(*log_.Term(index));
  *snapshot.mutable_meta()->mutable_config() = ConfigAt(index);
  snapshot.set_data(std::move(data));
  log_.Compact(std::move(snapshot));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Ready

bool Raft::HasReady() {
  if (ready_in_progress_) return false;
  if (appends_pending_) FlushAppends();
  return !outbox_.empty() || unstable_from_ <= log_.last_index() || snapshot_pending_ ||
         term_ != persisted_hard_state_.term() || vote_ != persisted_hard_state_.vote() ||
         commit_ != persisted_hard_state_.commit() ||
         applied_ < std::min(commit_, log_.last_index()) || !read_states_.empty();
}

Ready Raft::GetReady() {
  if (appends_pending_) FlushAppends();
  Ready rd;
  if (term_ != persisted_hard_state_.term() || vote_ != persisted_hard_state_.vote() ||
      commit_ != persisted_hard_state_.commit()) {
    pb::HardState hs;
    hs.set_term(term_);
    hs.set_vote(vote_);
    hs.set_commit(commit_);
    persisted_hard_state_ = hs;
    rd.hard_state = std::move(hs);
  }
  if (snapshot_pending_) rd.snapshot = log_.snapshot();
  for (uint64_t i = std::max(unstable_from_, log_.first_index()); i <= log_.last_index(); ++i) {
    rd.entries.push_back(log_.At(i));
  }
  const uint64_t apply_to = std::min(commit_, log_.last_index());
  for (uint64_t i = applied_ + 1; i <= apply_to; ++i) rd.committed_entries.push_back(log_.At(i));
  rd.messages = std::move(outbox_);
  outbox_.clear();
  rd.read_states = std::move(read_states_);
  read_states_.clear();
  ready_in_progress_ = true;
  ready_last_index_ = log_.last_index();
  ready_applied_ = std::max(applied_, apply_to);
  return rd;
}

void Raft::Advance() {
  if (!ready_in_progress_) return;
  ready_in_progress_ = false;
  unstable_from_ = ready_last_index_ + 1;
  applied_ = ready_applied_;
  snapshot_pending_ = false;
  if (role_ == Role::kLeader && MaybeCommit()) ReleaseReads();
  while (deferred_ticks_ > 0) {
    --deferred_ticks_;
    Tick();
  }
}

}  // namespace sluice::raft
