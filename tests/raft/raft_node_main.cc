// raft-node: a small host around the Raft library for real-socket tests and benchmarks.
// It replicates a counting state machine (entries applied + a hash chain over them) and
// answers STATUS and PROPOSE control calls on the same rpc port as the Raft traffic.
//   raft-node --id N --port P --peers 1=127.0.0.1:P1,2=...,3=... --data-dir DIR
//             [--snapshot-every K] [--tick-ms T] [--election-tick E] [--heartbeat-tick H]
//             [--no-sync]

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <fmt/format.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "controller/raft/raft_node.h"
#include "protocol/rpc/proto_call.h"
#include "protocol/rpc/server.h"
#include "tests/raft/raft_control.pb.h"

namespace {

using namespace sluice;
using namespace sluice::raft;

uint64_t Mix(uint64_t h, std::string_view data) {
  for (unsigned char c : data) h = (h ^ c) * 0x100000001b3ULL;
  return h ^ (h >> 29);
}

class CountingStateMachine : public StateMachine {
 public:
  void Apply(const pb::Entry& entry) override {
    state_.set_client_entries(state_.client_entries() + 1);
    state_.set_chain(Mix(state_.chain() ^ entry.index(), entry.data()));
  }
  std::string TakeSnapshot() override { return state_.SerializeAsString(); }
  absl::Status Restore(const pb::Snapshot& snapshot) override {
    test::HostState s;
    if (!s.ParseFromString(snapshot.data())) return absl::DataLossError("bad host snapshot");
    state_ = s;
    return absl::OkStatus();
  }
  const test::HostState& state() const { return state_; }

 private:
  test::HostState state_;
};

// Keeps `window` proposals in flight until `count` are committed, recording each latency.
class ProposeRun : public std::enable_shared_from_this<ProposeRun> {
 public:
  using Done = std::function<void(absl::StatusOr<test::ProposeReply>)>;
  ProposeRun(std::shared_ptr<RaftNode> node, test::ProposeRequest req, Done done)
      : node_(std::move(node)), req_(req), done_(std::move(done)) {}

  void Start() {
    start_ = std::chrono::steady_clock::now();
    latencies_us_.reserve(req_.count());
    const uint64_t window = std::max<uint64_t>(1, req_.window());
    for (uint64_t i = 0; i < window && sent_ < req_.count(); ++i) Next();
  }

 private:
  void Next() {
    const uint64_t seq = sent_++;
    std::string data = fmt::format("e{}-", seq);
    data.resize(std::max<size_t>(data.size(), req_.payload_bytes()), 'x');
    const auto t0 = std::chrono::steady_clock::now();
    node_->Propose(std::move(data), [self = shared_from_this(), t0](absl::Status s) {
      self->OnCommitted(s, t0);
    });
  }

  void OnCommitted(const absl::Status& s, std::chrono::steady_clock::time_point t0) {
    if (finished_) return;
    if (!s.ok()) {
      finished_ = true;
      done_(absl::Status(s.code(), fmt::format("after {} committed: {}", committed_,
                                               ToStd(s.message()))));
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    latencies_us_.push_back(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now - t0).count()));
    ++committed_;
    if (sent_ < req_.count()) Next();
    if (committed_ < req_.count()) return;
    finished_ = true;
    std::sort(latencies_us_.begin(), latencies_us_.end());
    auto at = [&](double q) {
      return latencies_us_[std::min(latencies_us_.size() - 1,
                                    static_cast<size_t>(q * static_cast<double>(latencies_us_.size())))];
    };
    test::ProposeReply reply;
    reply.set_committed(committed_);
    reply.set_elapsed_seconds(std::chrono::duration<double>(now - start_).count());
    reply.set_p50_us(at(0.50));
    reply.set_p99_us(at(0.99));
    reply.set_max_us(latencies_us_.back());
    done_(reply);
  }

  std::shared_ptr<RaftNode> node_;
  test::ProposeRequest req_;
  Done done_;
  uint64_t sent_ = 0;
  uint64_t committed_ = 0;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::vector<uint64_t> latencies_us_;
};

