#include "broker/admin/broker_metrics.h"

namespace sluice::broker {

void DescribeBrokerMetrics(metrics::Registry& registry) {
  using Type = metrics::Registry::Type;
  registry.Describe("kafka_server_brokertopicmetrics_messagesin_total", Type::kCounter,
                    "Records appended by this broker as leader, per topic.");
  registry.Describe("kafka_server_brokertopicmetrics_bytesin_total", Type::kCounter,
                    "Record batch bytes appended by this broker as leader, per topic.");
  registry.Describe("kafka_server_brokertopicmetrics_bytesout_total", Type::kCounter,
                    "Record batch bytes served to consumers (not to followers), per topic.");
  registry.Describe("kafka_network_requestmetrics_requests_total", Type::kCounter, "Requests received, per API.");
  registry.Describe("kafka_network_requestmetrics_totaltime_seconds", Type::kHistogram,
                    "Time from a request's arrival to its response, per API.");
  registry.Describe("kafka_server_replicamanager_partitioncount", Type::kGauge, "Replicas this broker hosts.");
  registry.Describe("kafka_server_replicamanager_leadercount", Type::kGauge, "Partitions this broker leads.");
  registry.Describe("kafka_server_replicamanager_underreplicatedpartitions", Type::kGauge,
                    "Partitions this broker leads whose ISR is smaller than their replica set.");
  registry.Describe("kafka_server_replicamanager_offlinereplicacount", Type::kGauge,
                    "Replicas the metadata gives this broker whose log it cannot open.");
}

void CollectReplicaMetrics(int32_t self, const MetadataCache& metadata, const PartitionManager& partitions,
                           std::vector<metrics::Sample>& samples) {
  const auto image = metadata.Current();
  double leaders = 0;
  double under_replicated = 0;
  for (const auto& [name, topic] : image->topics()) {
    for (const auto& p : topic->partitions) {
      if (p.leader != self) continue;
      ++leaders;
      if (p.isr.size() < p.replicas.size()) ++under_replicated;
    }
  }
  samples.push_back({"kafka_server_replicamanager_partitioncount", {}, static_cast<double>(partitions.hosted_count())});
  samples.push_back({"kafka_server_replicamanager_leadercount", {}, leaders});
  samples.push_back({"kafka_server_replicamanager_underreplicatedpartitions", {}, under_replicated});
  samples.push_back({"kafka_server_replicamanager_offlinereplicacount", {},
                     static_cast<double>(partitions.OfflineReplicas().size())});
}

}  // namespace sluice::broker
