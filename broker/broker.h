#pragma once
// A whole broker process: its shards (one event loop per core, owning partitions and
// connections), a pool for blocking disk work, the controller link with its own event loop,
// hosted partitions with their replica fetchers, and the services handlers use. main() only
// parses flags.

#include <signal.h>

#include <atomic>
#include <memory>
#include <thread>

#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>

#include "absl/status/status.h"
#include "broker/audit/audit_topic.h"
#include "broker/cluster/controller_link.h"
#include "common/listeners.h"
#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/groups/group_coordinator.h"
#include "broker/txn/coordinator_verifier.h"
#include "broker/txn/transaction_coordinator.h"
#include "broker/handlers/broker_context.h"
#include "broker/replication/replica_context.h"
#include "broker/security/authorizer_cache.h"
#include "broker/security/sasl_server.h"
#include "broker/security/ssl_principal_mapper.h"
#include "broker/server/request_dispatcher.h"
#include "broker/txn/producer_id_manager.h"
#include "common/config.h"
#include "common/metrics/registry.h"
#include "protocol/admin/admin_server.h"
#include "protocol/net/io_context_pool.h"
#include "protocol/net/kafka_server.h"
#include "protocol/net/tls_context.h"

namespace sluice::broker {

class Broker {
 public:
  explicit Broker(const config::Properties& config);
  ~Broker();

  // Opens the logs found on disk, registers with the controller, waits until metadata has
  // caught up, then opens the listener.
  absl::Status Start();
  // Blocks until SIGTERM or SIGINT, then shuts down cleanly.
  void RunUntilSignalled();

 private:
  // With TLS listeners: the certificate they serve and the rules that name clients by theirs;
  // on a TLS inter-broker listener, the followers' client side too.
  absl::Status StartTls();
  // How this broker reaches the controllers: TLS when controller.listener.names maps to SSL.
  absl::StatusOr<rpc::ClientOptions> ControllerRpcOptions() const;
  // With SASL listeners: the SASL server, and the followers' login on a SASL inter-broker one.
  absl::Status StartSasl();
  // A failed TLS handshake is a failed authentication: an audit line naming the reason.
  void AuditTlsFailure(const Listener& listener, const std::string& peer, const std::string& reason) const;
  // One Kafka server per listener.
  absl::Status StartListeners();
  // SIGTERM: the controller moves this broker's leaderships away before it stops serving.
  void ControlledShutdown();
  void Shutdown();
  // /readyz: empty once the broker serves and, after its start, every replica it hosts has
  // caught up (is in its ISR), so a rolling restart moves on only then.
  std::string NotReadyReason() const;

  const config::Properties& config_;
  const int32_t broker_id_;
  // Declared first so they outlive everything that posts to them.
  net::IoContextPool shards_;
  asio::thread_pool background_;
  std::unique_ptr<security::AuthorizerCache> authorizer_;  // when authorizer.class.name is set
  asio::io_context control_io_;
  std::thread control_thread_;
  MetadataCache metadata_;
  metrics::Registry metrics_;  // before everything that holds its counters
  ReplicaContext replicas_;
  PartitionManager partitions_;
  std::unique_ptr<ControllerLink> controller_;
  std::unique_ptr<ProducerIdManager> producer_ids_;
  std::unique_ptr<groups::GroupCoordinator> groups_;
  std::unique_ptr<txn::TransactionCoordinator> txn_coordinator_;
  std::unique_ptr<txn::CoordinatorVerifier> txn_verifier_;
  std::unique_ptr<audit::AuditLog> audit_;  // outlives the handlers that record into it
  // The audit log's copy in a topic (audit.log.topic); the log's thread reads it atomically.
  std::atomic<std::shared_ptr<audit::AuditTopic>> audit_topic_;
  Listeners listeners_;  // before the servers whose handlers refer to them
  std::shared_ptr<net::ReloadingTlsContext> server_tls_;  // with TLS listeners
  std::unique_ptr<security::SslPrincipalMapper> ssl_principals_;
  std::unique_ptr<security::SaslServer> sasl_;  // with SASL listeners
  std::unique_ptr<BrokerContext> context_;
  std::unique_ptr<RequestDispatcher> dispatcher_;
  std::vector<std::unique_ptr<net::KafkaServer>> servers_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::atomic<bool> listening_{false};
  mutable std::atomic<bool> caught_up_once_{false};
  std::atomic<bool> shut_down_{false};
};

}  // namespace sluice::broker
