#pragma once
// What request handlers reach: this broker's identity, configuration and services.

#include <cstdint>
#include <string>

#include <asio/thread_pool.hpp>

#include "broker/audit/audit_log.h"
#include "broker/cluster/controller_link.h"
#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/groups/group_coordinator.h"
#include "broker/txn/producer_id_manager.h"
#include "broker/txn/transaction_coordinator.h"
#include "broker/txn/transaction_verifier.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/metrics/registry.h"
#include "protocol/net/io_context_pool.h"

namespace sluice::broker {
namespace security {
class AuthorizerCache;
class SaslServer;
class SslPrincipalMapper;
}

struct BrokerContext {
  int32_t broker_id;
  std::string cluster_id;  // answered until the controller quorum has minted the real one
  const config::Properties& config;
  MetadataCache& metadata;
  net::IoContextPool& shards;  // partition owners (and connection threads)
  PartitionManager& partitions;
  asio::thread_pool& background;  // blocking file work, never on a shard
  ControllerLink& controller;
  ProducerIdManager& producer_ids;
  groups::GroupCoordinator& groups;
  txn::TransactionCoordinator& txn_coordinator;
  const Clock& clock;
  metrics::Registry& metrics;
  metrics::Gauge* fetch_purgatory = nullptr;  // fetches parked until data arrives or they time out
  audit::AuditLog* audit = nullptr;           // admin operations' trail, when audit.log.file is set
  const security::SaslServer* sasl = nullptr;  // when a listener is SASL_PLAINTEXT or SASL_SSL
  // Names SSL listeners' clients by their certificates (ssl.principal.mapping.rules).
  const security::SslPrincipalMapper* ssl_principals = nullptr;
  const security::AuthorizerCache* authorizer = nullptr;  // when authorizer.class.name is set
  // Asks transaction coordinators whether a partition is in a producer's transaction (KIP-890).
  TransactionVerifier* transactions = nullptr;

  std::string ClusterId(const metadata::MetadataImage& image) const {
    return image.cluster_id().empty() ? cluster_id : image.cluster_id();
  }
};

}  // namespace sluice::broker
