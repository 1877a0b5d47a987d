#include "tests/raft/simulator.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_split.h"
#include "controller/raft/configuration.h"
#include "controller/raft/prng.h"
#include "controller/raft/raft.h"

namespace sluice::raft::sim {
namespace {

constexpr uint64_t kNominalTick = 10;  // simulated time units per tick

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// Hash of a log prefix: equal chains at an index mean identical logs up to that index.
uint64_t Chain(uint64_t prev, const pb::Entry& e) {
  uint64_t h = Mix(prev ^ Mix(e.term() * 0x9e3779b97f4a7c15ULL + e.index()) ^
                   (static_cast<uint64_t>(e.type()) << 7));
  for (unsigned char c : e.data()) h = (h ^ c) * 0x100000001b3ULL;
  return Mix(h);
}

// Simulated state-machine snapshot: (applied index, chain at it).
std::string EncodeSnapshot(uint64_t index, uint64_t chain) {
  std::string s(16, '\0');
  std::memcpy(s.data(), &index, 8);
  std::memcpy(s.data() + 8, &chain, 8);
  return s;
}
uint64_t SnapshotChain(const pb::Snapshot& snap) {
  if (snap.data().size() != 16) return 0;  // the bootstrap snapshot carries no state
  uint64_t chain;
  std::memcpy(&chain, snap.data().data() + 8, 8);
  return chain;
}

const char* TypeName(pb::MessageType t) {
  switch (t) {
    case pb::PRE_VOTE: return "PRE_VOTE";
    case pb::PRE_VOTE_RESP: return "PRE_VOTE_RESP";
    case pb::VOTE: return "VOTE";
    case pb::VOTE_RESP: return "VOTE_RESP";
    case pb::APPEND: return "APPEND";
    case pb::APPEND_RESP: return "APPEND_RESP";
    case pb::HEARTBEAT: return "HEARTBEAT";
    case pb::HEARTBEAT_RESP: return "HEARTBEAT_RESP";
    case pb::SNAPSHOT: return "SNAPSHOT";
    case pb::TIMEOUT_NOW: return "TIMEOUT_NOW";
    default: return "?";
  }
}

std::string Describe(const pb::Message& m) {
  std::string s = fmt::format("{} {}->{} term={}", TypeName(m.type()), m.from(), m.to(), m.term());
  switch (m.type()) {
    case pb::PRE_VOTE:
    case pb::VOTE:
      s += fmt::format(" last={}/{}{}", m.index(), m.log_term(), m.force() ? " force" : "");
      break;
    case pb::PRE_VOTE_RESP:
    case pb::VOTE_RESP:
      s += m.reject() ? " reject" : " grant";
      break;
    case pb::APPEND:
      s += fmt::format(" prev={}/{} n={} commit={}", m.index(), m.log_term(), m.entries_size(),
                       m.commit());
      break;
    case pb::APPEND_RESP:
      s += fmt::format(" index={}", m.index());
      if (m.reject()) s += fmt::format(" reject hint={}/{}", m.reject_hint(), m.log_term());
      break;
    case pb::HEARTBEAT:
      s += fmt::format(" commit={} ctx={}", m.commit(), m.read_ctx());
      break;
    case pb::HEARTBEAT_RESP:
      s += fmt::format(" ctx={}", m.read_ctx());
      break;
    case pb::SNAPSHOT:
      s += fmt::format(" snap={}/{}", m.snapshot().meta().index(), m.snapshot().meta().term());
      break;
    default:
      break;
  }
  return s;
}

std::string ConfigString(const pb::Configuration& c) {
  std::string s = "voters{";
  for (uint64_t v : c.voters()) s += fmt::format("{} ", v);
  s += "} learners{";
  for (uint64_t v : c.learners()) s += fmt::format("{} ", v);
  return s + "}";
}

struct Violation {
  std::string what;
};

struct Node {
  uint64_t id = 0;
  bool up = true;
  uint64_t incarnation = 0;
  uint64_t tick_period = kNominalTick;
  std::unique_ptr<Raft> raft;

  // Simulated disk: only what went through a completed Ready (or a host compaction).
  pb::HardState hard_state;
  pb::Snapshot snapshot;
  uint64_t snapshot_chain = 0;
  std::deque<pb::Entry> log;
  std::deque<uint64_t> chains;  // chain at each disk log entry

