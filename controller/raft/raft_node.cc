#include "controller/raft/raft_node.h"

#include <chrono>
#include <deque>
#include <thread>
#include <utility>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include "common/absl_compat.h"
#include "common/log.h"
#include "controller/raft/raft_storage_rocksdb.h"
#include "protocol/rpc/client.h"

namespace sluice::raft {

class RaftNode::Impl : public std::enable_shared_from_this<RaftNode::Impl> {
 public:
  Impl(asio::io_context& io, RaftNodeOptions options, StateMachine* sm)
      : io_(io),
        strand_(asio::make_strand(io)),
        timer_(strand_),
        options_(std::move(options)),
        sm_(sm),
        disk_guard_(asio::make_work_guard(disk_io_)) {}

  ~Impl() { JoinDisk(); }

  absl::Status Init() {
    absl::StatusOr<std::unique_ptr<RaftStorage>> storage = RaftStorage::Open(options_.data_dir);
    if (!storage.ok()) return storage.status();
    storage_ = std::move(*storage);
    absl::Status boot = storage_->Bootstrap(options_.bootstrap);
    if (!boot.ok()) return boot;
    absl::StatusOr<PersistentState> state = storage_->Load();
    if (!state.ok()) return state.status();
    if (state->snapshot.meta().index() > 0) {
      absl::Status restored = sm_->Restore(state->snapshot);
      if (!restored.ok()) return restored;
    }
    RaftOptions ro;
    ro.id = options_.id;
    ro.election_tick = options_.election_tick;
    ro.heartbeat_tick = options_.heartbeat_tick;
    ro.seed = static_cast<uint64_t>(
                  std::chrono::steady_clock::now().time_since_epoch().count()) ^
              (options_.id * 0x9e3779b97f4a7c15ULL);
    ro.applied = state->snapshot.meta().index();
    absl::StatusOr<std::unique_ptr<Raft>> raft = Raft::Create(ro, std::move(*state));
    if (!raft.ok()) return raft.status();
    raft_ = std::move(*raft);
    for (const auto& [id, addr] : options_.peers) {
      clients_[id] = std::make_unique<rpc::Client>(io_, addr.host, addr.port, options_.peer_rpc);
    }
    disk_thread_ = std::thread([this] { disk_io_.run(); });
    return absl::OkStatus();
  }

  void Register(rpc::Server& server) {
    std::weak_ptr<Impl> weak = weak_from_this();
    server.Register(kRaftMessageMethod, [weak](std::string_view payload, rpc::Server::Reply reply) {
      auto batch = std::make_shared<pb::MessageBatch>();
      if (!batch->ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        return reply(absl::InvalidArgumentError("malformed raft message batch"));
      }
      reply(std::string());
      std::shared_ptr<Impl> self = weak.lock();
      if (!self) return;
      asio::post(self->strand_, [self, batch] { self->OnMessages(*batch); });
    });
  }

  void Start() {
    asio::post(strand_, [self = shared_from_this()] { self->ScheduleTick(); });
  }

  void Stop() {
    if (!stopped_) {
      stopped_ = true;
      timer_.cancel();
      for (auto& [index, p] : pending_) p.done(absl::CancelledError("raft node stopped"));
      pending_.clear();
      for (auto& op : queued_ops_) op.fail(absl::CancelledError("raft node stopped"));
      queued_ops_.clear();
      FailReads(absl::CancelledError("raft node stopped"));
      for (auto& [id, c] : clients_) c->Close();
    }
    JoinDisk();
  }

  void Propose(std::string data, std::function<void(absl::Status)> done) {
    RunWhenIdle([this, data = std::move(data), done]() mutable {
      Track(raft_->Propose(std::move(data)), std::move(done));
    }, [done](const absl::Status& s) { done(s); });
  }

  void ProposeConfChange(const pb::ConfChange& change, std::function<void(absl::Status)> done) {
    RunWhenIdle([this, change, done]() mutable {
      Track(raft_->ProposeConfChange(change), std::move(done));
    }, [done](const absl::Status& s) { done(s); });
  }

  void ReadIndex(std::function<void(absl::StatusOr<uint64_t>)> done) {
    RunWhenIdle([this, done]() mutable {
      const uint64_t id = ++next_read_id_;
      absl::Status s = raft_->ReadIndex(id);
      if (!s.ok()) return done(s);
      reads_requested_[id] = PendingRead{raft_->term(), std::move(done)};
    }, [done](const absl::Status& s) { done(s); });
  }

