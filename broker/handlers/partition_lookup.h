#pragma once
// Shared lookups of handlers that address partitions: topic ids in both representations and
// "is this broker the leader of that partition" with the error Kafka answers otherwise.

#include <memory>
#include <string>

#include "broker/handlers/broker_context.h"
#include "protocol/kafka/error_codes.h"
#include "protocol/kafka/uuid.h"
#include "protocol/metadata/image.h"

namespace sluice::broker {

inline kafka::Uuid ToUuid(const metadata::TopicId& id) { return kafka::Uuid{.bytes = id}; }
inline metadata::TopicId ToTopicId(const kafka::Uuid& id) { return id.bytes; }

struct LeaderLookup {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  std::shared_ptr<Partition> partition;        // set when error is kNone
  const metadata::PartitionInfo* info = nullptr;  // into `image`: valid while the caller holds it
};

// The partition's entry in `image`, or null.
const metadata::PartitionInfo* FindPartitionInfo(const metadata::MetadataImage& image, const std::string& topic,
                                                 int32_t partition);

// `current_leader_epoch` is the client's view (-1: unknown), checked as Kafka does.
LeaderLookup FindLeaderPartition(const BrokerContext& broker, const metadata::MetadataImage& image,
                                 const std::string& topic, int32_t partition, int32_t current_leader_epoch = -1);

}  // namespace sluice::broker
