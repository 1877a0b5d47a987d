// raft-cluster-test: starts 3 raft-node processes on loopback (unique ports, temp dirs) and
//   test mode (default): elects a leader, commits 10,000 entries, kill -9s the leader, checks
//     that a new leader appears within 1 s and nothing committed was lost, then restarts the
//     killed node after the log was compacted past it and checks it catches up (snapshot).
//   --bench: commit throughput and latency (fsync per batch), then the median election time
//     after killing the leader over --trials trials.
// Every wait polls a condition against a deadline and fails with a message naming it.

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <fmt/format.h>

#include "absl/strings/numbers.h"
#include "common/absl_compat.h"
#include "protocol/rpc/client.h"
#include "tests/raft/raft_control.pb.h"

namespace {

using namespace sluice;
using Clock = std::chrono::steady_clock;

struct Fatal {
  std::string message;
};

[[noreturn]] void Die(std::string message) { throw Fatal{std::move(message)}; }

uint16_t ReservePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Die("cannot reserve a loopback port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

double MillisSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Node {
  uint64_t id = 0;
  uint16_t port = 0;
  std::string dir;
  pid_t pid = 0;
  std::unique_ptr<rpc::Client> client;
};

class Cluster {
 public:
  Cluster(std::string binary, int size) : binary_(std::move(binary)), work_(asio::make_work_guard(io_)) {
    root_ = (std::filesystem::temp_directory_path() / "sluice-raft-cluster-XXXXXX").string();
    if (mkdtemp(root_.data()) == nullptr) Die("cannot create a temp dir");
    thread_ = std::thread([this] { io_.run(); });
    for (int i = 1; i <= size; ++i) {
      Node n;
      n.id = static_cast<uint64_t>(i);
      n.port = ReservePort();
      n.dir = fmt::format("{}/node{}", root_, i);
      nodes_.push_back(std::move(n));
    }
    for (Node& n : nodes_) {
      peers_ += fmt::format("{}{}=127.0.0.1:{}", peers_.empty() ? "" : ",", n.id, n.port);
    }
  }

  ~Cluster() {
    for (Node& n : nodes_) Kill(n);
    for (Node& n : nodes_) n.client.reset();
    work_.reset();
    io_.stop();
    thread_.join();
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  std::vector<Node>& nodes() { return nodes_; }
  void set_snapshot_every(uint64_t n) { snapshot_every_ = n; }

  void Start(Node& n) {
    const std::vector<std::string> args = {
        binary_,       "--id",    std::to_string(n.id), "--port", std::to_string(n.port),
        "--peers",     peers_,    "--data-dir",         n.dir,    "--snapshot-every",
        std::to_string(snapshot_every_)};
    pid_t pid = fork();
    if (pid < 0) Die("fork failed");
    if (pid == 0) {
      std::vector<char*> argv;
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(binary_.c_str(), argv.data());
      _exit(127);
    }
    n.pid = pid;
    n.client = std::make_unique<rpc::Client>(io_, "127.0.0.1", n.port);
  }

  void Kill(Node& n) {
    if (n.pid <= 0) return;
    kill(n.pid, SIGKILL);
    waitpid(n.pid, nullptr, 0);
    n.pid = 0;
  }

  absl::StatusOr<std::string> Call(Node& n, uint16_t method, const google::protobuf::Message& req,
                                   int timeout_ms) {
    if (n.pid <= 0 || !n.client) return absl::UnavailableError("node is down");
    auto promise = std::make_shared<std::promise<absl::StatusOr<std::string>>>();
    auto future = promise->get_future();
    n.client->Call(method, req.SerializeAsString(), timeout_ms,
                   [promise](absl::StatusOr<std::string> r) { promise->set_value(std::move(r)); });
    return future.get();
  }

  std::optional<raft::test::StatusReply> Status(Node& n) {
    absl::StatusOr<std::string> r = Call(n, raft::test::STATUS, raft::test::StatusRequest(), 300);
    raft::test::StatusReply reply;
    if (!r.ok() || !reply.ParseFromString(*r)) return std::nullopt;
    return reply;
  }

  // Polls until some live node other than `exclude` leads a term above `min_term`.
  Node& WaitForLeader(uint64_t min_term, double timeout_ms, uint64_t exclude = 0) {
    const auto t0 = Clock::now();
    while (MillisSince(t0) < timeout_ms) {
      CheckAlive();
      for (Node& n : nodes_) {
        if (n.id == exclude || n.pid <= 0) continue;
        auto s = Status(n);
        if (s && s->role() == "leader" && s->term() > min_term) return n;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling interval, not sync
    }
    Die(fmt::format("no leader above term {} within {:.0f} ms", min_term, timeout_ms));
  }

  raft::test::ProposeReply Propose(Node& leader, uint64_t count, uint32_t window,
                                   uint32_t payload_bytes, int timeout_ms) {
    raft::test::ProposeRequest req;
    req.set_count(count);
    req.set_window(window);
    req.set_payload_bytes(payload_bytes);
    absl::StatusOr<std::string> r = Call(leader, raft::test::PROPOSE, req, timeout_ms);
    raft::test::ProposeReply reply;
    if (!r.ok()) Die(fmt::format("proposing {} entries at node {} failed: {}", count, leader.id, r.status()));
    if (!reply.ParseFromString(*r)) Die("malformed propose reply");
    return reply;
  }

  // A node that exits on its own (bad flags, port taken, crash) fails the test at once.
  void CheckAlive() {
    for (Node& n : nodes_) {
      int status = 0;
      if (n.pid > 0 && waitpid(n.pid, &status, WNOHANG) == n.pid) {
        n.pid = 0;
        Die(fmt::format("raft-node {} exited unexpectedly (wait status {})", n.id, status));
      }
    }
  }

  // Polls until `n` has applied at least `index` and reports the given chain there.
  raft::test::StatusReply WaitCaughtUp(Node& n, const raft::test::StatusReply& target, double timeout_ms) {
    const auto t0 = Clock::now();
    std::optional<raft::test::StatusReply> last;
    while (MillisSince(t0) < timeout_ms) {
      CheckAlive();
      last = Status(n);
      if (last && last->applied() >= target.applied() &&
          last->client_entries() >= target.client_entries()) {
        return *last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    Die(fmt::format("node {} did not catch up to index {} within {:.0f} ms (at {})", n.id,
                    target.applied(), timeout_ms, last ? last->applied() : 0));
  }

 private:
  std::string binary_;
  std::string root_;
  std::string peers_;
  uint64_t snapshot_every_ = 2000;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::vector<Node> nodes_;
};

void RunTest(const std::string& binary) {
  Cluster cluster(binary, 3);
  cluster.set_snapshot_every(2000);
  for (Node& n : cluster.nodes()) cluster.Start(n);

  Node& leader = cluster.WaitForLeader(0, 10000);
  fmt::print("leader elected: node {}\n", leader.id);

  const auto t0 = Clock::now();
  raft::test::ProposeReply p = cluster.Propose(leader, 10000, 256, 64, 120000);
  fmt::print("committed {} entries in {:.0f} ms (p50 {} us, p99 {} us)\n", p.committed(),
             MillisSince(t0), p.p50_us(), p.p99_us());
  if (p.committed() != 10000) Die("not all 10,000 entries were acknowledged");
  auto before = cluster.Status(leader);
  if (!before) Die("leader stopped answering");

  const uint64_t old_term = before->term();
  const uint64_t killed = leader.id;
  const auto kill_time = Clock::now();
  cluster.Kill(leader);
  Node& next = cluster.WaitForLeader(old_term, 5000, killed);
  const double election_ms = MillisSince(kill_time);
  fmt::print("kill -9 of leader {}: node {} leads after {:.0f} ms\n", killed, next.id, election_ms);
  if (election_ms > 1000) Die(fmt::format("new leader took {:.0f} ms (limit 1000 ms)", election_ms));

  // Nothing committed is lost: the new leader's state holds every acknowledged entry, and a
  // fresh entry commits on top of them.
  raft::test::ProposeReply more = cluster.Propose(next, 1, 1, 64, 10000);
  if (more.committed() != 1) Die("the new leader could not commit");
  auto after = cluster.Status(next);
  if (!after || after->client_entries() < 10001) {
    Die(fmt::format("committed entries lost: new leader applied {} client entries, want >= 10001",
                    after ? after->client_entries() : 0));
  }
  fmt::print("new leader holds all {} acknowledged entries (+1 new)\n", 10000);

  // Compact past the killed node's log, then restart it: it must catch up from a snapshot.
  cluster.Propose(next, 5000, 256, 64, 120000);
  auto target = cluster.Status(next);
  if (!target) Die("new leader stopped answering");
  Node& restarted = cluster.nodes()[killed - 1];
  cluster.Start(restarted);
  raft::test::StatusReply caught = cluster.WaitCaughtUp(restarted, *target, 20000);
  target = cluster.Status(next);
  caught = cluster.WaitCaughtUp(restarted, *target, 20000);
  if (caught.chain() != target->chain() && caught.applied() == target->applied()) {
    Die("restarted node's state differs from the leader's");
  }
  fmt::print("restarted node {} caught up to {} ({} snapshot(s) installed, leader snapshot at {})\n",
             restarted.id, caught.applied(), caught.snapshots_installed(), target->snapshot_index());
  if (caught.snapshots_installed() == 0) Die("the restarted node did not catch up from a snapshot");
  // Every live node converges on the same state.
  for (Node& n : cluster.nodes()) {
    auto s = cluster.WaitCaughtUp(n, *target, 20000);
    if (s.applied() == target->applied() && s.chain() != target->chain()) {
      Die(fmt::format("node {} applied a different history", n.id));
    }
  }

  // Leadership transfer (rolling restarts) to the restarted node, then a linearizable read
  // through the new leader that sees every acknowledged entry.
  raft::test::TransferRequest transfer;
  transfer.set_target(restarted.id);
  absl::StatusOr<std::string> started = cluster.Call(next, raft::test::TRANSFER, transfer, 2000);
  if (!started.ok()) Die(fmt::format("leadership transfer refused: {}", started.status()));
  Node& transferred = cluster.WaitForLeader(target->term(), 5000);
  if (transferred.id != restarted.id) {
    Die(fmt::format("leadership went to node {}, not the transfer target {}", transferred.id,
                    restarted.id));
  }
  absl::StatusOr<std::string> read = cluster.Call(transferred, raft::test::READ,
                                                  raft::test::ReadRequest(), 5000);
  raft::test::ReadReply read_reply;
  if (!read.ok() || !read_reply.ParseFromString(*read)) {
    Die(fmt::format("read-index read failed: {}", read.status()));
  }
  if (read_reply.client_entries() < target->client_entries()) {
    Die(fmt::format("stale read: {} client entries, {} were acknowledged",
                    read_reply.client_entries(), target->client_entries()));
  }
  fmt::print("transferred leadership to node {}; read-index read at {} sees {} entries\n",
             transferred.id, read_reply.read_index(), read_reply.client_entries());
  fmt::print("PASS\n");
}

void RunBench(const std::string& binary, uint64_t entries, uint32_t window, uint32_t bytes,
              int trials) {
  Cluster cluster(binary, 3);
  cluster.set_snapshot_every(20000);
  for (Node& n : cluster.nodes()) cluster.Start(n);
  Node* leader = &cluster.WaitForLeader(0, 10000);
  cluster.Propose(*leader, 1000, window, bytes, 60000);  // warm-up
  raft::test::ProposeReply p = cluster.Propose(*leader, entries, window, bytes, 600000);
  fmt::print("commit: {} entries of {} bytes, window {}: {:.0f} commits/s, latency p50 {:.2f} ms, "
             "p99 {:.2f} ms, max {:.2f} ms\n",
             p.committed(), bytes, window, static_cast<double>(p.committed()) / p.elapsed_seconds(),
             p.p50_us() / 1000.0, p.p99_us() / 1000.0, p.max_us() / 1000.0);
  raft::test::ProposeReply serial = cluster.Propose(*leader, 2000, 1, bytes, 600000);
  fmt::print("commit, one at a time: {:.0f} commits/s, latency p50 {:.2f} ms, p99 {:.2f} ms\n",
             static_cast<double>(serial.committed()) / serial.elapsed_seconds(),
             serial.p50_us() / 1000.0, serial.p99_us() / 1000.0);

  std::vector<double> elections;
  for (int t = 0; t < trials; ++t) {
    auto before = cluster.Status(*leader);
    if (!before) Die("leader stopped answering");
    Node& killed = *leader;
    const auto kill_time = Clock::now();
    cluster.Kill(killed);
    leader = &cluster.WaitForLeader(before->term(), 10000, killed.id);
    elections.push_back(MillisSince(kill_time));
    cluster.Propose(*leader, 10, 10, bytes, 10000);
    auto target = cluster.Status(*leader);
    cluster.Start(killed);
    cluster.WaitCaughtUp(killed, *target, 20000);
    fmt::print("  election {}: {:.0f} ms\n", t + 1, elections.back());
  }
  if (!elections.empty()) {
    std::sort(elections.begin(), elections.end());
    fmt::print("election after kill -9 of the leader over {} trials: median {:.0f} ms, min {:.0f} ms, "
               "max {:.0f} ms\n",
               elections.size(), elections[elections.size() / 2], elections.front(), elections.back());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string binary;
  bool bench = false;
  uint64_t entries = 20000;
  uint32_t window = 64, bytes = 100;
  int trials = 20;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "missing value for {}\n", arg);
        std::exit(2);
      }
      return argv[++i];
    };
    bool ok = true;
    if (arg == "--node-binary") binary = value();
    else if (arg == "--bench") bench = true;
    else if (arg == "--entries") ok = absl::SimpleAtoi(value(), &entries);
    else if (arg == "--window") ok = absl::SimpleAtoi(value(), &window);
    else if (arg == "--payload-bytes") ok = absl::SimpleAtoi(value(), &bytes);
    else if (arg == "--trials") ok = absl::SimpleAtoi(value(), &trials);
    else ok = false;
    if (!ok) {
      fmt::print(stderr, "usage: raft-cluster-test --node-binary PATH [--bench [--entries N] "
                         "[--window W] [--payload-bytes B] [--trials T]]\n");
      return 2;
    }
  }
  if (binary.empty()) {
    fmt::print(stderr, "--node-binary is required\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  try {
    if (bench) {
      RunBench(binary, entries, window, bytes, trials);
    } else {
      RunTest(binary);
    }
  } catch (const Fatal& f) {
    fmt::print("FAIL: {}\n", f.message);
    return 1;
  }
  return 0;
}
