#include "broker/handlers/partition_lookup.h"

namespace sluice::broker {

const metadata::PartitionInfo* FindPartitionInfo(const metadata::MetadataImage& image, const std::string& topic_name,
                                                 int32_t partition) {
  auto topic = image.FindTopic(topic_name);
  if (!topic || partition < 0 || static_cast<size_t>(partition) >= topic->partitions.size()) return nullptr;
  return &topic->partitions[partition];
}

LeaderLookup FindLeaderPartition(const BrokerContext& broker, const metadata::MetadataImage& image,
                                 const std::string& topic_name, int32_t partition, int32_t current_leader_epoch) {
  const metadata::PartitionInfo* info = FindPartitionInfo(image, topic_name, partition);
  if (info == nullptr) return {.error = kafka::ErrorCode::kUnknownTopicOrPartition};
  if (info->leader != broker.broker_id) return {.error = kafka::ErrorCode::kNotLeaderOrFollower};
  if (current_leader_epoch >= 0 && current_leader_epoch < info->leader_epoch) {
    return {.error = kafka::ErrorCode::kFencedLeaderEpoch};
  }
  if (current_leader_epoch > info->leader_epoch) return {.error = kafka::ErrorCode::kUnknownLeaderEpoch};
  auto hosted = broker.partitions.Get(topic_name, partition);
  // The image runs ahead of the replica for an instant while its log opens or its owner shard
  // takes the new role; the owner checks again. A log that failed to open is a storage error.
  if (!hosted) {
    return {.error = broker.partitions.IsOffline(topic_name, partition) ? kafka::ErrorCode::kKafkaStorageError
                                                                        : kafka::ErrorCode::kNotLeaderOrFollower};
  }
  return {.partition = std::move(hosted), .info = info};
}

}  // namespace sluice::broker