  // Volatile state machine.
  uint64_t sm_index = 0;
  uint64_t sm_chain = 0;

  bool busy = false;  // a Ready is being written
  Ready ready;
  std::deque<pb::Message> backlog;  // arrived while busy
  int deferred_ticks = 0;

  Role seen_role = Role::kFollower;
  uint64_t seen_term = 0;
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& options) : options_(options), prng_(options.seed) {}

  SimResult Run() {
    try {
      Setup();
      Loop();
      FinalChecks();
    } catch (const Violation& v) {
      result_.ok = false;
      result_.failure = fmt::format("seed {}: t={}: {}", options_.seed, now_, v.what);
    }
    if (options_.trace) result_.trace.assign(trace_.begin(), trace_.end());
    return std::move(result_);
  }

 private:
  enum class Kind { kTick, kDeliver, kPersistDone, kRestart, kFault, kClient };
  struct Event {
    uint64_t time;
    uint64_t seq;
    Kind kind;
    uint64_t node;
    uint64_t incarnation;
    size_t message_slot;
    bool operator>(const Event& o) const {
      return time != o.time ? time > o.time : seq > o.seq;
    }
  };

  [[noreturn]] void Fail(std::string what) { throw Violation{std::move(what)}; }

  template <typename... Args>
  void Trace(fmt::format_string<Args...> f, Args&&... args) {
    if (!options_.trace) return;
    trace_.push_back(fmt::format("t={:<6} ", now_) + fmt::format(f, std::forward<Args>(args)...));
    if (trace_.size() > options_.trace_events) trace_.pop_front();
  }

  void Schedule(uint64_t delay, Kind kind, uint64_t node, uint64_t incarnation = 0,
                size_t slot = 0) {
    queue_.push(Event{now_ + delay, next_seq_++, kind, node, incarnation, slot});
  }

  Node& NodeById(uint64_t id) { return nodes_[id - 1]; }

  // ------------------------------------------------------------------------------------------
  // Setup and main loop

  void Setup() {
    const FaultSet& f = options_.faults;
    const int spares = f.member ? 2 : 0;
    // Small batches and windows widen the gaps between "some entries acknowledged" and "all",
    // where subtle commit bugs live.
    max_inflight_ = 2 + prng_.Below(15);
    max_append_bytes_ = prng_.Percent(25) ? 1 : 64 + prng_.Below(256);
    pb::Configuration initial;
    for (int i = 1; i <= options_.nodes; ++i) initial.add_voters(static_cast<uint64_t>(i));
    nodes_.resize(static_cast<size_t>(options_.nodes + spares));
    for (size_t i = 0; i < nodes_.size(); ++i) {
      Node& n = nodes_[i];
      n.id = i + 1;
      n.tick_period = f.skew ? kNominalTick - 3 + prng_.Below(7) : kNominalTick;
      if (n.id <= static_cast<uint64_t>(options_.nodes)) {
        *n.snapshot.mutable_meta()->mutable_config() = initial;
      }
      Boot(n);
    }
    loss_percent_ = f.loss ? prng_.Below(15) : 0;
    dup_percent_ = f.duplicate ? prng_.Below(6) : 0;
    max_delay_ = f.reorder ? 5 + prng_.Below(30) : 3;
    compact_every_ = f.snapshot ? 5 + prng_.Below(30) : 0;
    fault_end_ = static_cast<uint64_t>(options_.fault_ticks) * kNominalTick;
    deadline_ = fault_end_ + static_cast<uint64_t>(options_.liveness_ticks) * kNominalTick;
    Schedule(kNominalTick, Kind::kClient, 0);
    if (AnyNetworkOrCrashFault()) Schedule(20 + prng_.Below(100), Kind::kFault, 0);
  }

  bool AnyNetworkOrCrashFault() const {
    const FaultSet& f = options_.faults;
    return f.partition || f.one_way || f.crash;
  }

