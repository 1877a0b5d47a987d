// OffsetForLeaderEpoch (KIP-101/KIP-320): where a leader epoch ends in the leader's log, so a
// consumer can tell whether the log it read was truncated after a leader change. Answered on
// the connection's shard from the log's thread-safe epoch cache, by the leader only.

#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/partition_lookup.h"
#include "protocol/kafka/messages/offset_for_leader_epoch.h"

namespace sluice::broker {

void HandleOffsetForLeaderEpoch(BrokerContext& broker, RequestPtr request) {
  kafka::OffsetForLeaderEpochRequest body;
  if (!request->Decode(body)) return;
  auto image = broker.metadata.Current();
  const RequestAuthorizer authorizer(broker, *request);
  // Brokers ask with CLUSTER_ACTION; consumers (KIP-320) need DESCRIBE on the topic, as in Kafka.
  const bool cluster_action = authorizer.AllowedOnCluster(AclOperation::kClusterAction);
  kafka::OffsetForLeaderEpochResponse response;
  for (const auto& topic : body.topics) {
    kafka::OffsetForLeaderEpochResponse::OffsetForLeaderTopicResult topic_response;
    topic_response.topic = topic.topic;
    const bool described = cluster_action || authorizer.Check(AclOperation::kDescribe, ResourceType::kTopic,
                                                              topic.topic, kafka::ErrorCode::kTopicAuthorizationFailed);
    for (const auto& p : topic.partitions) {
      kafka::OffsetForLeaderEpochResponse::EpochEndOffset out;
      out.partition = p.partition;
      if (!described) {
        out.error_code = static_cast<int16_t>(kafka::ErrorCode::kTopicAuthorizationFailed);
        topic_response.partitions.push_back(std::move(out));
        continue;
      }
      LeaderLookup lookup = FindLeaderPartition(broker, *image, topic.topic, p.partition, p.current_leader_epoch);
      if (lookup.error == kafka::ErrorCode::kNone && !lookup.partition->leading()) {
        lookup.error = kafka::ErrorCode::kNotLeaderOrFollower;
      }
      if (lookup.error != kafka::ErrorCode::kNone) {
        out.error_code = static_cast<int16_t>(lookup.error);
      } else {
        const storage::EpochEndOffset end = lookup.partition->log().EndOffsetForEpoch(p.leader_epoch);
        out.leader_epoch = end.epoch;
        out.end_offset = end.end_offset;
      }
      topic_response.partitions.push_back(std::move(out));
    }
    response.topics.push_back(std::move(topic_response));
  }
  request->Respond(response);
}

}  // namespace sluice::broker