int Fail(const std::string& message) {
  fmt::print(stderr, "raft-node: {}\n", message);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  RaftNodeOptions options;
  uint16_t port = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--no-sync") {
      options.sync = false;
      continue;
    }
    if (i + 1 >= argc) return Fail(fmt::format("missing value for {}", arg));
    const std::string value = argv[++i];
    uint64_t n = 0;
    const bool numeric = absl::SimpleAtoi(value, &n);
    if (arg == "--id" && numeric) {
      options.id = n;
    } else if (arg == "--port" && numeric && n < 65536) {
      port = static_cast<uint16_t>(n);
    } else if (arg == "--data-dir") {
      options.data_dir = value;
    } else if (arg == "--snapshot-every" && numeric) {
      options.snapshot_every = n;
    } else if (arg == "--tick-ms" && numeric && n > 0) {
      options.tick_ms = static_cast<int>(n);
    } else if (arg == "--election-tick" && numeric && n > 1) {
      options.election_tick = static_cast<int>(n);
    } else if (arg == "--heartbeat-tick" && numeric && n > 0) {
      options.heartbeat_tick = static_cast<int>(n);
    } else if (arg == "--peers") {
      for (absl::string_view spec : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        std::vector<std::string> parts = absl::StrSplit(spec, absl::ByAnyChar("=:"));
        uint64_t id = 0, peer_port = 0;
        if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &id) ||
            !absl::SimpleAtoi(parts[2], &peer_port) || id == 0 || peer_port > 65535) {
          return Fail(fmt::format("bad peer '{}' (want id=host:port)", ToStd(spec)));
        }
        options.bootstrap.add_voters(id);
        options.peers[id] = PeerAddress{parts[1], static_cast<uint16_t>(peer_port)};
      }
    } else {
      return Fail(fmt::format("bad flag or value: {} {}", arg, value));
    }
  }
  if (options.id == 0 || port == 0 || options.data_dir.empty()) {
    return Fail("--id, --port and --data-dir are required");
  }
  options.peers.erase(options.id);  // --peers lists every voter, this node included
  std::sort(options.bootstrap.mutable_voters()->begin(), options.bootstrap.mutable_voters()->end());

  asio::io_context io;
  rpc::Server server(io, "127.0.0.1", port);
  CountingStateMachine sm;
  absl::StatusOr<std::shared_ptr<RaftNode>> node = RaftNode::Create(io, server, options, &sm);
  if (!node.ok()) return Fail(node.status().ToString());
  std::shared_ptr<RaftNode> raft_node = *node;

  rpc::RegisterProto<test::StatusRequest, test::StatusReply>(
      server, test::STATUS,
      [raft_node, &sm](const test::StatusRequest&,
                       std::function<void(absl::StatusOr<test::StatusReply>)> reply) {
        raft_node->GetStatus([reply, &sm](RaftNodeStatus s) {
          test::StatusReply r;
          r.set_role(RoleName(s.role));
          r.set_term(s.term);
          r.set_leader(s.leader);
          r.set_commit(s.commit);
          r.set_applied(s.applied);
          r.set_last_index(s.last_index);
          r.set_snapshot_index(s.snapshot_index);
          r.set_snapshots_installed(s.snapshots_installed);
          r.set_client_entries(sm.state().client_entries());
          r.set_chain(sm.state().chain());
          reply(r);
        });
      });
  rpc::RegisterProto<test::ProposeRequest, test::ProposeReply>(
      server, test::PROPOSE,
      [raft_node](const test::ProposeRequest& req,
                  std::function<void(absl::StatusOr<test::ProposeReply>)> reply) {
        std::make_shared<ProposeRun>(raft_node, req, std::move(reply))->Start();
      });

  rpc::RegisterProto<test::TransferRequest, test::TransferReply>(
      server, test::TRANSFER,
      [raft_node](const test::TransferRequest& req,
                  std::function<void(absl::StatusOr<test::TransferReply>)> reply) {
        raft_node->TransferLeadership(req.target(), [reply](absl::Status s) {
          if (!s.ok()) return reply(s);
          reply(test::TransferReply());
        });
      });
  rpc::RegisterProto<test::ReadRequest, test::ReadReply>(
      server, test::READ,
      [raft_node, &sm](const test::ReadRequest&,
                       std::function<void(absl::StatusOr<test::ReadReply>)> reply) {
        raft_node->ReadIndex([reply, &sm](absl::StatusOr<uint64_t> index) {
          if (!index.ok()) return reply(index.status());
          test::ReadReply r;
          r.set_read_index(*index);
          r.set_client_entries(sm.state().client_entries());
          reply(r);
        });
      });

  absl::Status started = server.Start();
  if (!started.ok()) return Fail(started.ToString());
  raft_node->Start();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code, int) { io.stop(); });
  io.run();
  server.Stop();
  raft_node->Stop();
  return 0;
}
