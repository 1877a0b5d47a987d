#pragma once
// Binds the Controller to a RaftNode: the node replicates MetadataEntries and calls the
// controller as its state machine; the controller proposes, waits on barriers and reads the
// quorum's progress through it. Raft reserves id 0, so a controller's Raft id is its node id + 1.

#include <cstdint>
#include <memory>

#include <asio/io_context.hpp>

#include "controller/raft/raft_node.h"
#include "controller/service/controller.h"
#include "controller/service/quorum.h"

namespace sluice::controller {

class RaftQuorum final : public Quorum, public raft::StateMachine {
 public:
  static uint64_t RaftId(int32_t node_id) { return static_cast<uint64_t>(node_id) + 1; }
  static int32_t NodeId(uint64_t raft_id) { return raft_id == 0 ? -1 : static_cast<int32_t>(raft_id - 1); }

  explicit RaftQuorum(Controller& controller) : controller_(controller) {}

  // Opens the Raft storage (restoring the controller from its snapshot and log on start) and
  // registers the peer method on `server`. `options.on_status_change` is set here.
  absl::Status Open(asio::io_context& events, rpc::Server& server, raft::RaftNodeOptions options);
  void Start() { node_->Start(); }
  void Stop() { node_->Stop(); }

  void Propose(std::string entry, std::function<void(absl::Status)> done) override;
  void Barrier(std::function<void(absl::Status)> done) override;
  void Status(std::function<void(QuorumStatus)> done) override;

  void Apply(const raft::pb::Entry& entry) override { controller_.Apply(entry.index(), entry.data()); }
  std::string TakeSnapshot() override { return controller_.TakeSnapshot(); }
  absl::Status Restore(const raft::pb::Snapshot& snapshot) override { return controller_.Restore(snapshot.data()); }

 private:
  static QuorumStatus Convert(const raft::RaftNodeStatus& status);

  Controller& controller_;
  std::shared_ptr<raft::RaftNode> node_;
};

}  // namespace sluice::controller