  void Boot(Node& n) {
    RaftOptions ro;
    ro.id = n.id;
    ro.election_tick = 10;
    ro.heartbeat_tick = 1;
    ro.max_inflight = max_inflight_;
    ro.max_append_bytes = max_append_bytes_;
    ro.seed = Mix(options_.seed * 1000003 + n.id * 7919 + n.incarnation);
    ro.applied = n.snapshot.meta().index();
    PersistentState ps;
    ps.hard_state = n.hard_state;
    ps.snapshot = n.snapshot;
    ps.entries.assign(n.log.begin(), n.log.end());
    absl::StatusOr<std::unique_ptr<Raft>> r = Raft::Create(ro, std::move(ps));
    if (!r.ok()) Fail(fmt::format("node {} failed to restart: {}", n.id, r.status().ToString()));
    n.raft = std::move(*r);
    n.sm_index = n.snapshot.meta().index();
    n.sm_chain = n.snapshot_chain;
    n.up = true;
    n.busy = false;
    n.backlog.clear();
    n.deferred_ticks = 0;
    n.seen_role = Role::kFollower;
    n.seen_term = n.raft->term();
    Schedule(1 + prng_.Below(n.tick_period), Kind::kTick, n.id, n.incarnation);
  }

  void Loop() {
    while (!queue_.empty()) {
      Event ev = queue_.top();
      queue_.pop();
      now_ = ev.time;
      if (now_ > deadline_) {
        if (!liveness_committed_) {
          Fail(fmt::format("liveness: no committed proposal within {} ticks after faults stopped",
                           options_.liveness_ticks));
        }
        Fail(fmt::format("liveness: members did not catch up with index {} within {} ticks",
                         liveness_index_, 10 * options_.liveness_ticks));
      }
      switch (ev.kind) {
        case Kind::kTick:
          OnTick(ev);
          break;
        case Kind::kDeliver:
          OnDeliver(ev);
          break;
        case Kind::kPersistDone:
          OnPersistDone(ev);
          break;
        case Kind::kRestart:
          OnRestart(ev);
          break;
        case Kind::kFault:
          OnFault();
          break;
        case Kind::kClient:
          if (OnClient()) return;
          break;
      }
    }
    Fail("event queue ran dry");
  }

  // ------------------------------------------------------------------------------------------
  // Node events

  void OnTick(const Event& ev) {
    Node& n = NodeById(ev.node);
    if (!n.up || n.incarnation != ev.incarnation) return;
    if (n.busy) {
      ++n.deferred_ticks;
    } else {
      n.raft->Tick();
      AfterInput(n);
    }
    Schedule(n.tick_period, Kind::kTick, n.id, n.incarnation);
  }

  void OnDeliver(const Event& ev) {
    pb::Message m = std::move(in_flight_[ev.message_slot]);
    free_slots_.push_back(ev.message_slot);
    if (m.to() == 0 || m.to() > nodes_.size()) return;
    Node& n = NodeById(m.to());
    if (!n.up) return;
    if (n.busy) {
      n.backlog.push_back(std::move(m));
      return;
    }
    StepNode(n, m);
    AfterInput(n);
  }

  void StepNode(Node& n, const pb::Message& m) {
    if (options_.trace) Trace("n{} <- {}", n.id, Describe(m));
    absl::Status s = n.raft->Step(m);
    if (!s.ok()) Fail(fmt::format("node {} rejected {}: {}", n.id, Describe(m), s.ToString()));
  }

  // After any input: check the role invariants, then start writing the next Ready.
  void AfterInput(Node& n) {
    CheckRole(n);
    if (n.busy || !n.raft->HasReady()) return;
    n.ready = n.raft->GetReady();
    n.busy = true;
    Schedule(prng_.Below(4), Kind::kPersistDone, n.id, n.incarnation);
  }

  void OnPersistDone(const Event& ev) {
    Node& n = NodeById(ev.node);
    if (!n.up || n.incarnation != ev.incarnation || !n.busy) return;
    Ready rd = std::move(n.ready);
    Persist(n, rd);
    for (pb::Message& m : rd.messages) {
      CheckDurableBeforeSend(n, m);
      Transmit(std::move(m));
    }
    if (rd.snapshot.has_value()) RestoreStateMachine(n, *rd.snapshot);
    for (const pb::Entry& e : rd.committed_entries) Apply(n, e);
    for (const ReadState& rs : rd.read_states) ConfirmRead(n, rs);
    n.raft->Advance();
    n.busy = false;
    while (!n.backlog.empty()) {
      pb::Message m = std::move(n.backlog.front());
      n.backlog.pop_front();
      StepNode(n, m);
      CheckRole(n);
    }
    for (; n.deferred_ticks > 0; --n.deferred_ticks) {
      n.raft->Tick();
      CheckRole(n);
    }
    MaybeCompact(n);
    AfterInput(n);
  }

