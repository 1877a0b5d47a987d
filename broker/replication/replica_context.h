#pragma once
// What partition replicas share: this broker's identity, the shards that own them, a pool for
// blocking log work, the metadata they consult, the replica fetchers of each shard and the way
// ISR changes reach the controller.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <asio/thread_pool.hpp>

#include "absl/status/statusor.h"
#include "broker/cluster/metadata_cache.h"
#include "broker/replication/replication_options.h"
#include "common/clock.h"
#include "common/metrics/registry.h"
#include "protocol/metadata/controller_api.pb.h"
#include "protocol/net/io_context_pool.h"

namespace sluice::broker {

class ReplicaFetchers;

struct ReplicaContext {
  using AlterPartitionDone = std::function<void(absl::StatusOr<metadata::AlterPartitionResponse>)>;
  // Sends an ISR change to the controller; `done` may run on any thread.
  using AlterPartitionSender = std::function<void(const metadata::AlterPartitionRequest&, AlterPartitionDone)>;
  using ReportReplicasDone = std::function<void(absl::StatusOr<metadata::ReportReplicasResponse>)>;
  // Tells the controller which replicas' logs this broker cannot open, or opened again.
  using ReportReplicasSender = std::function<void(const metadata::ReportReplicasRequest&, ReportReplicasDone)>;

  int32_t broker_id = -1;
  const Clock& clock;
  ReplicationOptions options;
  net::IoContextPool& shards;
  // Opening, truncating and deleting logs and other blocking work; never an I/O thread.
  asio::thread_pool& background;
  MetadataCache& metadata;
  AlterPartitionSender alter_partition;
  ReportReplicasSender report_replicas;
  // One per shard, touched only on that shard.
  std::vector<std::unique_ptr<ReplicaFetchers>> fetchers;
  std::function<int64_t()> broker_epoch;  // this broker's registration epoch
  metrics::Registry* metrics = nullptr;   // per-topic traffic counters; none in unit tests
};

}  // namespace sluice::broker
