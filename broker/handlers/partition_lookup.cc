#include "broker/handlers/partition_lookup.h"

namespace sluice::broker {

LeaderLookup FindLeaderPartition(const BrokerContext& broker, const metadata::MetadataImage& image,
                                 const std::string& topic_name, int32_t partition, int32_t current_leader_epoch) {
  auto topic = image.FindTopic(topic_name);
  if (!topic || partition < 0 || static_cast<size_t>(partition) >= topic->partitions.size()) {
    return {.error = kafka::ErrorCode::kUnknownTopicOrPartition};
  }
  const metadata::PartitionInfo& info = topic->partitions[partition];
  if (info.leader != broker.broker_id) return {.error = kafka::ErrorCode::kNotLeaderOrFollower};
  if (current_leader_epoch >= 0 && current_leader_epoch < info.leader_epoch) {
    return {.error = kafka::ErrorCode::kFencedLeaderEpoch};
  }
  if (current_leader_epoch > info.leader_epoch) return {.error = kafka::ErrorCode::kUnknownLeaderEpoch};
  auto hosted = broker.partitions.Get(topic_name, partition);
  // The image can run ahead of the partition manager for an instant while a log is created.
  if (!hosted) return {.error = kafka::ErrorCode::kNotLeaderOrFollower};
  return {.partition = std::move(hosted), .info = &info};
}

}  // namespace sluice::broker
