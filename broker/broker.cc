#include "broker/broker.h"

#include <csignal>
#include <future>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

#include "broker/admin/broker_metrics.h"
#include "broker/admin/cluster_summary.h"
#include "broker/config/broker_config.h"
#include "common/listeners.h"
#include "broker/replication/replica_fetchers.h"
#include "broker/security/authorizer_settings.h"
#include "broker/security/jaas_config.h"
#include "protocol/net/tls_config.h"
#include "protocol/net/tls_context.h"
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

std::vector<metadata::BrokerEndpoint> AdvertisedEndpoints(const Listeners& listeners) {
  std::vector<metadata::BrokerEndpoint> endpoints;
  for (const Listener& listener : listeners.all) {
    metadata::BrokerEndpoint& e = endpoints.emplace_back();
    e.set_name(listener.name);
    e.set_host(listener.advertised.host);
    e.set_port(listener.advertised.port);
    e.set_security_protocol(static_cast<int32_t>(listener.protocol));
  }
  return endpoints;
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

absl::Status Broker::StartTls() {
  const Listener& inter_broker = listeners_.InterBroker();
  if (std::none_of(listeners_.all.begin(), listeners_.all.end(), [](const Listener& l) { return UsesTls(l.protocol); })) {
    return absl::OkStatus();
  }
  SLUICE_ASSIGN_OR_RETURN(net::TlsOptions options, net::TlsOptionsFromConfig(config_));
  SLUICE_ASSIGN_OR_RETURN(server_tls_, net::ReloadingTlsContext::Create(net::ReloadingTlsContext::Side::kServer, options));
  SLUICE_ASSIGN_OR_RETURN(security::SslPrincipalMapper mapper,
                          security::SslPrincipalMapper::Parse(config_.GetString("ssl.principal.mapping.rules")));
  ssl_principals_ = std::make_unique<security::SslPrincipalMapper>(std::move(mapper));
  if (UsesTls(inter_broker.protocol)) {
    // A follower presents this broker's own certificate, so leaders may require mTLS.
    SLUICE_ASSIGN_OR_RETURN(replicas_.options.inter_broker.tls,
                            net::ReloadingTlsContext::Create(net::ReloadingTlsContext::Side::kClient, options));
    replicas_.options.inter_broker.verify_host = net::VerifiesServerHost(config_);
  }
  return absl::OkStatus();
}

absl::StatusOr<rpc::ClientOptions> Broker::ControllerRpcOptions() const {
  const std::string name = absl::AsciiStrToUpper(config_.GetString("controller.listener.names"));
  absl::StatusOr<SecurityProtocol> protocol =
      ListenerSecurityProtocol(name, config_.GetString("listener.security.protocol.map"));
  if (absl::IsNotFound(protocol.status()) || (protocol.ok() && *protocol == SecurityProtocol::kPlaintext)) {
    return rpc::ClientOptions{};
  }
  if (!protocol.ok()) return protocol.status();
  if (*protocol != SecurityProtocol::kSsl) {
    return absl::InvalidArgumentError(fmt::format(
        "controller.listener.names: listener {} is {}; the controller RPC speaks PLAINTEXT or SSL", name,
        SecurityProtocolName(*protocol)));
  }
  // The broker presents its own certificate: controllers that require client certificates
  // accept only brokers their CAs signed.
  SLUICE_ASSIGN_OR_RETURN(net::TlsOptions options, net::TlsOptionsFromConfig(config_));
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<net::ReloadingTlsContext> tls,
                          net::ReloadingTlsContext::Create(net::ReloadingTlsContext::Side::kClient, options));
  return rpc::ClientOptions{.tls = std::move(tls), .verify_host = net::VerifiesServerHost(config_)};
}