  void Crash(Node& n) {
    Trace("CRASH n{} (term {}, last {}, disk last {})", n.id, n.raft->term(),
          n.raft->log().last_index(), n.snapshot.meta().index() + n.log.size());
    n.up = false;
    n.busy = false;
    n.raft.reset();
    n.backlog.clear();
    ++n.incarnation;
  }

  void OnRestart(const Event& ev) {
    Node& n = NodeById(ev.node);
    if (n.up || n.incarnation != ev.incarnation) return;
    Boot(n);
    Trace("RESTART n{} term={} vote={} disk last={}", n.id, n.hard_state.term(),
          n.hard_state.vote(), n.snapshot.meta().index() + n.log.size());
  }

  // ------------------------------------------------------------------------------------------
  // Disk, network, state machine

  void Persist(Node& n, const Ready& rd) {
    if (rd.snapshot.has_value()) {
      n.snapshot = *rd.snapshot;
      n.snapshot_chain = SnapshotChain(n.snapshot);
      n.log.clear();
      n.chains.clear();
      ++result_.snapshots_installed;
      if (options_.trace) Trace("n{} installs snapshot {}/{} {}", n.id, n.snapshot.meta().index(),
            n.snapshot.meta().term(), ConfigString(n.snapshot.meta().config()));
    }
    if (!rd.entries.empty()) {
      const uint64_t first = rd.entries.front().index();
      while (!n.log.empty() && n.log.back().index() >= first) {
        n.log.pop_back();
        n.chains.pop_back();
      }
      const uint64_t disk_last = n.snapshot.meta().index() + n.log.size();
      if (first != disk_last + 1) {
        Fail(fmt::format("node {} was asked to persist entries from {} after disk index {}",
                         n.id, first, disk_last));
      }
      for (const pb::Entry& e : rd.entries) {
        uint64_t prev = n.chains.empty() ? n.snapshot_chain : n.chains.back();
        uint64_t chain = Chain(prev, e);
        n.log.push_back(e);
        n.chains.push_back(chain);
        auto [it, inserted] = log_chains_.try_emplace(std::make_pair(e.index(), e.term()), chain);
        if (!inserted && it->second != chain) {
          Fail(fmt::format("log matching: node {} holds entry {}/{} with a different prefix",
                           n.id, e.index(), e.term()));
        }
      }
    }
    if (rd.hard_state.has_value()) {
      if (rd.hard_state->term() < n.hard_state.term()) {
        Fail(fmt::format("node {} persisted term {} after term {}", n.id, rd.hard_state->term(),
                         n.hard_state.term()));
      }
      n.hard_state = *rd.hard_state;
    }
  }

  // Persistence rules: a vote is durable before it is granted, entries before they are
  // acknowledged.
  void CheckDurableBeforeSend(const Node& n, const pb::Message& m) {
    // A newer durable term also binds: the node can never vote in the older term again.
    if (m.type() == pb::VOTE_RESP && !m.reject() && n.hard_state.term() <= m.term() &&
        (n.hard_state.term() != m.term() || n.hard_state.vote() != m.to())) {
      Fail(fmt::format("durability: node {} granted its term {} vote to {} before persisting it",
                       n.id, m.term(), m.to()));
    }
    if (m.type() == pb::APPEND_RESP && !m.reject()) {
      const uint64_t snap = n.snapshot.meta().index();
      if (m.index() > snap + n.log.size()) {
        Fail(fmt::format("durability: node {} acknowledged index {} with only {} on disk", n.id,
                         m.index(), snap + n.log.size()));
      }
      // The acknowledged prefix must be the leader's, if that leader still leads that term.
      const Node& leader = NodeById(m.to());
      if (m.index() > snap && leader.up && leader.raft->role() == Role::kLeader &&
          leader.raft->term() == m.term()) {
        const uint64_t disk_term = n.log[m.index() - snap - 1].term();
        if (leader.raft->log().Term(m.index()).value_or(disk_term) != disk_term) {
          Fail(fmt::format("durability: node {} acknowledged index {} (term {}) that differs "
                           "from leader {}'s log",
                           n.id, m.index(), disk_term, m.to()));
        }
      }
    }
  }

