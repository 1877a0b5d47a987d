#include "controller/service/raft_quorum.h"

namespace sluice::controller {

absl::Status RaftQuorum::Open(asio::io_context& events, rpc::Server& server, raft::RaftNodeOptions options) {
  options.on_status_change = [this](const raft::RaftNodeStatus& status) {
    controller_.OnQuorumChange(Convert(status));
  };
  absl::StatusOr<std::shared_ptr<raft::RaftNode>> node = raft::RaftNode::Create(events, server, std::move(options), this);
  if (!node.ok()) return node.status();
  node_ = std::move(*node);
  controller_.Attach(this);
  return absl::OkStatus();
}

void RaftQuorum::Propose(std::string entry, std::function<void(absl::Status)> done) {
  node_->Propose(std::move(entry), std::move(done));
}

void RaftQuorum::Barrier(std::function<void(absl::Status)> done) {
  node_->ReadIndex([done = std::move(done)](absl::StatusOr<uint64_t> index) { done(index.status()); });
}

void RaftQuorum::Status(std::function<void(QuorumStatus)> done) {
  node_->GetStatus([done = std::move(done)](raft::RaftNodeStatus status) { done(Convert(status)); });
}

QuorumStatus RaftQuorum::Convert(const raft::RaftNodeStatus& status) {
  // A failed node (its disk write failed) neither leads nor knows who does.
  QuorumStatus out{.leader = status.role == raft::Role::kLeader && !status.failed,
                   .term = status.term,
                   .leader_id = status.failed ? -1 : NodeId(status.leader),
                   .commit_index = static_cast<int64_t>(status.commit),
                   .last_index = static_cast<int64_t>(status.last_index)};
  for (const raft::PeerStatus& peer : status.peers) {
    out.followers.push_back(VoterProgress{.node_id = NodeId(peer.id),
                                          .log_end_offset = static_cast<int64_t>(peer.match),
                                          .last_fetch_wall_ms = peer.last_contact_wall_ms,
                                          .last_caught_up_wall_ms = peer.last_caught_up_wall_ms});
  }
  return out;
}

}  // namespace sluice::controller