absl::Status Broker::StartSasl() {
  const Listener& inter_broker = listeners_.InterBroker();
  if (std::none_of(listeners_.all.begin(), listeners_.all.end(), [](const Listener& l) { return UsesSasl(l.protocol); })) {
    return absl::OkStatus();
  }
  std::vector<std::string> mechanisms = config_.GetList("sasl.enabled.mechanisms");
  for (const std::string& mechanism : mechanisms) {
    if (mechanism != "PLAIN" && mechanism != "OAUTHBEARER" && !security::ScramMechanismNamed(mechanism).has_value()) {
      return absl::InvalidArgumentError(fmt::format(
          "sasl.enabled.mechanisms: {} is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER are)",
          mechanism));
    }
  }
  if (mechanisms.empty()) return absl::InvalidArgumentError("sasl.enabled.mechanisms: empty on a SASL listener");
  auto enabled = [&](const std::string& mechanism) {
    return std::find(mechanisms.begin(), mechanisms.end(), mechanism) != mechanisms.end();
  };
  const std::string mechanism = config_.GetString("sasl.mechanism.inter.broker.protocol");
  SLUICE_ASSIGN_OR_RETURN(security::JaasConfig jaas, security::ParseJaasConfig(config_.GetString("sasl.jaas.config")));
  if (enabled("PLAIN") && !jaas.plain.has_value()) {
    return absl::InvalidArgumentError("sasl.jaas.config: PLAIN is enabled: a PlainLoginModule entry lists its users");
  }
  if (UsesSasl(inter_broker.protocol)) {
    if (!enabled(mechanism)) {
      return absl::InvalidArgumentError(fmt::format(
          "sasl.mechanism.inter.broker.protocol: {} is not in sasl.enabled.mechanisms: other brokers could not "
          "accept this broker's login",
          mechanism));
    }
    // Brokers log in to each other on that listener, with the entry of the inter-broker mechanism.
    ReplicationOptions::Login login{.mechanism = mechanism};
    if (mechanism == "PLAIN") {
      login.username = jaas.plain->username;
      login.password = jaas.plain->password;
    } else if (jaas.scram.has_value()) {
      login.username = jaas.scram->username;
      login.password = jaas.scram->password;
    } else {
      return absl::InvalidArgumentError(fmt::format(
          "sasl.jaas.config: a ScramLoginModule entry with username and password is needed for {} between brokers",
          mechanism));
    }
    if (login.username.empty() || login.password.empty()) {
      return absl::InvalidArgumentError(fmt::format(
          "sasl.jaas.config: username and password are needed: brokers log in to each other on listener {}",
          inter_broker.name));
    }
    replicas_.options.inter_broker.login = std::move(login);
  }
  // SCRAM users come from the metadata image current at each login, so changes apply at once.
  auto scram = [this](security::ScramMechanism mechanism, const std::string& user) -> std::optional<security::ScramCredential> {
    const auto image = metadata_.Current();
    auto found = image->scram_credentials().find(user);
    if (found == image->scram_credentials().end()) return std::nullopt;
    auto credential = found->second.find(static_cast<int32_t>(mechanism));
    if (credential == found->second.end()) return std::nullopt;
    return security::ScramCredential{.salt = credential->second.salt,
                                     .stored_key = credential->second.stored_key,
                                     .server_key = credential->second.server_key,
                                     .iterations = credential->second.iterations};
  };
  std::shared_ptr<security::JwksFile> jwks;
  if (enabled("OAUTHBEARER")) {
    SLUICE_ASSIGN_OR_RETURN(jwks, security::JwksFile::Open(config_.GetString("sasl.oauthbearer.jwks.endpoint.url")));
  }
  security::SaslServer::Options options{
      .plain = enabled("PLAIN") ? std::move(jaas.plain) : std::nullopt,
      .scram = std::move(scram),
      .jwks = std::move(jwks),
      .jwt = {.issuer = config_.GetString("sasl.oauthbearer.expected.issuer"),
              .audience = config_.GetString("sasl.oauthbearer.expected.audience"),
              .subject_claim = config_.GetString("sasl.oauthbearer.sub.claim.name"),
              .clock_skew_seconds = config_.GetLong("sasl.oauthbearer.clock.skew.seconds")},
      .mechanisms = std::move(mechanisms),
      .failure_delay_ms = config_.GetInt("connection.failed.authentication.delay.ms"),
      .max_reauth_ms = config_.GetLong("connections.max.reauth.ms")};
  sasl_ = std::make_unique<security::SaslServer>(std::move(options));
  return absl::OkStatus();
}