  void TransferLeadership(uint64_t target, std::function<void(absl::Status)> done) {
    RunWhenIdle([this, target, done] { done(raft_->TransferLeadership(target)); },
                [done](const absl::Status& s) { done(s); });
  }

  void GetStatus(std::function<void(RaftNodeStatus)> done) {
    asio::post(strand_, [self = shared_from_this(), done = std::move(done)] { done(self->Status()); });
  }

 private:
  RaftNodeStatus Status() const {
    RaftNodeStatus s;
    s.role = raft_->role();
    s.term = raft_->term();
    s.leader = raft_->leader();
    s.commit = raft_->commit();
    s.applied = raft_->applied();
    s.last_index = raft_->log().last_index();
    s.snapshot_index = raft_->log().snapshot_index();
    s.snapshots_installed = snapshots_installed_;
    s.failed = failed_;
    for (const auto& [id, progress] : raft_->progress()) {
      PeerStatus peer{.id = id, .match = progress.match()};
      if (auto it = peer_seen_.find(id); it != peer_seen_.end()) {
        peer.last_contact_wall_ms = it->second.contact_ms;
        peer.last_caught_up_wall_ms = it->second.caught_up_ms;
      }
      s.peers.push_back(peer);
    }
    return s;
  }

  static int64_t WallMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // The leader's record of when it last heard from each member, and when that member's log
  // last matched its own.
  void NotePeer(uint64_t from) {
    if (raft_->role() != Role::kLeader) return;
    auto it = raft_->progress().find(from);
    if (it == raft_->progress().end()) return;
    PeerSeen& seen = peer_seen_[from];
    seen.contact_ms = WallMs();
    if (it->second.match() >= raft_->log().last_index()) seen.caught_up_ms = seen.contact_ms;
  }

  void MaybeReportStatus() {
    if (!options_.on_status_change) return;
    // A node whose disk failed says nothing more: it must not be taken for the leader.
    const bool leader = raft_->role() == Role::kLeader && !failed_;
    if (reported_ && leader == reported_leader_role_ && raft_->term() == reported_term_ &&
        raft_->leader() == reported_leader_) {
      return;
    }
    if (!leader || raft_->term() != reported_term_) peer_seen_.clear();
    reported_ = true;
    reported_leader_role_ = leader;
    reported_term_ = raft_->term();
    reported_leader_ = raft_->leader();
    options_.on_status_change(Status());
  }

  // Lets the write in flight finish, then ends the disk thread.
  void JoinDisk() {
    disk_guard_.reset();
    if (!disk_thread_.joinable()) return;
    if (disk_thread_.get_id() == std::this_thread::get_id()) {
      disk_thread_.detach();  // the last reference was dropped by a disk job
    } else {
      disk_thread_.join();
    }
  }

  struct Pending {
    uint64_t term;
    std::function<void(absl::Status)> done;
  };
  struct PendingRead {
    uint64_t term;
    std::function<void(absl::StatusOr<uint64_t>)> done;
  };
  struct QueuedOp {
    std::function<void()> run;
    std::function<void(const absl::Status&)> fail;
  };

  void ScheduleTick() {
    if (stopped_) return;
    timer_.expires_after(std::chrono::milliseconds(options_.tick_ms));
    timer_.async_wait([self = shared_from_this()](std::error_code ec) {
      if (ec || self->stopped_) return;
      if (!self->failed_) {
        self->raft_->Tick();  // the core defers ticks that arrive while a Ready is written
        self->AfterInput();
      }
      self->ScheduleTick();
    });
  }

  void OnMessages(const pb::MessageBatch& batch) {
    if (stopped_ || failed_) return;
    for (const pb::Message& m : batch.messages()) {
      if (busy_) {
        backlog_.push_back(m);
      } else {
        StepOne(m);
      }
    }
    AfterInput();
  }

  void StepOne(const pb::Message& m) {
    absl::Status s = raft_->Step(m);
    if (!s.ok()) {
      log::Warn("raft {}: dropped message from {}: {}", options_.id, m.from(), s);
      return;
    }
    NotePeer(m.from());
  }

