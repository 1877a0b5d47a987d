// Targeted scenarios for the pure Raft core, driven synchronously: every Ready is "persisted"
// at once and its messages delivered in order, unless a test cuts links.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "controller/raft/configuration.h"
#include "controller/raft/raft.h"

namespace {

using namespace sluice::raft;

class Cluster {
 public:
  explicit Cluster(std::vector<uint64_t> voters, std::vector<uint64_t> extra = {}) {
    pb::Configuration config;
    for (uint64_t v : voters) config.add_voters(v);
    for (uint64_t id : voters) Add(id, config);
    for (uint64_t id : extra) Add(id, pb::Configuration());
  }

  Raft& node(uint64_t id) { return *nodes_.at(id); }
  std::vector<pb::Entry>& applied(uint64_t id) { return applied_[id]; }
  std::vector<ReadState>& reads(uint64_t id) { return reads_[id]; }
  std::vector<Ready>& readies(uint64_t id) { return readies_[id]; }
  void Cut(uint64_t a, uint64_t b) { cut_.insert({a, b}), cut_.insert({b, a}); }
  void Isolate(uint64_t a) {
    for (auto& [id, n] : nodes_) {
      if (id != a) Cut(a, id);
    }
  }
  void Heal() { cut_.clear(); }

  // Delivers messages until no node has anything left to say.
  void Settle() {
    for (bool progress = true; progress;) {
      progress = false;
      for (auto& [id, n] : nodes_) {
        if (!n->HasReady()) continue;
        progress = true;
        Ready rd = n->GetReady();
        for (const pb::Entry& e : rd.committed_entries) applied_[id].push_back(e);
        for (const ReadState& r : rd.read_states) reads_[id].push_back(r);
        std::vector<pb::Message> msgs = rd.messages;
        readies_[id].push_back(std::move(rd));
        n->Advance();
        for (const pb::Message& m : msgs) {
          if (cut_.count({m.from(), m.to()}) || !nodes_.count(m.to())) continue;
          REQUIRE(nodes_[m.to()]->Step(m).ok());
        }
      }
    }
  }

  void Tick(uint64_t id, int times = 1) {
    for (int i = 0; i < times; ++i) {
      nodes_.at(id)->Tick();
      Settle();
    }
  }
  void TickAll(int times) {
    for (int i = 0; i < times; ++i) {
      for (auto& [id, n] : nodes_) n->Tick();
      Settle();
    }
  }
  // Ticks `id` alone until it leads.
  void Elect(uint64_t id) {
    for (int i = 0; i < 100 && node(id).role() != Role::kLeader; ++i) Tick(id);
    REQUIRE(node(id).role() == Role::kLeader);
  }

 private:
  void Add(uint64_t id, const pb::Configuration& config) {
    RaftOptions o;
    o.id = id;
    o.seed = id;
    PersistentState ps;
    *ps.snapshot.mutable_meta()->mutable_config() = config;
    auto r = Raft::Create(o, ps);
    REQUIRE(r.ok());
    nodes_[id] = std::move(*r);
  }