void Broker::AuditTlsFailure(const Listener& listener, const std::string& peer, const std::string& reason) const {
  if (!audit_) return;
  audit_->Record({.time_ms = SystemClock::Instance().NowMs(),
                  .principal = "User:ANONYMOUS",
                  .client = peer,
                  .listener = listener.name,
                  .api = "TlsHandshake",
                  .resource_type = "USER",
                  .resource = reason,
                  // Kafka has no wire error code for a failed TLS handshake.
                  .result = "SSL_HANDSHAKE_FAILED"});
}

absl::Status Broker::StartListeners() {
  for (const Listener& listener : listeners_.all) {
    auto server = std::make_unique<net::KafkaServer>(
        shards_,
        net::ServerOptions{.host = listener.bind.host,
                           .port = listener.bind.port,
                           .max_request_bytes = config_.GetInt("socket.request.max.bytes"),
                           .idle_timeout_ms = config_.GetLong("connections.max.idle.ms"),
                           .tls = UsesTls(listener.protocol) ? server_tls_ : nullptr,
                           .on_tls_failure =
                               [this, &listener](const std::string& peer, const std::string& reason) {
                                 AuditTlsFailure(listener, peer, reason);
                               }},
        [this, &listener](const net::ConnectionInfo& connection, std::shared_ptr<const std::string> frame,
                          net::Responder responder) {
          dispatcher_->Dispatch(listener, connection, std::move(frame), std::move(responder));
        });
    SLUICE_RETURN_IF_ERROR(server->Start());
    log::Info("broker {}: listener {} ({}) on {}:{}", broker_id_, listener.name, SecurityProtocolName(listener.protocol),
              listener.bind.host, server->port());
    servers_.push_back(std::move(server));
  }
  return absl::OkStatus();
}