  // Runs `op` on the strand once no Ready is being written (the core takes no input then);
  // `fail` instead when the node stopped.
  void RunWhenIdle(std::function<void()> op, std::function<void(const absl::Status&)> fail) {
    asio::post(strand_, [self = shared_from_this(), op = std::move(op), fail = std::move(fail)] {
      if (self->stopped_ || self->failed_) return fail(absl::UnavailableError("raft node stopped"));
      if (self->busy_) {
        self->queued_ops_.push_back(QueuedOp{std::move(op), std::move(fail)});
        return;
      }
      op();
      self->AfterInput();
    });
  }

  void Track(absl::StatusOr<LogPosition> pos, std::function<void(absl::Status)> done) {
    if (!pos.ok()) return done(pos.status());
    pending_[pos->index] = Pending{pos->term, std::move(done)};
  }

  void FailReads(const absl::Status& why) {
    for (auto& [id, read] : reads_requested_) read.done(why);
    reads_requested_.clear();
    for (auto& [index, done] : reads_confirmed_) done(why);
    reads_confirmed_.clear();
  }

  // Serves confirmed reads the state machine has caught up with.
  void ServeReads() {
    while (!reads_confirmed_.empty() && reads_confirmed_.begin()->first <= raft_->applied()) {
      auto node = reads_confirmed_.extract(reads_confirmed_.begin());
      node.mapped()(node.key());
    }
  }

  void AfterInput() {
    // The core drops pending reads when it loses leadership; their callers learn it here.
    for (auto it = reads_requested_.begin(); it != reads_requested_.end();) {
      if (raft_->role() == Role::kLeader && raft_->term() == it->second.term) {
        ++it;
        continue;
      }
      it->second.done(absl::UnavailableError("leadership lost before the read was confirmed"));
      it = reads_requested_.erase(it);
    }
    MaybeReportStatus();
    Pump();
  }

  // Starts writing the next Ready if there is one and no write is in flight.
  void Pump() {
    if (busy_ || stopped_ || failed_ || !raft_->HasReady()) return;
    auto ready = std::make_shared<Ready>(raft_->GetReady());
    busy_ = true;
    asio::post(disk_io_, [self = shared_from_this(), ready] {
      absl::Status saved = self->storage_->SaveReady(*ready, self->options_.sync);
      asio::post(self->strand_, [self, ready, saved] { self->OnPersisted(*ready, saved); });
    });
  }

  void OnPersisted(Ready& ready, const absl::Status& saved) {
    if (!saved.ok()) {
      // Without durability the node must not say anything more: it stops.
      log::Error("raft {}: persisting failed, node stops: {}", options_.id, saved);
      failed_ = true;
      MaybeReportStatus();
      return;
    }
    SendAll(ready.messages);
    if (ready.snapshot.has_value()) {
      absl::Status restored = sm_->Restore(*ready.snapshot);
      if (!restored.ok()) {
        log::Error("raft {}: snapshot restore failed, node stops: {}", options_.id, restored);
        failed_ = true;
        MaybeReportStatus();
        return;
      }
      ++snapshots_installed_;
    }
    for (const pb::Entry& e : ready.committed_entries) ApplyOne(e);
    for (const ReadState& rs : ready.read_states) {
      auto it = reads_requested_.find(rs.request_id);
      if (it == reads_requested_.end()) continue;
      reads_confirmed_.emplace(rs.index, std::move(it->second.done));
      reads_requested_.erase(it);
    }
    raft_->Advance();
    ServeReads();
    busy_ = false;
    if (stopped_) return;
    while (!backlog_.empty()) {
      StepOne(backlog_.front());
      backlog_.pop_front();
    }
    while (!queued_ops_.empty()) {
      QueuedOp op = std::move(queued_ops_.front());
      queued_ops_.pop_front();
      op.run();
    }
    MaybeCompact();
    AfterInput();
  }

  void ApplyOne(const pb::Entry& e) {
    if (e.type() == pb::ENTRY_NORMAL && !e.data().empty()) sm_->Apply(e);
    // Proposals at or below this index are now decided one way or the other.
    while (!pending_.empty() && pending_.begin()->first <= e.index()) {
      auto node = pending_.extract(pending_.begin());
      Pending& p = node.mapped();
      if (node.key() == e.index() && p.term == e.term()) {
        p.done(absl::OkStatus());
      } else {
        p.done(absl::AbortedError("entry was replaced by a newer leader"));
      }
    }
  }

