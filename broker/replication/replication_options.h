#pragma once
// Replication settings of a broker (Kafka's names), read once at start.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/config.h"

namespace sluice::net {
class ReloadingTlsContext;
}

namespace sluice::broker {

struct ReplicationOptions {
  int64_t replica_lag_time_max_ms = 30000;
  int32_t fetch_wait_max_ms = 500;
  int32_t fetch_min_bytes = 1;
  int32_t fetch_max_bytes = 1048576;            // per partition
  int32_t fetch_response_max_bytes = 10485760;  // per request
  int64_t fetch_backoff_ms = 1000;
  int64_t high_watermark_checkpoint_interval_ms = 5000;
  int64_t producer_id_expiration_ms = 86400000;                // producer.id.expiration.ms
  int64_t producer_id_expiration_check_interval_ms = 600000;  // producer.id.expiration.check.interval.ms
  // How a follower's connections to leaders are secured: TLS on an SSL or SASL_SSL
  // inter-broker listener, a SASL login (PLAIN or SCRAM) on a SASL one.
  struct Login {
    std::string mechanism;  // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
    std::string username;
    std::string password;
  };
  struct InterBrokerSecurity {
    std::shared_ptr<net::ReloadingTlsContext> tls;
    bool verify_host = true;  // ssl.endpoint.identification.algorithm=https
    std::optional<Login> login;
  };
  InterBrokerSecurity inter_broker;

  static ReplicationOptions FromConfig(const config::Properties& config);
};

}  // namespace sluice::broker