absl::Status Broker::Start() {
  if (const std::string admin = config_.GetString("admin.listeners"); !admin.empty()) {
    SLUICE_ASSIGN_OR_RETURN(HostPort listen, ParseEndpoint(admin));
    admin_ = std::make_unique<admin::AdminServer>(listen, metrics_, [this] { return NotReadyReason(); });
    admin_->AddJsonRoute("/v1/cluster", [this] { return ClusterSummaryJson(*metadata_.Current(), broker_id_); });
    SLUICE_RETURN_IF_ERROR(admin_->Start());
  }
  SLUICE_ASSIGN_OR_RETURN(listeners_, ParseListeners(config_));
  SLUICE_RETURN_IF_ERROR(StartTls());
  SLUICE_RETURN_IF_ERROR(StartSasl());
  SLUICE_ASSIGN_OR_RETURN(std::optional<security::AuthorizerSettings> authorization,
                          security::AuthorizerSettingsFromConfig(config_));
  if (authorization) authorizer_ = std::make_unique<security::AuthorizerCache>(std::move(*authorization));
  if (const std::string file = config_.GetString("audit.log.file"); !file.empty()) {
    SLUICE_ASSIGN_OR_RETURN(audit_, audit::AuditLog::Open({.file = file,
                                                            .max_bytes = config_.GetLong("audit.log.max.bytes"),
                                                            .max_files = config_.GetInt("audit.log.max.files"),
                                                            .copy = [this](std::string_view lines) {
                                                              if (auto topic = audit_topic_.load()) {
                                                                topic->Append(lines);
                                                              }
                                                            }}));
  } else if (!config_.GetString("audit.log.topic").empty()) {
    return absl::InvalidArgumentError("audit.log.topic copies the audit log: set audit.log.file too");
  }
  SLUICE_ASSIGN_OR_RETURN(std::vector<ControllerAddress> controllers,
                          ParseControllerAddresses(config_.GetString("controller.quorum.voters"),
                                                   config_.GetString("controller.quorum.bootstrap.servers")));
  SLUICE_RETURN_IF_ERROR(storage::ClaimDataDirectory(config_.GetString("log.dirs"), broker_id_));
  // Recovery of every log happens before registering, so a long one cannot get the broker
  // fenced, and every replica is ready when the metadata names it.
  SLUICE_RETURN_IF_ERROR(partitions_.Preload());
  SLUICE_ASSIGN_OR_RETURN(rpc::ClientOptions controller_rpc, ControllerRpcOptions());

  controller_ = std::make_unique<ControllerLink>(
      control_io_,
      ControllerLinkOptions{.broker_id = broker_id_,
                            .advertised_host = listeners_.InterBroker().advertised.host,
                            .advertised_port = listeners_.InterBroker().advertised.port,
                            .endpoints = AdvertisedEndpoints(listeners_),
                            .rack = config_.GetString("broker.rack"),
                            .controllers = controllers,
                            .rpc = std::move(controller_rpc),
                            .heartbeat_interval_ms = config_.GetLong("broker.heartbeat.interval.ms")},
      metadata_, partitions_);
  if (const std::string topic = config_.GetString("audit.log.topic"); !topic.empty() && audit_) {
    audit_topic_.store(std::make_shared<audit::AuditTopic>(
        control_io_,
        audit::AuditTopic::Options{.topic = topic,
                                   .replication_factor = config_.GetInt("default.replication.factor"),
                                   .broker_id = broker_id_},
        metadata_, *controller_, replicas_.options.inter_broker));
  }
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
  txn_coordinator_ = std::make_unique<txn::TransactionCoordinator>(
      txn::TxnCoordinatorOptions::FromConfig(broker_id_, config_), metadata_, partitions_, *controller_, *producer_ids_,
      SystemClock::Instance(), replicas_.options.inter_broker);
  txn_verifier_ = std::make_unique<txn::CoordinatorVerifier>(*txn_coordinator_);
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
                                                           .txn_coordinator = *txn_coordinator_,
                                                           .clock = SystemClock::Instance(),
                                                           .metrics = metrics_,
                                                           .fetch_purgatory = &metrics_.GetGauge(
                                                               "kafka_server_delayedoperationpurgatory_purgatorysize",
                                                               {{"delayedOperation", "Fetch"}}),
                                                           .audit = audit_.get(),
                                                           .sasl = sasl_.get(),
                                                           .ssl_principals = ssl_principals_.get(),
                                                           .authorizer = authorizer_.get(),
                                                           .transactions =
                                                               config_.GetBool("transaction.partition.verification.enable")
                                                                   ? txn_verifier_.get()
                                                                   : nullptr});
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
  txn_coordinator_->Start();

  SLUICE_RETURN_IF_ERROR(StartListeners());
  listening_ = true;
  log::Info("broker {}: serving ({} shards), data in {}", broker_id_, shards_.size(), config_.GetString("log.dirs"));
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
  for (auto& server : servers_) server->Stop();
  // Before the logs close: the coordinator appends to __consumer_offsets.
  if (groups_) groups_->Stop();
  if (txn_coordinator_) txn_coordinator_->Stop();
  if (auto topic = audit_topic_.exchange(nullptr)) {
    // On the controller link's loop, which its connection belongs to.
    std::promise<void> stopped;
    asio::post(control_io_, [&] {
      topic->Stop();
      stopped.set_value();
    });
    if (!control_io_.stopped()) stopped.get_future().wait();
  }
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
