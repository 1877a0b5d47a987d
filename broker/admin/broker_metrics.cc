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
                    "Time from a request read off the socket to the last byte of its response written, per "
                    "API: local + remote + responsesend.");
  registry.Describe("kafka_network_requestmetrics_localtime_seconds", Type::kHistogram,
                    "Time a request spends in this broker's own work (decoding, appends, reads, hops between "
                    "threads), per API.");
  registry.Describe("kafka_network_requestmetrics_remotetime_seconds", Type::kHistogram,
                    "Time a request waits parked (Fetch: for data or max.wait.ms; Produce with acks=all: for the "
                    "ISR, its slowest partition), per API.");
  registry.Describe("kafka_network_requestmetrics_responsesendtime_seconds", Type::kHistogram,
                    "Time from a response being ready to its last byte written, including responses queued "
                    "before it on the same connection, per API.");
  registry.Describe("kafka_consumergroup_current_offset", Type::kGauge,
                    "Committed offset per group and partition, on the group's coordinator.");
  registry.Describe("kafka_consumergroup_lag", Type::kGauge,
                    "High watermark minus committed offset per group and partition, on the group's coordinator "
                    "when it hosts the partition.");
  registry.Describe("kafka_server_replicamanager_isrshrinks_total", Type::kCounter,
                    "Committed ISR shrinks of partitions this broker leads.");
  registry.Describe("kafka_server_replicamanager_isrexpands_total", Type::kCounter,
                    "Committed ISR expansions of partitions this broker leads.");
  registry.Describe("kafka_server_replicamanager_underminisrpartitioncount", Type::kGauge,
                    "Partitions this broker leads whose ISR is smaller than min.insync.replicas.");
  registry.Describe("kafka_server_delayedoperationpurgatory_purgatorysize", Type::kGauge,
                    "Operations waiting: Produce counts acks=all partition appends waiting for the ISR, Fetch "
                    "the fetches parked until enough data arrives or max.wait.ms passes.");
  registry.Describe("kafka_log_log_size", Type::kGauge, "Bytes of each partition log this broker hosts.");
  registry.Describe("kafka_topic_partition_current_offset", Type::kGauge,
                    "High watermark of each partition this broker leads (kafka-exporter's name): minus "
                    "kafka_consumergroup_current_offset, any group's lag on any partition.");
  registry.Describe("kafka_log_logflushstats_logflush_seconds", Type::kHistogram,
                    "Time of each flush (fsync) that the flush policy ran.");
  registry.Describe("kafka_server_replicamanager_partitioncount", Type::kGauge, "Replicas this broker hosts.");
  registry.Describe("kafka_server_replicamanager_leadercount", Type::kGauge, "Partitions this broker leads.");
  registry.Describe("kafka_server_replicamanager_underreplicatedpartitions", Type::kGauge,
                    "Partitions this broker leads whose ISR is smaller than their replica set.");
  registry.Describe("kafka_server_replicamanager_offlinereplicacount", Type::kGauge,
                    "Replicas the metadata gives this broker whose log it cannot open.");
}

void CollectGroupMetrics(groups::GroupCoordinator& groups, std::vector<metrics::Sample>& samples) {
  // A scrape waits this long for the coordinator thread, then reports no group samples.
  constexpr auto kWait = std::chrono::seconds(2);
  for (const auto& entry : groups.SnapshotLag(kWait)) {
    metrics::Labels labels = {{"group", entry.group}, {"topic", entry.topic}, {"partition", std::to_string(entry.partition)}};
    samples.push_back({"kafka_consumergroup_current_offset", labels, static_cast<double>(entry.committed)});
    if (entry.lag) samples.push_back({"kafka_consumergroup_lag", std::move(labels), static_cast<double>(*entry.lag)});
  }
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
  double under_min_isr = 0;
  for (const auto& partition : partitions.Hosted()) {
    metrics::Labels labels = {{"topic", partition->topic()}, {"partition", std::to_string(partition->index())}};
    samples.push_back({"kafka_log_log_size", labels, static_cast<double>(partition->log().size_bytes())});
    if (partition->leading()) {
      samples.push_back({"kafka_topic_partition_current_offset", std::move(labels),
                         static_cast<double>(partition->high_watermark())});
    }
    auto topic = image->FindTopic(partition->topic());
    if (!topic || static_cast<size_t>(partition->index()) >= topic->partitions.size()) continue;
    const metadata::PartitionInfo& p = topic->partitions[partition->index()];
    if (p.leader == self && static_cast<int32_t>(p.isr.size()) < partition->min_insync_replicas()) ++under_min_isr;
  }
  samples.push_back({"kafka_server_replicamanager_underminisrpartitioncount", {}, under_min_isr});
  samples.push_back({"kafka_server_replicamanager_partitioncount", {}, static_cast<double>(partitions.hosted_count())});
  samples.push_back({"kafka_server_replicamanager_leadercount", {}, leaders});
  samples.push_back({"kafka_server_replicamanager_underreplicatedpartitions", {}, under_replicated});
  samples.push_back({"kafka_server_replicamanager_offlinereplicacount", {},
                     static_cast<double>(partitions.OfflineReplicas().size())});
}

}  // namespace sluice::broker
