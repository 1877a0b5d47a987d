#include "broker/replication/replication_options.h"

namespace sluice::broker {

ReplicationOptions ReplicationOptions::FromConfig(const config::Properties& config) {
  return ReplicationOptions{
      .replica_lag_time_max_ms = config.GetLong("replica.lag.time.max.ms"),
      .fetch_wait_max_ms = config.GetInt("replica.fetch.wait.max.ms"),
      .fetch_min_bytes = config.GetInt("replica.fetch.min.bytes"),
      .fetch_max_bytes = config.GetInt("replica.fetch.max.bytes"),
      .fetch_response_max_bytes = config.GetInt("replica.fetch.response.max.bytes"),
      .fetch_backoff_ms = config.GetLong("replica.fetch.backoff.ms"),
      .high_watermark_checkpoint_interval_ms = config.GetLong("replica.high.watermark.checkpoint.interval.ms"),
      .producer_id_expiration_ms = config.GetLong("producer.id.expiration.ms"),
      .producer_id_expiration_check_interval_ms = config.GetLong("producer.id.expiration.check.interval.ms"),
  };
}

}  // namespace sluice::broker
