// sluice-controller: one voter of the metadata quorum. Brokers register with, heartbeat to and
// fetch metadata from whichever voter leads; the others point them there.

#include <signal.h>

#include <cstdio>
#include <thread>

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include "common/absl_compat.h"
#include "common/config.h"
#include "common/endpoint.h"
#include "common/listeners.h"
#include "common/log.h"
#include "common/process.h"
#include "controller/service/controller.h"
#include "controller/service/controller_config.h"
#include "controller/service/controller_metrics.h"
#include "protocol/admin/admin_server.h"
#include "controller/service/controller_service.h"
#include "controller/service/raft_quorum.h"
#include "controller/service/scram_bootstrap.h"
#include "protocol/metadata/quorum_voters.h"
#include "protocol/net/tls_config.h"
#include "protocol/rpc/client.h"
#include "protocol/rpc/server.h"
#include "storage/log/node_identity.h"

namespace {

constexpr int kRaftTickMs = 25;
constexpr int kRaftHeartbeatTicks = 2;

// TLS on the controller listener when listener.security.protocol.map makes it SSL: the server
// side for brokers and voters, the client side for this voter's Raft peers. Both present the
// keystore, so ssl.client.auth=required is mTLS between every pair.
absl::Status SetUpTls(const sluice::config::Properties& props, sluice::rpc::ServerOptions& server,
                      sluice::rpc::ClientOptions& peers) {
  using namespace sluice;
  const std::string name = ListenerNameOf(props.GetString("listeners"));
  absl::StatusOr<SecurityProtocol> protocol =
      ListenerSecurityProtocol(name, props.GetString("listener.security.protocol.map"));
  if (absl::IsNotFound(protocol.status())) return absl::OkStatus();
  if (!protocol.ok()) return protocol.status();
  if (*protocol == SecurityProtocol::kPlaintext) return absl::OkStatus();
  if (*protocol != SecurityProtocol::kSsl) {
    return absl::InvalidArgumentError(fmt::format("the controller listener {} is {}; PLAINTEXT and SSL are served",
                                                  name, SecurityProtocolName(*protocol)));
  }
  absl::StatusOr<net::TlsOptions> options = net::TlsOptionsFromConfig(props);
  if (!options.ok()) return options.status();
  auto server_tls = net::ReloadingTlsContext::Create(net::ReloadingTlsContext::Side::kServer, *options);
  if (!server_tls.ok()) return server_tls.status();
  auto peer_tls = net::ReloadingTlsContext::Create(net::ReloadingTlsContext::Side::kClient, *options);
  if (!peer_tls.ok()) return peer_tls.status();
  server.tls = std::move(*server_tls);
  peers.tls = std::move(*peer_tls);
  peers.verify_host = net::VerifiesServerHost(props);
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sluice;
  int exit_code = 0;
  auto props = LoadProcessConfig("sluice-controller", controller::ControllerSchema(), argc, argv, &exit_code);
  if (!props) return exit_code;
  auto fail = [](const std::string& key, const absl::Status& status) {
    std::fprintf(stderr, "sluice-controller: %s: %s\n", key.c_str(), status.ToString().c_str());
    return 2;
  };
  auto listener = ParseEndpoint(props->GetString("listeners"));
  if (!listener.ok()) return fail("listeners", listener.status());
  const int32_t node_id = props->GetInt("node.id");
  std::map<int32_t, HostPort> voters;
  if (props->GetString("controller.quorum.voters").empty()) {
    voters[node_id] = *listener;
  } else {
    auto parsed = metadata::ParseQuorumVoters(props->GetString("controller.quorum.voters"));
    if (!parsed.ok()) return fail("controller.quorum.voters", parsed.status());
    voters = std::move(*parsed);
  }
  if (!voters.count(node_id)) {
    return fail("controller.quorum.voters", absl::InvalidArgumentError(fmt::format(
                                                "node.id {} is not one of the voters", node_id)));
  }
  if (voters.size() != 1 && voters.size() != 3 && voters.size() != 5) {
    return fail("controller.quorum.voters",
                absl::InvalidArgumentError(fmt::format("{} voters: use 1, 3 or 5", voters.size())));
  }
  const int64_t snapshot_interval = props->GetLong("metadata.log.max.snapshot.interval.entries");
  auto scram_bootstrap = controller::ParseScramBootstrap(props->GetString("scram.bootstrap.credentials"));
  if (!scram_bootstrap.ok()) return fail("scram.bootstrap.credentials", scram_bootstrap.status());
  controller::ControllerOptions options{
      .node_id = node_id,
      .broker_session_timeout_ms = props->GetLong("broker.session.timeout.ms"),
      .unclean_leader_election = props->GetBool("unclean.leader.election.enable"),
      .auto_leader_rebalance = props->GetBool("auto.leader.rebalance.enable"),
      .leader_imbalance_check_interval_ms = props->GetLong("leader.imbalance.check.interval.seconds") * 1000,
      .leader_imbalance_per_broker_percentage = props->GetInt("leader.imbalance.per.broker.percentage"),
      .fetch_tail_entries = static_cast<size_t>(snapshot_interval),
      .scram_bootstrap = std::move(*scram_bootstrap)};
  controller::Controller controller(options, voters, SystemClock::Instance());

  // Stop signals are taken by sigwait below, never by a thread that runs an event loop.
  BlockStopSignals();
  const sigset_t stop_signals = StopSignals();

  asio::io_context network;
  asio::io_context events;
  auto network_guard = asio::make_work_guard(network);
  auto events_guard = asio::make_work_guard(events);
  rpc::ServerOptions server_options;
  rpc::ClientOptions peer_options;
  if (absl::Status status = SetUpTls(*props, server_options, peer_options); !status.ok()) return fail("ssl", status);
  // One server carries the Raft peer traffic and the broker methods.
  rpc::Server server(network, listener->host, listener->port, server_options);

  raft::RaftNodeOptions raft_options;
  raft_options.id = controller::RaftQuorum::RaftId(node_id);
  raft_options.data_dir = props->GetString("metadata.log.dir");
  for (const auto& [id, address] : voters) {
    raft_options.bootstrap.add_voters(controller::RaftQuorum::RaftId(id));
    if (id != node_id) raft_options.peers[controller::RaftQuorum::RaftId(id)] = {address.host, address.port};
  }
  raft_options.tick_ms = kRaftTickMs;
  raft_options.election_tick = std::max(2, props->GetInt("controller.quorum.election.timeout.ms") / kRaftTickMs);
  raft_options.heartbeat_tick = kRaftHeartbeatTicks;
  raft_options.snapshot_every = static_cast<uint64_t>(snapshot_interval);
  raft_options.peer_rpc = peer_options;
  if (absl::Status status = storage::ClaimDataDirectory(props->GetString("metadata.log.dir"), node_id); !status.ok()) {
    log::Error("sluice-controller: {}", status);
    return 1;
  }
  controller::RaftQuorum quorum(controller);
  if (absl::Status status = quorum.Open(events, server, std::move(raft_options)); !status.ok()) {
    log::Error("sluice-controller: cannot open the metadata log in {}: {}", props->GetString("metadata.log.dir"),
               status);
    return 1;
  }
  // Leader duties are checked often: a lease shortened by a closed connection lapses within
  // one tick of its deadline, and a check costs a walk over the live brokers.
  constexpr int64_t kDutyTickMs = 100;
  controller::ControllerService service(server, events, controller, kDutyTickMs);
  if (absl::Status status = server.Start(); !status.ok()) {
    log::Error("sluice-controller: cannot listen on {}:{}: {}", listener->host, listener->port, status);
    return 1;
  }
  log::Info("sluice-controller {} listening on {}:{}, {} voter(s), metadata at offset {}", node_id, listener->host,
            server.port(), voters.size(), controller.image().offset());
  metrics::Registry metrics;
  std::unique_ptr<admin::AdminServer> admin_server;
  if (const std::string admin = props->GetString("admin.listeners"); !admin.empty()) {
    auto listen = ParseEndpoint(admin);
    if (!listen.ok()) return fail("admin.listeners", listen.status());
    controller::RegisterControllerMetrics(metrics, controller, events);
    // The controller lives on the event loop: hand it the histogram there.
    asio::post(events, [&controller, latency = &metrics.GetHistogram("sluice_controller_commit_latency_seconds")] {
      controller.set_commit_latency(latency);
    });
    admin_server = std::make_unique<admin::AdminServer>(
        *listen, metrics, [&] { return controller::ControllerNotReadyReason(controller, events); });
    if (absl::Status status = admin_server->Start(); !status.ok()) return fail("admin.listeners", status);
  }
  service.Start();
  quorum.Start();
  std::thread events_thread([&] { events.run(); });
  std::thread network_thread([&] { network.run(); });

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log::Info("sluice-controller: signal {}, shutting down", signal_number);
  if (admin_server) admin_server->Stop();
  server.Stop();
  service.Stop();
  network_guard.reset();
  events_guard.reset();
  network.stop();
  events.stop();
  network_thread.join();
  events_thread.join();
  quorum.Stop();
  log::Info("sluice-controller: stopped");
  return 0;
}