  void Transmit(pb::Message m) {
    const uint64_t from = m.from(), to = m.to();
    if (blocked_.count({from, to}) > 0) return;
    if (loss_percent_ > 0 && prng_.Percent(loss_percent_)) return;
    int copies = (dup_percent_ > 0 && prng_.Percent(dup_percent_)) ? 2 : 1;
    for (int c = 0; c < copies; ++c) {
      uint64_t delay = 1 + prng_.Below(max_delay_);
      if (options_.faults.reorder && prng_.Percent(2)) delay += 50 + prng_.Below(100);
      // A duplicate may be a replay from long ago, arriving after the cluster moved on.
      if (c > 0 && prng_.Percent(50)) delay += 20 + prng_.Below(400);
      size_t slot;
      if (!free_slots_.empty()) {
        slot = free_slots_.back();
        free_slots_.pop_back();
      } else {
        slot = in_flight_.size();
        in_flight_.emplace_back();
      }
      in_flight_[slot] = (c + 1 < copies) ? m : std::move(m);
      Schedule(delay, Kind::kDeliver, to, 0, slot);
    }
  }

  void RestoreStateMachine(Node& n, const pb::Snapshot& snap) {
    n.sm_index = snap.meta().index();
    n.sm_chain = SnapshotChain(snap);
    CheckCommitted(n, n.sm_index, snap.meta().term(), n.sm_chain);
  }

  void CheckCommitted(const Node& n, uint64_t index, uint64_t term, uint64_t chain) {
    if (index == 0) return;
    if (committed_.size() <= index) committed_.resize(index + 1);
    auto& slot = committed_[index];
    if (slot.chain == 0) {
      slot = {term, chain, result_.max_term};
    } else if (slot.chain != chain || slot.term != term) {
      Fail(fmt::format("state machine safety: node {} applied a different entry at {} "
                       "(term {} vs {})",
                       n.id, index, term, slot.term));
    }
    max_committed_ = std::max(max_committed_, index);
  }

  void Apply(Node& n, const pb::Entry& e) {
    if (e.index() != n.sm_index + 1) {
      Fail(fmt::format("node {} applied index {} after {}", n.id, e.index(), n.sm_index));
    }
    n.sm_chain = Chain(n.sm_chain, e);
    n.sm_index = e.index();
    CheckCommitted(n, e.index(), e.term(), n.sm_chain);
    auto it = proposals_.find({n.id, e.index()});
    if (it != proposals_.end()) {
      if (it->second.term == e.term()) {
        if (it->second.data != e.data()) Fail("proposal acknowledged with someone else's data");
        acknowledged_[e.index()] = e.term();
        max_acknowledged_ = std::max(max_acknowledged_, e.index());
        ++result_.acknowledged;
        if (e.data() == liveness_data_) {
          liveness_committed_ = true;
          liveness_index_ = e.index();
          result_.liveness_ticks = (now_ - fault_end_) / kNominalTick;
          // Catching every member up (possibly one small append at a time) may take longer.
          deadline_ = fault_end_ + 10 * static_cast<uint64_t>(options_.liveness_ticks) * kNominalTick;
        }
      }
      proposals_.erase(it);
    }
    if (e.type() == pb::ENTRY_CONFIG) {
      pb::Configuration c;
      c.ParseFromString(e.data());
      if (options_.trace) Trace("n{} applies config {} at {}", n.id, ConfigString(c), e.index());
    }
  }

  void ConfirmRead(Node& n, const ReadState& rs) {
    auto it = reads_.find(rs.request_id);
    if (it == reads_.end()) Fail("read confirmed twice or never requested");
    if (rs.index < it->second) {
      Fail(fmt::format("linearizability: node {} confirmed read {} at index {} but index {} "
                       "was acknowledged before it was requested",
                       n.id, rs.request_id, rs.index, it->second));
    }
    reads_.erase(it);
    ++result_.reads_confirmed;
  }

