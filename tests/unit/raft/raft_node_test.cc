// The I/O adapter end to end inside one process: three RaftNodes on loopback rpc servers with
// RocksDB in temp dirs. Waits poll a condition against a deadline.

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "controller/raft/raft_node.h"
#include "protocol/rpc/server.h"

namespace {

using namespace sluice;
using namespace sluice::raft;

class RecordingStateMachine : public StateMachine {
 public:
  void Apply(const pb::Entry& entry) override {
    std::lock_guard lock(mu_);
    applied_.push_back(entry.data());
  }
  std::string TakeSnapshot() override {
    std::lock_guard lock(mu_);
    return std::to_string(applied_.size());
  }
  absl::Status Restore(const pb::Snapshot&) override {
    return absl::UnimplementedError("not used by this test");
  }
  std::vector<std::string> applied() {
    std::lock_guard lock(mu_);
    return applied_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> applied_;
};

template <typename T, typename Start>
T Await(Start start) {
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  start([promise](T value) { promise->set_value(std::move(value)); });
  REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  return future.get();
}

struct TestCluster {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::string root;
  std::vector<std::unique_ptr<rpc::Server>> servers;
  std::vector<std::unique_ptr<RecordingStateMachine>> machines;
  std::vector<std::shared_ptr<RaftNode>> nodes;
  std::thread thread;

  TestCluster() {
    root = (std::filesystem::temp_directory_path() / "sluice-raft-node-XXXXXX").string();
    REQUIRE(mkdtemp(root.data()) != nullptr);
    std::map<uint64_t, PeerAddress> peers;
    pb::Configuration voters;
    for (uint64_t id = 1; id <= 3; ++id) {
      servers.push_back(std::make_unique<rpc::Server>(io, "127.0.0.1", 0));
      REQUIRE(servers.back()->Start().ok());
      peers[id] = PeerAddress{"127.0.0.1", servers.back()->port()};
      voters.add_voters(id);
    }
    for (uint64_t id = 1; id <= 3; ++id) {
      RaftNodeOptions o;
      o.id = id;
      std::string dir = root;
      dir.append("/n").append(std::to_string(id));  // appends: GCC 12 -Wrestrict false alarm
      o.data_dir = dir;
      o.peers = peers;
      o.peers.erase(id);
      o.bootstrap = voters;
      o.tick_ms = 20;
      machines.push_back(std::make_unique<RecordingStateMachine>());
      auto node = RaftNode::Create(io, *servers[id - 1], o, machines.back().get());
      REQUIRE(node.ok());
      nodes.push_back(*node);
    }
    for (auto& n : nodes) n->Start();
    thread = std::thread([this] { io.run(); });
  }

  ~TestCluster() {
    io.stop();
    thread.join();
    for (auto& s : servers) s->Stop();
    for (auto& n : nodes) n->Stop();
    std::filesystem::remove_all(root);
  }

  RaftNodeStatus Status(size_t i) {
    return Await<RaftNodeStatus>([&](auto done) { nodes[i]->GetStatus(done); });
  }

  // Index of the node leading a term above `min_term`.
  size_t WaitForLeader(uint64_t min_term) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      for (size_t i = 0; i < nodes.size(); ++i) {
        RaftNodeStatus s = Status(i);
        if (s.role == Role::kLeader && s.term > min_term) return i;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    FAIL("no leader within 10 s");
    return 0;
  }
};

TEST_CASE("raft node: elect, replicate, read, transfer over loopback rpc") {
  TestCluster c;
  const size_t leader = c.WaitForLeader(0);
  const size_t follower = (leader + 1) % 3;

  for (int i = 0; i < 20; ++i) {
    absl::Status s = Await<absl::Status>(
        [&](auto done) { c.nodes[leader]->Propose(std::to_string(i), done); });
    REQUIRE(s.ok());
  }
  absl::Status refused =
      Await<absl::Status>([&](auto done) { c.nodes[follower]->Propose("x", done); });
  CHECK(absl::IsFailedPrecondition(refused));

  absl::StatusOr<uint64_t> read = Await<absl::StatusOr<uint64_t>>(
      [&](auto done) { c.nodes[leader]->ReadIndex(done); });
  REQUIRE(read.ok());
  CHECK(c.machines[leader]->applied().size() == 20);

  // Followers apply the same entries once the commit index reaches them.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (c.machines[follower]->applied().size() < 20 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(c.machines[follower]->applied() == c.machines[leader]->applied());

  const uint64_t term = c.Status(leader).term;
  absl::Status started = Await<absl::Status>(
      [&](auto done) { c.nodes[leader]->TransferLeadership(follower + 1, done); });
  REQUIRE(started.ok());
  CHECK(c.WaitForLeader(term) == follower);
}

}  // namespace