  void MaybeCompact() {
    if (options_.snapshot_every == 0) return;
    const uint64_t applied = raft_->applied();
    if (applied < raft_->log().snapshot_index() + options_.snapshot_every) return;
    absl::Status s = raft_->Compact(applied, sm_->TakeSnapshot());
    if (!s.ok()) {
      log::Warn("raft {}: compaction at {} failed: {}", options_.id, applied, s);
      return;
    }
    // Same FIFO disk thread as the Ready writes, so the order on disk is the order here.
    auto snapshot = std::make_shared<pb::Snapshot>(raft_->log().snapshot());
    asio::post(disk_io_, [self = shared_from_this(), snapshot] {
      absl::Status saved = self->storage_->SaveCompaction(*snapshot, self->options_.sync);
      if (!saved.ok()) log::Warn("raft {}: storing snapshot failed: {}", self->options_.id, saved);
    });
  }

  void SendAll(const std::vector<pb::Message>& messages) {
    std::map<uint64_t, pb::MessageBatch> by_peer;
    for (const pb::Message& m : messages) *by_peer[m.to()].add_messages() = m;
    for (auto& [to, batch] : by_peer) {
      auto it = clients_.find(to);
      if (it == clients_.end()) continue;  // unknown address: Raft retries, an operator fixes
      // Replies carry nothing; a lost batch is recovered by Raft's own retries.
      it->second->Call(kRaftMessageMethod, batch.SerializeAsString(), options_.rpc_timeout_ms,
                       [](absl::StatusOr<std::string>) {});
    }
  }

  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer timer_;
  RaftNodeOptions options_;
  StateMachine* sm_;

  asio::io_context disk_io_;
  asio::executor_work_guard<asio::io_context::executor_type> disk_guard_;
  std::thread disk_thread_;
  std::unique_ptr<RaftStorage> storage_;

  std::unique_ptr<Raft> raft_;
  std::map<uint64_t, std::unique_ptr<rpc::Client>> clients_;
  bool busy_ = false;
  bool stopped_ = false;
  bool failed_ = false;
  std::deque<pb::Message> backlog_;
  std::deque<QueuedOp> queued_ops_;
  std::map<uint64_t, Pending> pending_;  // proposals by log index
  uint64_t next_read_id_ = 0;
  std::map<uint64_t, PendingRead> reads_requested_;
  std::multimap<uint64_t, std::function<void(absl::StatusOr<uint64_t>)>> reads_confirmed_;
  uint64_t snapshots_installed_ = 0;
  struct PeerSeen {
    int64_t contact_ms = -1;
    int64_t caught_up_ms = -1;
  };
  std::map<uint64_t, PeerSeen> peer_seen_;
  bool reported_ = false;
  bool reported_leader_role_ = false;
  uint64_t reported_term_ = 0;
  uint64_t reported_leader_ = 0;
};

absl::StatusOr<std::shared_ptr<RaftNode>> RaftNode::Create(asio::io_context& io,
                                                           rpc::Server& server,
                                                           RaftNodeOptions options,
                                                           StateMachine* state_machine) {
  if (options.id == 0) return absl::InvalidArgumentError("raft node id must be non-zero");
  if (options.tick_ms <= 0) return absl::InvalidArgumentError("tick_ms must be positive");
  auto impl = std::make_shared<Impl>(io, std::move(options), state_machine);
  absl::Status s = impl->Init();
  if (!s.ok()) return s;
  impl->Register(server);
  return std::shared_ptr<RaftNode>(new RaftNode(std::move(impl)));
}

RaftNode::~RaftNode() = default;
void RaftNode::Start() { impl_->Start(); }
void RaftNode::Stop() { impl_->Stop(); }
void RaftNode::Propose(std::string data, std::function<void(absl::Status)> done) {
  impl_->Propose(std::move(data), std::move(done));
}
void RaftNode::ProposeConfChange(const pb::ConfChange& change,
                                 std::function<void(absl::Status)> done) {
  impl_->ProposeConfChange(change, std::move(done));
}
void RaftNode::ReadIndex(std::function<void(absl::StatusOr<uint64_t>)> done) {
  impl_->ReadIndex(std::move(done));
}
void RaftNode::TransferLeadership(uint64_t target, std::function<void(absl::Status)> done) {
  impl_->TransferLeadership(target, std::move(done));
}
void RaftNode::GetStatus(std::function<void(RaftNodeStatus)> done) {
  impl_->GetStatus(std::move(done));
}

}  // namespace sluice::raft
