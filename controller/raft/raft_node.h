#pragma once
// I/O adapter around the pure core: Asio timers drive ticks, protocol/rpc carries messages
// between peers (MessageBatch on method kRaftMessageMethod), and a dedicated disk thread makes
// each Ready durable in RocksDB (one synced batch) before its messages go out, so no I/O
// thread ever waits for fsync. All core state lives on one strand.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/raft/raft.h"
#include "controller/raft/raft.pb.h"
#include "protocol/rpc/client.h"
#include "protocol/rpc/server.h"

namespace sluice::raft {

// Method number of Raft peer traffic on a protocol/rpc server.
inline constexpr uint16_t kRaftMessageMethod = 100;

struct PeerAddress {
  std::string host;
  uint16_t port = 0;
};

// The leader's view of one other member, for DescribeQuorum-style reports.
struct PeerStatus {
  uint64_t id = 0;
  uint64_t match = 0;                    // highest index known to be in its log
  int64_t last_contact_wall_ms = -1;     // last message from it while this node led; -1: none
  int64_t last_caught_up_wall_ms = -1;   // last time its log matched the leader's whole log
};

struct RaftNodeStatus {
  Role role = Role::kFollower;
  uint64_t term = 0;
  uint64_t leader = 0;
  uint64_t commit = 0;
  uint64_t applied = 0;
  uint64_t last_index = 0;
  uint64_t snapshot_index = 0;
  uint64_t snapshots_installed = 0;  // received from a leader since start
  bool failed = false;               // a disk write failed; the node stopped
  std::vector<PeerStatus> peers;     // filled on the leader only
};

struct RaftNodeOptions {
  uint64_t id = 0;
  std::string data_dir;
  std::map<uint64_t, PeerAddress> peers;  // the other members' Raft addresses
  pb::Configuration bootstrap;            // initial voters, used when data_dir holds no state
  // Defaults: election timeout 250-500 ms, heartbeat every 50 ms.
  int tick_ms = 25;
  int election_tick = 10;
  int heartbeat_tick = 2;
  bool sync = true;                 // fsync every Ready
  uint64_t snapshot_every = 10000;  // compact the log after this many applied entries; 0 = never
  int rpc_timeout_ms = 2000;
  rpc::ClientOptions peer_rpc;  // how this node reaches its peers (TLS)
  // Runs on the node's strand whenever the role, term or known leader changes (after the input
  // that changed it), so the application can start or stop acting as the leader.
  std::function<void(const RaftNodeStatus&)> on_status_change;
};

// The replicated application. Called on the node's strand, in log order.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  virtual void Apply(const pb::Entry& entry) = 0;
  // The state after the last applied entry, for log compaction and lagging followers.
  virtual std::string TakeSnapshot() = 0;
  virtual absl::Status Restore(const pb::Snapshot& snapshot) = 0;
};

class RaftNode {
 public:
  // Opens the storage in options.data_dir (bootstrapping it if empty), restores the state
  // machine from the stored snapshot and registers the peer handler on `server` (which the
  // caller starts). `state_machine` must outlive the node.
  static absl::StatusOr<std::shared_ptr<RaftNode>> Create(asio::io_context& io,
                                                          rpc::Server& server,
                                                          RaftNodeOptions options,
                                                          StateMachine* state_machine);
  ~RaftNode();

  void Start();  // begins ticking
  // Call once the io_context no longer runs (e.g. after run() returned): fails pending
  // requests with Cancelled, lets the disk write in flight finish and joins the disk thread.
  void Stop();

  // Thread-safe. `done` runs on the node's strand: OK once the entry is applied, or the
  // reason it never will be (not the leader, lost to a new leader, stopped).
  void Propose(std::string data, std::function<void(absl::Status)> done);
  // Same contract as Propose, for a membership change (one server at a time).
  void ProposeConfChange(const pb::ConfChange& change, std::function<void(absl::Status)> done);
  // Linearizable read barrier: `done` gets an index once a quorum confirmed this node leads and
  // the state machine has applied that index; reading the state machine then is linearizable.
  // Fails with Unavailable when leadership is lost first.
  void ReadIndex(std::function<void(absl::StatusOr<uint64_t>)> done);
  // Starts a handover; `done` reports whether it started, not whether it finished.
  void TransferLeadership(uint64_t target, std::function<void(absl::Status)> done);
  void GetStatus(std::function<void(RaftNodeStatus)> done);

 private:
  class Impl;
  explicit RaftNode(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::raft
