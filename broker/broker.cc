#include "broker/broker.h"

#include <csignal>
#include <future>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

#include "broker/admin/broker_metrics.h"
#include "broker/admin/cluster_summary.h"
#include "broker/config/broker_config.h"
#include "broker/replication/replica_fetchers.h"
#include "broker/security/authorizer_settings.h"
#include "broker/security/jaas_config.h"
#include "common/absl_compat.h"
#include "common/endpoint.h"
#include "common/log.h"
#include "common/process.h"
#include "common/status_macros.h"
#include "storage/log/node_identity.h"

namespace sluice::broker {
namespace {
// Answered as the cluster id until the controller quorum has minted one (clients only compare it).
constexpr char kClusterId[] = "sluice-local-cluster0";
constexpr int kStartupWaitLogIntervalMs = 5000;

// The security protocol that listener.security.protocol.map gives the listener `name`.
absl::StatusOr<std::string> ListenerProtocol(const std::string& name, const std::string& map) {
  for (absl::string_view entry : absl::StrSplit(map, ',', absl::SkipWhitespace())) {
    const size_t colon = entry.find(':');
    if (colon != absl::string_view::npos && absl::StripAsciiWhitespace(entry.substr(0, colon)) == name) {
      return std::string(absl::StripAsciiWhitespace(entry.substr(colon + 1)));
    }
  }
  return absl::InvalidArgumentError(fmt::format("listener.security.protocol.map has no entry for listener {}", name));
}

// "NAME://host:port" -> NAME; a bare host:port is PLAINTEXT, as Kafka reads it.
std::string ListenerName(const std::string& listeners) {
  const size_t scheme = listeners.find("://");
  return scheme == std::string::npos ? "PLAINTEXT" : listeners.substr(0, scheme);
}
// How long SIGTERM waits for the controller to move this broker's leaderships.
constexpr auto kControlledShutdownTimeout = std::chrono::seconds(30);
}  // namespace

Broker::Broker(const config::Properties& config)
    : config_(config),
      broker_id_(config.GetInt("node.id")),
      shards_(static_cast<size_t>(config.GetInt("num.network.threads"))),
      background_(static_cast<size_t>(config.GetInt("num.recovery.threads.per.data.dir"))),
      replicas_(ReplicaContext{.broker_id = broker_id_,
                               .clock = SystemClock::Instance(),
                               .options = ReplicationOptions::FromConfig(config),
                               .shards = shards_,
                               .background = background_,
                               .metadata = metadata_,
                               .metrics = &metrics_}),
      partitions_(config.GetString("log.dirs"), config, replicas_) {
  for (size_t i = 0; i < shards_.size(); ++i) {
    replicas_.fetchers.push_back(std::make_unique<ReplicaFetchers>(shards_.at(i), replicas_));
  }
  DescribeBrokerMetrics(metrics_);
  metrics_.AddCollector(
      [this](std::vector<metrics::Sample>& samples) { CollectReplicaMetrics(broker_id_, metadata_, partitions_, samples); });
}

std::string Broker::NotReadyReason() const {
  if (!listening_) return "not serving yet: waiting for the controller, the metadata or the logs";
  if (caught_up_once_) return "";
  const auto image = metadata_.Current();
  size_t behind = 0;
  for (const auto& [name, topic] : image->topics()) {
    for (const auto& p : topic->partitions) {
      auto has = [&](const std::vector<int32_t>& ids) {
        return std::find(ids.begin(), ids.end(), broker_id_) != ids.end();
      };
      // A replica with no leader to catch up from, or that cannot be opened, cannot hold this up.
      if (has(p.replicas) && !has(p.isr) && !has(p.offline_replicas) && p.leader >= 0) ++behind;
    }
  }
  if (behind > 0) return fmt::format("{} hosted replicas have not caught up since the start", behind);
  caught_up_once_ = true;
  return "";
}

Broker::~Broker() { Shutdown(); }

absl::Status Broker::StartSecurity() {
  const std::string name = ListenerName(config_.GetString("listeners"));
  SLUICE_ASSIGN_OR_RETURN(std::string protocol,
                          ListenerProtocol(name, config_.GetString("listener.security.protocol.map")));
  if (protocol == "PLAINTEXT") return absl::OkStatus();
  if (protocol != "SASL_PLAINTEXT") {
    return absl::InvalidArgumentError(fmt::format(
        "listener {}: security protocol {} is not supported yet (PLAINTEXT and SASL_PLAINTEXT are)", name, protocol));
  }
  std::vector<std::string> mechanisms = config_.GetList("sasl.enabled.mechanisms");
  for (const std::string& mechanism : mechanisms) {
    if (mechanism != "PLAIN") {
      return absl::InvalidArgumentError(
          fmt::format("sasl.enabled.mechanisms: {} is not supported yet (PLAIN is)", mechanism));
    }
  }
  if (mechanisms.empty()) return absl::InvalidArgumentError("sasl.enabled.mechanisms: empty on a SASL listener");
  SLUICE_ASSIGN_OR_RETURN(security::PlainCredentials credentials,
                          security::ParsePlainJaasConfig(config_.GetString("sasl.jaas.config")));
  if (credentials.username.empty() || credentials.password.empty()) {
    return absl::InvalidArgumentError(
        "sasl.jaas.config: username and password are needed: brokers log in to each other on this listener");
  }
  replicas_.options.inter_broker_login = ReplicationOptions::Login{credentials.username, credentials.password};
  sasl_ = std::make_unique<security::SaslServer>(std::move(credentials), std::move(mechanisms),
                                                 config_.GetInt("connection.failed.authentication.delay.ms"));
  return absl::OkStatus();
}

absl::Status Broker::Start() {
  if (const std::string admin = config_.GetString("admin.listeners"); !admin.empty()) {
    SLUICE_ASSIGN_OR_RETURN(HostPort listen, ParseEndpoint(admin));
    admin_ = std::make_unique<admin::AdminServer>(listen, metrics_, [this] { return NotReadyReason(); });
    admin_->AddJsonRoute("/v1/cluster", [this] { return ClusterSummaryJson(*metadata_.Current(), broker_id_); });
    SLUICE_RETURN_IF_ERROR(admin_->Start());
  }
  SLUICE_ASSIGN_OR_RETURN(HostPort listener, ParseEndpoint(config_.GetString("listeners")));
  SLUICE_RETURN_IF_ERROR(StartSecurity());
  SLUICE_ASSIGN_OR_RETURN(std::optional<security::AuthorizerSettings> authorization,
                          security::AuthorizerSettingsFromConfig(config_));
  if (authorization) authorizer_ = std::make_unique<security::AuthorizerCache>(std::move(*authorization));
  if (const std::string file = config_.GetString("audit.log.file"); !file.empty()) {
    SLUICE_ASSIGN_OR_RETURN(audit_, audit::AuditLog::Open({.file = file,
                                                            .max_bytes = config_.GetLong("audit.log.max.bytes"),
                                                            .max_files = config_.GetInt("audit.log.max.files")}));
  }
  std::string advertised_text = config_.GetString("advertised.listeners");
  SLUICE_ASSIGN_OR_RETURN(HostPort advertised, ParseEndpoint(advertised_text.empty() ? config_.GetString("listeners")
                                                                                     : advertised_text));
  SLUICE_ASSIGN_OR_RETURN(std::vector<ControllerAddress> controllers,
                          ParseControllerAddresses(config_.GetString("controller.quorum.voters"),
                                                   config_.GetString("controller.quorum.bootstrap.servers")));
  if (advertised.host == "0.0.0.0") {
    return absl::InvalidArgumentError("advertised.listeners: set a host clients can reach (listeners binds 0.0.0.0)");
  }
  SLUICE_RETURN_IF_ERROR(storage::ClaimDataDirectory(config_.GetString("log.dirs"), broker_id_));
  // Recovery of every log happens before registering, so a long one cannot get the broker
  // fenced, and every replica is ready when the metadata names it.
  SLUICE_RETURN_IF_ERROR(partitions_.Preload());

  controller_ = std::make_unique<ControllerLink>(
      control_io_,
      ControllerLinkOptions{.broker_id = broker_id_,
                            .advertised_host = advertised.host,
                            .advertised_port = advertised.port,
                            .rack = config_.GetString("broker.rack"),
                            .controllers = controllers,
                            .heartbeat_interval_ms = config_.GetLong("broker.heartbeat.interval.ms")},
      metadata_, partitions_);
  replicas_.broker_epoch = [this] { return controller_->broker_epoch(); };
  replicas_.alter_partition = [this](const metadata::AlterPartitionRequest& request,
                                     ReplicaContext::AlterPartitionDone done) {
    controller_->Forward<metadata::AlterPartitionRequest, metadata::AlterPartitionResponse>(metadata::ALTER_PARTITION,
                                                                                          request, std::move(done));
  };
  replicas_.report_replicas = [this](const metadata::ReportReplicasRequest& request,
                                     ReplicaContext::ReportReplicasDone done) {
    controller_->Forward<metadata::ReportReplicasRequest, metadata::ReportReplicasResponse>(metadata::REPORT_REPLICAS,
                                                                                          request, std::move(done));
  };
  producer_ids_ = std::make_unique<ProducerIdManager>([this](auto done) {
    metadata::AllocateProducerIdsRequest request;
    request.set_broker_id(broker_id_);
    request.set_broker_epoch(controller_->broker_epoch());
    controller_->Forward<metadata::AllocateProducerIdsRequest, metadata::AllocateProducerIdsResponse>(
        metadata::ALLOCATE_PRODUCER_IDS, request,
        [done = std::move(done)](absl::StatusOr<metadata::AllocateProducerIdsResponse> response) {
          if (!response.ok()) return done(response.status());
          done(std::make_pair(response->first_producer_id(), response->size()));
        });
  });
  groups_ = std::make_unique<groups::GroupCoordinator>(groups::CoordinatorOptions::FromConfig(broker_id_, config_),
                                                       metadata_, partitions_, *controller_, SystemClock::Instance());
  metrics_.AddCollector([groups = groups_.get()](std::vector<metrics::Sample>& samples) {
    CollectGroupMetrics(*groups, samples);
  });
  context_ = std::make_unique<BrokerContext>(BrokerContext{.broker_id = broker_id_,
                                                           .cluster_id = kClusterId,
                                                           .config = config_,
                                                           .metadata = metadata_,
                                                           .shards = shards_,
                                                           .partitions = partitions_,
                                                           .background = background_,
                                                           .controller = *controller_,
                                                           .producer_ids = *producer_ids_,
                                                           .groups = *groups_,
                                                           .clock = SystemClock::Instance(),
                                                           .metrics = metrics_,
                                                           .fetch_purgatory = &metrics_.GetGauge(
                                                               "kafka_server_delayedoperationpurgatory_purgatorysize",
                                                               {{"delayedOperation", "Fetch"}}),
                                                           .audit = audit_.get(),
                                                           .listener_name = ListenerName(config_.GetString("listeners")),
                                                           .sasl = sasl_.get(),
                                                           .authorizer = authorizer_.get()});
  dispatcher_ = std::make_unique<RequestDispatcher>(*context_);

  auto guard = asio::make_work_guard(control_io_);
  control_thread_ = std::thread([this, guard = std::move(guard)] { control_io_.run(); });
  controller_->Start();

  // Clients must not see a broker that does not know the cluster yet: listen once caught up.
  // The wait also watches for SIGTERM/SIGINT, which main() blocked in every thread.
  const sigset_t stop_signals = StopSignals();
  const timespec poll_interval{.tv_sec = 0, .tv_nsec = 50'000'000};
  // Ready also means every replica the image names has its log open and its role taken.
  auto caught_up = [this] { return controller_->ready() && metadata_.applied_offset() >= metadata_.Current()->offset(); };
  for (int64_t waited_ms = 0; !caught_up(); waited_ms += 50) {
    if (waited_ms > 0 && waited_ms % kStartupWaitLogIntervalMs == 0) {
      log::Info("broker {}: waiting for the controller quorum ({} controllers)", broker_id_, controllers.size());
    }
    if (sigtimedwait(&stop_signals, nullptr, &poll_interval) > 0) {
      return absl::CancelledError("stopped by a signal before the controller answered");
    }
  }
  partitions_.StartMaintenance();
  groups_->Start();

  server_ = std::make_unique<net::KafkaServer>(
      shards_,
      net::ServerOptions{.host = listener.host,
                         .port = listener.port,
                         .max_request_bytes = config_.GetInt("socket.request.max.bytes"),
                         .idle_timeout_ms = config_.GetLong("connections.max.idle.ms")},
      [this](const net::ConnectionInfo& connection, std::shared_ptr<const std::string> frame, net::Responder responder) {
        dispatcher_->Dispatch(connection, std::move(frame), std::move(responder));
      });
  SLUICE_RETURN_IF_ERROR(server_->Start());
  listening_ = true;
  log::Info("broker {}: listening on {}:{} ({} shards), data in {}", broker_id_, listener.host, server_->port(),
            shards_.size(), config_.GetString("log.dirs"));
  return absl::OkStatus();
}

void Broker::RunUntilSignalled() {
  const sigset_t stop_signals = StopSignals();
  int signal = 0;
  sigwait(&stop_signals, &signal);
  log::Info("broker {}: signal {}, shutting down", broker_id_, signal);
  if (config_.GetBool("controlled.shutdown.enable")) ControlledShutdown();
  Shutdown();
}

void Broker::ControlledShutdown() {
  if (!controller_ || !controller_->ready()) return;
  controller_->BeginControlledShutdown();
  metadata::ControlledShutdownRequest request;
  request.set_broker_id(broker_id_);
  request.set_broker_epoch(controller_->broker_epoch());
  auto moved = std::make_shared<std::promise<absl::Status>>();
  controller_->Forward<metadata::ControlledShutdownRequest, metadata::ControlledShutdownResponse>(
      metadata::CONTROLLED_SHUTDOWN, request,
      [this, moved](absl::StatusOr<metadata::ControlledShutdownResponse> response) {
        if (!response.ok()) return moved->set_value(response.status());
        if (response->remaining_leaderships() > 0) {
          log::Warn("broker {}: {} partitions have no other in-sync replica and go offline", broker_id_,
                    response->remaining_leaderships());
        }
        // Serving goes on until this broker knows it leads nothing, so clients are redirected.
        metadata_.WhenApplied(response->metadata_offset(), [moved] { moved->set_value(absl::OkStatus()); });
      });
  auto done = moved->get_future();
  if (done.wait_for(kControlledShutdownTimeout) != std::future_status::ready) {
    log::Warn("broker {}: controlled shutdown did not finish within {} s; stopping anyway", broker_id_,
              kControlledShutdownTimeout.count());
  } else if (absl::Status status = done.get(); !status.ok()) {
    log::Warn("broker {}: controlled shutdown failed ({}); stopping anyway", broker_id_, status);
  } else {
    log::Info("broker {}: leaderships moved to other brokers", broker_id_);
  }
}

void Broker::Shutdown() {
  if (shut_down_.exchange(true)) return;
  listening_ = false;
  if (server_) server_->Stop();
  // Before the logs close: the coordinator appends to __consumer_offsets.
  if (groups_) groups_->Stop();
  if (controller_) controller_->Stop();
  control_io_.stop();
  if (control_thread_.joinable()) control_thread_.join();
  shards_.Stop();
  replicas_.fetchers.clear();
  background_.stop();
  background_.join();
  partitions_.Shutdown();
  if (admin_) admin_->Stop();
  log::Info("broker {}: stopped", broker_id_);
}

}  // namespace sluice::broker