  std::map<uint64_t, std::unique_ptr<Raft>> nodes_;
  std::map<uint64_t, std::vector<pb::Entry>> applied_;
  std::map<uint64_t, std::vector<ReadState>> reads_;
  std::map<uint64_t, std::vector<Ready>> readies_;
  std::set<std::pair<uint64_t, uint64_t>> cut_;
};

// Built with append: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string at -O3.
std::string Numbered(std::string prefix, uint64_t n) {
  prefix.append(std::to_string(n));
  return prefix;
}

std::vector<std::string> Data(const std::vector<pb::Entry>& entries) {
  std::vector<std::string> out;
  for (const pb::Entry& e : entries) {
    if (e.type() == pb::ENTRY_NORMAL && !e.data().empty()) out.push_back(e.data());
  }
  return out;
}

TEST_CASE("raft: a single voter elects itself and commits") {
  Cluster c({1});
  c.Elect(1);
  auto pos = c.node(1).Propose("x");
  REQUIRE(pos.ok());
  c.Settle();
  CHECK(c.node(1).commit() == pos->index);
  CHECK(Data(c.applied(1)) == std::vector<std::string>{"x"});
}

TEST_CASE("raft: three voters replicate and apply the same entries") {
  Cluster c({1, 2, 3});
  c.Elect(1);
  for (int i = 0; i < 50; ++i) REQUIRE(c.node(1).Propose(Numbered("e", i)).ok());
  c.Settle();
  c.TickAll(1);  // heartbeat carries the final commit index to followers
  CHECK(c.applied(1).size() == c.applied(2).size());
  CHECK(Data(c.applied(2)) == Data(c.applied(1)));
  CHECK(Data(c.applied(3)).size() == 50);
  CHECK(c.node(2).leader() == 1);
}

TEST_CASE("raft: followers refuse proposals and name the leader") {
  Cluster c({1, 2, 3});
  c.Elect(1);
  auto r = c.node(2).Propose("x");
  REQUIRE_FALSE(r.ok());
  CHECK(absl::IsFailedPrecondition(r.status()));
  CHECK(std::string(r.status().message()).find("leader is 1") != std::string::npos);
}

TEST_CASE("raft: the vote is in the same Ready as the vote message (durable before sent)") {
  Cluster c({1, 2, 3});
  c.Elect(1);
  bool seen = false;
  for (const Ready& rd : c.readies(2)) {
    for (const pb::Message& m : rd.messages) {
      if (m.type() == pb::VOTE_RESP && !m.reject()) {
        REQUIRE(rd.hard_state.has_value());
        CHECK(rd.hard_state->vote() == 1);
        CHECK(rd.hard_state->term() == m.term());
        seen = true;
      }
    }
  }
  CHECK(seen);
}

TEST_CASE("raft: pre-vote keeps an isolated node from inflating its term") {
  Cluster c({1, 2, 3});
  c.Elect(1);
  const uint64_t term = c.node(1).term();
  c.Isolate(3);
  c.TickAll(100);
  CHECK(c.node(3).term() == term);
  c.Heal();
  c.TickAll(5);
  CHECK(c.node(1).role() == Role::kLeader);
  CHECK(c.node(1).term() == term);
}

TEST_CASE("raft: check-quorum makes an isolated leader step down") {
  Cluster c({1, 2, 3});
  c.Elect(1);
  c.Isolate(1);
  c.TickAll(30);
  CHECK(c.node(1).role() != Role::kLeader);
  int leaders = 0;
  for (uint64_t id : {2, 3}) leaders += c.node(id).role() == Role::kLeader;
  CHECK(leaders == 1);
}

TEST_CASE("raft: a node with a stale log cannot win") {
  Cluster c({1, 2, 3});
  c.Elect(1);
  c.Isolate(3);
  REQUIRE(c.node(1).Propose("only-on-1-and-2").ok());
  c.Settle();
  c.Heal();
  c.Isolate(1);
  // Node 3 times out first but node 2 refuses it: node 2 has the newer entry.
  for (int i = 0; i < 100 && c.node(2).role() != Role::kLeader; ++i) c.TickAll(1);
  CHECK(c.node(2).role() == Role::kLeader);
  CHECK(c.node(3).role() != Role::kLeader);
}

TEST_CASE("raft: leadership transfer hands over to the target") {
  Cluster c({1, 2, 3});
  c.Elect(1);
  REQUIRE(c.node(1).TransferLeadership(3).ok());
  c.Settle();
  CHECK(c.node(3).role() == Role::kLeader);
  CHECK(c.node(1).role() == Role::kFollower);
  CHECK(absl::IsInvalidArgument(c.node(3).TransferLeadership(9)));
}

TEST_CASE("raft: read index is confirmed by a quorum round") {
  Cluster c({1, 2, 3});
  c.Elect(1);
  REQUIRE(c.node(1).Propose("w").ok());
  c.Settle();
  REQUIRE(c.node(1).ReadIndex(77).ok());
  c.Settle();
  REQUIRE(c.reads(1).size() == 1);
  CHECK(c.reads(1)[0].request_id == 77);
  CHECK(c.reads(1)[0].index == c.node(1).commit());
  // Without a quorum, no confirmation.
  c.Isolate(1);
  REQUIRE(c.node(1).ReadIndex(78).ok());
  c.Settle();
  CHECK(c.reads(1).size() == 1);
}

TEST_CASE("raft: membership changes go one at a time; learners follow but do not vote") {
  Cluster c({1, 2, 3}, {4});
  c.Elect(1);
  pb::ConfChange add;
  add.set_type(pb::ADD_LEARNER);
  add.set_node_id(4);
  REQUIRE(c.node(1).ProposeConfChange(add).ok());
  pb::ConfChange again;
  again.set_type(pb::REMOVE_NODE);
  again.set_node_id(2);
  CHECK(absl::IsFailedPrecondition(c.node(1).ProposeConfChange(again).status()));
  c.Settle();
  REQUIRE(c.node(1).Propose("for-learner").ok());
  c.Settle();
  c.TickAll(1);
  CHECK(Data(c.applied(4)) == std::vector<std::string>{"for-learner"});
  CHECK(c.node(4).config().learners_size() == 1);
  // A learner never campaigns.
  for (int i = 0; i < 100; ++i) c.node(4).Tick();
  CHECK(c.node(4).role() == Role::kFollower);

  pb::ConfChange promote;
  promote.set_type(pb::ADD_VOTER);
  promote.set_node_id(4);
  REQUIRE(c.node(1).ProposeConfChange(promote).ok());
  c.Settle();
  CHECK(c.node(1).config().voters_size() == 4);
  REQUIRE(c.node(1).ProposeConfChange(again).ok());  // now remove node 2
  c.Settle();
  CHECK(c.node(1).config().voters_size() == 3);
}

TEST_CASE("raft: a leader that removes itself steps down once the change commits") {
  Cluster c({1, 2, 3});
  c.Elect(1);
  pb::ConfChange remove;
  remove.set_type(pb::REMOVE_NODE);
  remove.set_node_id(1);
  REQUIRE(c.node(1).ProposeConfChange(remove).ok());
  c.Settle();
  CHECK(c.node(1).role() == Role::kFollower);
  c.TickAll(40);
  int leaders = 0;
  for (uint64_t id : {2, 3}) leaders += c.node(id).role() == Role::kLeader;
  CHECK(leaders == 1);
}

TEST_CASE("raft: a lagging new member catches up from a snapshot") {
  Cluster c({1, 2, 3}, {4});
  c.Elect(1);
  for (int i = 0; i < 20; ++i) REQUIRE(c.node(1).Propose(Numbered("e", i)).ok());
  c.Settle();
  REQUIRE(c.node(1).Compact(c.node(1).applied(), Numbered("state-at-", c.node(1).applied())).ok());
  CHECK(absl::IsInvalidArgument(c.node(1).Compact(c.node(1).applied() + 5, "x")));
  pb::ConfChange add;
  add.set_type(pb::ADD_LEARNER);
  add.set_node_id(4);
  REQUIRE(c.node(1).ProposeConfChange(add).ok());
  c.Settle();
  c.TickAll(2);
  bool installed = false;
  for (const Ready& rd : c.readies(4)) installed |= rd.snapshot.has_value();
  CHECK(installed);
  CHECK(c.node(4).log().snapshot_index() > 0);
  CHECK(c.node(4).commit() == c.node(1).commit());
}

TEST_CASE("raft: configuration changes validate one server at a time") {
  pb::Configuration c;
  c.add_voters(1);
  pb::ConfChange cc;
  cc.set_type(pb::REMOVE_NODE);
  cc.set_node_id(1);
  CHECK(absl::IsFailedPrecondition(ApplyConfChange(c, cc).status()));  // last voter
  cc.set_type(pb::ADD_LEARNER);
  cc.set_node_id(3);
  auto with_learner = ApplyConfChange(c, cc);
  REQUIRE(with_learner.ok());
  CHECK(IsLearner(*with_learner, 3));
  CHECK(absl::IsAlreadyExists(ApplyConfChange(*with_learner, cc).status()));
  cc.set_type(pb::ADD_VOTER);
  auto promoted = ApplyConfChange(*with_learner, cc);
  REQUIRE(promoted.ok());
  CHECK(IsVoter(*promoted, 3));
  CHECK_FALSE(IsLearner(*promoted, 3));
  cc.set_node_id(0);
  CHECK(absl::IsInvalidArgument(ApplyConfChange(c, cc).status()));
  cc.set_type(pb::REMOVE_NODE);
  cc.set_node_id(9);
  CHECK(absl::IsNotFound(ApplyConfChange(c, cc).status()));
}

TEST_CASE("raft: an acknowledgement is withdrawn when its entries are overwritten") {
  // Both appends arrive before the follower's next Ready: the first ack must not go out, its
  // entries will never be durable.
  RaftOptions o;
  o.id = 1;
  PersistentState ps;
  for (uint64_t v : {1, 2, 3}) ps.snapshot.mutable_meta()->mutable_config()->add_voters(v);
  auto r = Raft::Create(o, ps);
  REQUIRE(r.ok());
  Raft& n = **r;
  pb::Message old_leader;
  old_leader.set_type(pb::APPEND);
  old_leader.set_from(2);
  old_leader.set_to(1);
  old_leader.set_term(1);
  for (uint64_t i : {1, 2}) {
    pb::Entry* e = old_leader.add_entries();
    e->set_index(i);
    e->set_term(1);
  }
  REQUIRE(n.Step(old_leader).ok());
  pb::Message new_leader = old_leader;
  new_leader.set_from(3);
  new_leader.set_term(2);
  new_leader.clear_entries();
  pb::Entry* e = new_leader.add_entries();
  e->set_index(1);
  e->set_term(2);
  REQUIRE(n.Step(new_leader).ok());
  Ready rd = n.GetReady();
  for (const pb::Message& m : rd.messages) {
    CHECK_FALSE((m.type() == pb::APPEND_RESP && m.to() == 2 && !m.reject()));
  }
  REQUIRE(rd.entries.size() == 1);
  CHECK(rd.entries[0].term() == 2);
}

TEST_CASE("raft: bad input gives errors, not crashes") {
  Cluster c({1, 2, 3});
  pb::Message m;
  m.set_type(pb::APPEND);
  m.set_from(2);
  m.set_to(9);
  m.set_term(1);
  CHECK(absl::IsInvalidArgument(c.node(1).Step(m)));
  m.set_to(1);
  m.set_term(0);
  CHECK(absl::IsInvalidArgument(c.node(1).Step(m)));
  m.set_term(1);
  m.set_type(static_cast<pb::MessageType>(99));
  CHECK(absl::IsInvalidArgument(c.node(1).Step(m)));
  m.set_type(pb::APPEND);
  auto* e = m.add_entries();
  e->set_index(5);  // not contiguous with prev index 0
  e->set_term(1);
  CHECK(absl::IsInvalidArgument(c.node(1).Step(m)));

  RaftOptions o;
  o.id = 1;
  PersistentState gap;
  pb::Entry e1;
  e1.set_index(1);
  e1.set_term(1);
  pb::Entry e3;
  e3.set_index(3);
  e3.set_term(1);
  gap.entries = {e1, e3};
  CHECK(absl::IsDataLoss(Raft::Create(o, gap).status()));
  o.id = 0;
  CHECK(absl::IsInvalidArgument(Raft::Create(o, PersistentState()).status()));
}

TEST_CASE("raft: restart from persisted state keeps term, vote and log") {
  RaftOptions o;
  o.id = 1;
  PersistentState ps;
  ps.snapshot.mutable_meta()->mutable_config()->add_voters(1);
  auto r = Raft::Create(o, ps);
  REQUIRE(r.ok());
  Raft& n = **r;
  for (int i = 0; i < 100 && n.role() != Role::kLeader; ++i) n.Tick();
  PersistentState disk = ps;
  auto persist = [&](Ready& rd) {
    if (rd.hard_state) disk.hard_state = *rd.hard_state;
    for (const pb::Entry& e : rd.entries) disk.entries.push_back(e);
  };
  Ready rd = n.GetReady();
  persist(rd);
  n.Advance();
  REQUIRE(n.Propose("kept").ok());
  rd = n.GetReady();
  persist(rd);
  n.Advance();
  auto restarted = Raft::Create(o, disk);
  REQUIRE(restarted.ok());
  CHECK((*restarted)->term() == n.term());
  CHECK((*restarted)->log().last_index() == n.log().last_index());
  CHECK((*restarted)->log().At(n.log().last_index()).data() == "kept");
}

}  // namespace