  void MaybeCompact(Node& n) {
    if (compact_every_ == 0 || n.busy) return;
    if (n.sm_index < n.raft->log().snapshot_index() + compact_every_) return;
    const uint64_t index = n.sm_index;
    absl::Status s = n.raft->Compact(index, EncodeSnapshot(index, n.sm_chain));
    if (!s.ok()) Fail(fmt::format("node {} compaction failed: {}", n.id, s.ToString()));
    while (!n.log.empty() && n.log.front().index() <= index) {
      if (n.log.front().index() == index && n.chains.front() != n.sm_chain) {
        Fail(fmt::format("node {} applied state differs from its log at {}", n.id, index));
      }
      n.log.pop_front();
      n.chains.pop_front();
    }
    n.snapshot = n.raft->log().snapshot();
    n.snapshot_chain = n.sm_chain;
  }

  // ------------------------------------------------------------------------------------------
  // Invariants on roles

  void CheckRole(Node& n) {
    Raft& r = *n.raft;
    result_.max_term = std::max(result_.max_term, r.term());
    if (r.role() == n.seen_role && r.term() == n.seen_term) return;
    Trace("n{} is {} in term {} (commit {}, last {}/{})", n.id, RoleName(r.role()), r.term(),
          r.commit(), r.log().last_index(), r.log().last_term());
    n.seen_role = r.role();
    n.seen_term = r.term();
    if (r.role() != Role::kLeader) return;
    auto [it, inserted] = leaders_.try_emplace(r.term(), n.id);
    if (!inserted && it->second != n.id) {
      Fail(fmt::format("election safety: nodes {} and {} both lead term {}", it->second, n.id,
                       r.term()));
    }
    // Leader completeness: an entry committed before this term began is in the leader's log.
    // Entries are first seen committed in index order, so the newest such entry suffices.
    for (uint64_t i = max_committed_; i > r.log().snapshot_index(); --i) {
      if (committed_[i].chain == 0 || committed_[i].known_at_term >= r.term()) continue;
      if (r.log().Term(i) != committed_[i].term) {
        Fail(fmt::format("leader completeness: leader {} of term {} lacks committed entry {}",
                         n.id, r.term(), i));
      }
      break;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Faults

  void OnFault() {
    if (now_ >= fault_end_) return;
    const FaultSet& f = options_.faults;
    std::vector<int> choices;
    if (f.partition) choices.insert(choices.end(), {0, 0});
    if (f.one_way) choices.push_back(1);
    if (f.partition || f.one_way) choices.insert(choices.end(), {2, 2});
    if (f.crash) choices.insert(choices.end(), {3, 3});
    const int choice = choices[prng_.Below(choices.size())];
    const uint64_t count = nodes_.size();
    switch (choice) {
      case 0: {  // symmetric split into two random sides
        blocked_.clear();
        std::vector<bool> side(count);
        for (auto&& s : side) s = prng_.Percent(50);
        for (uint64_t a = 1; a <= count; ++a) {
          for (uint64_t b = 1; b <= count; ++b) {
            if (side[a - 1] != side[b - 1]) blocked_.insert({a, b});
          }
        }
        Trace("PARTITION (symmetric, {} links cut)", blocked_.size());
        break;
      }
      case 1: {
        uint64_t a = 1 + prng_.Below(count), b = 1 + prng_.Below(count);
        if (a != b) blocked_.insert({a, b});
        Trace("CUT {} -> {} (one way)", a, b);
        break;
      }
      case 2:
        blocked_.clear();
        Trace("HEAL network");
        break;
      case 3: {
        // Leaders crash half the time: their unreplicated tails are what recovery must handle.
        Node* leader = prng_.Percent(50) ? PickLeader() : nullptr;
        Node& n = leader != nullptr ? *leader : nodes_[prng_.Below(count)];
        if (n.up) {
          Crash(n);
          Schedule(20 + prng_.Below(300), Kind::kRestart, n.id, n.incarnation);
        }
        break;
      }
    }
    Schedule(20 + prng_.Below(150), Kind::kFault, 0);
  }

  void HealEverything() {
    blocked_.clear();
    loss_percent_ = 0;
    dup_percent_ = 0;
    for (Node& n : nodes_) {
      if (!n.up) Boot(n);
    }
    Trace("FAULTS STOP: network healed, every node up");
  }

  // ------------------------------------------------------------------------------------------
  // Clients

  Node* PickLeader() {
    std::vector<Node*> leaders;
    for (Node& n : nodes_) {
      if (n.up && n.raft->role() == Role::kLeader) leaders.push_back(&n);
    }
    if (leaders.empty()) return nullptr;
    return leaders[prng_.Below(leaders.size())];
  }

  // Returns true when the run is complete.
  bool OnClient() {
    if (now_ >= fault_end_) {
      if (!healed_) {
        HealEverything();
        healed_ = true;
      }
      if (LivenessReached()) return true;
      // Random spacing, so the client does not phase-lock with a leader that is always busy
      // writing its heartbeat Ready at the same offset.
      Schedule(1 + prng_.Below(kNominalTick), Kind::kClient, 0);
      return false;
    }
    Node* leader = PickLeader();
    if (leader != nullptr && !leader->busy) {
      const FaultSet& f = options_.faults;
      const uint64_t dice = prng_.Below(100);
      if (f.member && dice < 4) {
        ChangeMembership(*leader);
      } else if (f.transfer && dice < 6) {
        const auto& voters = leader->raft->config().voters();
        uint64_t target = voters[static_cast<int>(prng_.Below(voters.size()))];
        Trace("CLIENT transfer leadership {} -> {}", leader->id, target);
        (void)leader->raft->TransferLeadership(target);
      } else if (f.read && dice < 20) {
        const uint64_t id = ++next_request_;
        if (leader->raft->ReadIndex(id).ok()) reads_[id] = max_acknowledged_;
      } else {
        Propose(*leader, fmt::format("c{}", ++next_request_));
      }
      AfterInput(*leader);
    }
    Schedule(5 + prng_.Below(20), Kind::kClient, 0);
    return false;
  }

  void Propose(Node& leader, std::string data) {
    absl::StatusOr<LogPosition> pos = leader.raft->Propose(data);
    if (options_.trace) {
      Trace("CLIENT propose {} at leader {}: {}", data, leader.id,
            pos.ok() ? fmt::format("index {}", pos->index) : pos.status().ToString());
    }
    if (!pos.ok()) return;
    proposals_[{leader.id, pos->index}] = Proposal{pos->term, std::move(data)};
  }

  void ChangeMembership(Node& leader) {
    const pb::Configuration& c = leader.raft->config();
    pb::ConfChange cc;
    const uint64_t id = 1 + prng_.Below(nodes_.size());
    const int max_voters = options_.nodes + 1;
    const int min_voters = std::max(1, options_.nodes - 1);
    if (IsVoter(c, id)) {
      if (c.voters_size() <= min_voters) return;
      cc.set_type(pb::REMOVE_NODE);
    } else if (IsLearner(c, id)) {
      if (c.voters_size() >= max_voters) {
        cc.set_type(pb::REMOVE_NODE);
      } else {
        cc.set_type(pb::ADD_VOTER);
      }
    } else {
      cc.set_type(pb::ADD_LEARNER);
    }
    cc.set_node_id(id);
    absl::StatusOr<LogPosition> pos = leader.raft->ProposeConfChange(cc);
    if (options_.trace) Trace("CLIENT conf change {} node {} at leader {}: {}", static_cast<int>(cc.type()), id,
          leader.id, pos.ok() ? fmt::format("index {}", pos->index) : pos.status().ToString());
    if (pos.ok()) ++result_.config_changes;
  }

  // Liveness: a leader with a quorum commits a fresh proposal, and every member of its
  // configuration applies it.
  bool LivenessReached() {
    Node* leader = PickLeader();
    if (leader == nullptr) return false;
    if (!liveness_committed_) {
      if (liveness_data_.empty() || !LivenessPending()) {
        liveness_data_ = fmt::format("liveness{}", ++next_request_);
        if (!leader->busy) {
          Propose(*leader, liveness_data_);
          AfterInput(*leader);
        } else {
          liveness_data_.clear();
        }
      }
      return false;
    }
    const pb::Configuration& c = leader->raft->config();
    const uint64_t target = liveness_index_;
    for (const Node& n : nodes_) {
      if (IsMember(c, n.id) && n.sm_index < target) return false;
    }
    return true;
  }

  bool LivenessPending() {
    for (const auto& [key, p] : proposals_) {
      if (p.data == liveness_data_) {
        return NodeById(key.first).up && NodeById(key.first).raft->role() == Role::kLeader;
      }
    }
    return false;
  }

  void FinalChecks() {
    Node* leader = PickLeader();
    if (leader == nullptr) Fail("no leader at the end");
    const RaftLog& log = leader->raft->log();
    for (const auto& [index, term] : acknowledged_) {
      if (index <= log.snapshot_index()) continue;
      if (log.Term(index) != term) {
        Fail(fmt::format("acknowledged entry {} (term {}) is missing from final leader {}",
                         index, term, leader->id));
      }
    }
  }

  struct Proposal {
    uint64_t term;
    std::string data;
  };
  struct CommittedSlot {
    uint64_t term = 0;
    uint64_t chain = 0;
    uint64_t known_at_term = 0;  // highest term in the cluster when first seen committed
  };

  SimOptions options_;
  Prng prng_;
  SimResult result_;
  std::deque<std::string> trace_;

  uint64_t now_ = 0;
  uint64_t next_seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  std::vector<pb::Message> in_flight_;
  std::vector<size_t> free_slots_;
  std::vector<Node> nodes_;

  std::set<std::pair<uint64_t, uint64_t>> blocked_;  // (from, to) links that drop everything
  uint64_t loss_percent_ = 0;
  uint64_t dup_percent_ = 0;
  uint64_t max_delay_ = 3;
  size_t max_inflight_ = 8;
  uint64_t max_append_bytes_ = 256;
  uint64_t compact_every_ = 0;
  uint64_t fault_end_ = 0;
  uint64_t deadline_ = 0;
  bool healed_ = false;

  absl::flat_hash_map<std::pair<uint64_t, uint64_t>, uint64_t> log_chains_;
  std::vector<CommittedSlot> committed_;
  uint64_t max_committed_ = 0;
  absl::flat_hash_map<uint64_t, uint64_t> leaders_;  // term -> leader
  std::map<std::pair<uint64_t, uint64_t>, Proposal> proposals_;  // (node, index)
  std::map<uint64_t, uint64_t> acknowledged_;                     // index -> term
  uint64_t max_acknowledged_ = 0;
  std::map<uint64_t, uint64_t> reads_;  // request id -> max acknowledged index at request
  uint64_t next_request_ = 0;
  std::string liveness_data_;
  uint64_t liveness_index_ = 0;
  bool liveness_committed_ = false;
};

}  // namespace

absl::StatusOr<FaultSet> ParseFaults(std::string_view list) {
  FaultSet f;
  for (absl::string_view raw : absl::StrSplit(absl::string_view(list.data(), list.size()), ',',
                                              absl::SkipEmpty())) {
    const std::string name(raw.data(), raw.size());
    if (name == "all") {
      f = FaultSet{true, true, true, true, true, true, true, true, true, true, true};
    } else if (name == "none") {
      f = FaultSet{};
    } else if (name == "loss") {
      f.loss = true;
    } else if (name == "duplicate" || name == "dup") {
      f.duplicate = true;
    } else if (name == "reorder" || name == "delay") {
      f.reorder = true;
    } else if (name == "partition") {
      f.partition = true;
    } else if (name == "one_way" || name == "oneway") {
      f.one_way = true;
    } else if (name == "crash") {
      f.crash = true;
    } else if (name == "skew") {
      f.skew = true;
    } else if (name == "member") {
      f.member = true;
    } else if (name == "transfer") {
      f.transfer = true;
    } else if (name == "read") {
      f.read = true;
    } else if (name == "snapshot") {
      f.snapshot = true;
    } else {
      return absl::InvalidArgumentError("unknown fault '" + name + "'");
    }
  }
  return f;
}

SimResult RunSimulation(const SimOptions& options) { return Simulation(options).Run(); }

}  // namespace sluice::raft::sim
