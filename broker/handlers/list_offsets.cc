// ListOffsets: answered on the connection's shard from the replica's mirrored high watermark
// (read_committed: last stable offset) and the thread-safe log, by the leader only.

#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/partition_lookup.h"
#include "protocol/kafka/messages/list_offsets.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;
using kafka::ListOffsetsRequest;
using kafka::ListOffsetsResponse;

// Kafka's special timestamps.
constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;
constexpr int64_t kMaxTimestamp = -3;
constexpr int64_t kEarliestLocal = -4;
constexpr int64_t kLatestTiered = -5;

void Resolve(const Partition& partition, bool from_replica, bool read_committed, int64_t timestamp,
             ListOffsetsResponse::ListOffsetsPartitionResponse* out) {
  const storage::PartitionLog& log = partition.log();
  out->leader_epoch = partition.leader_epoch();
  const int64_t high_watermark = partition.high_watermark();
  // KIP-207: a new leader whose high watermark has not yet reached its epoch's start would
  // hand consumers an offset below what the previous leader served.
  if (!from_replica && high_watermark < partition.leader_epoch_start_offset()) {
    out->error_code = static_cast<int16_t>(ErrorCode::kOffsetNotAvailable);
    return;
  }
  // Consumers see what the ISR holds (read_committed: up to the first undecided transaction);
  // a replica sees the whole log.
  const int64_t last_fetchable = from_replica     ? log.log_end_offset()
                                 : read_committed ? partition.last_stable_offset()
                                                  : high_watermark;
  switch (timestamp) {
    case kLatest:
      out->offset = last_fetchable;
      return;
    case kEarliest:
    case kEarliestLocal:
      out->offset = log.log_start_offset();
      return;
    case kLatestTiered:
      // No tiered storage: nothing has been uploaded.
      out->offset = -1;
      return;
    case kMaxTimestamp: {
      auto max = log.MaxTimestamp();
      if (max && max->offset < last_fetchable) {
        out->offset = max->offset;
        out->timestamp = max->timestamp;
      }
      return;
    }
    default: {
      auto found = log.OffsetForTimestamp(timestamp);
      if (!found.ok()) {
        out->error_code = static_cast<int16_t>(ErrorCode::kKafkaStorageError);
      } else if (*found && (*found)->offset < last_fetchable) {
        out->offset = (*found)->offset;
        out->timestamp = (*found)->timestamp;
      }
    }
  }
}

}  // namespace

void HandleListOffsets(BrokerContext& broker, RequestPtr request) {
  ListOffsetsRequest body;
  if (!request->Decode(body)) return;
  auto image = broker.metadata.Current();
  const RequestAuthorizer authorizer(broker, *request);
  ListOffsetsResponse response;
  for (const auto& topic : body.topics) {
    ListOffsetsResponse::ListOffsetsTopicResponse topic_response;
    topic_response.name = topic.name;
    const bool described =
        authorizer.Check(AclOperation::kDescribe, ResourceType::kTopic, topic.name, ErrorCode::kTopicAuthorizationFailed);
    for (const auto& p : topic.partitions) {
      ListOffsetsResponse::ListOffsetsPartitionResponse out;
      out.partition_index = p.partition_index;
      if (!described) {
        out.error_code = static_cast<int16_t>(ErrorCode::kTopicAuthorizationFailed);
        topic_response.partitions.push_back(std::move(out));
        continue;
      }
      LeaderLookup lookup = FindLeaderPartition(broker, *image, topic.name, p.partition_index, p.current_leader_epoch);
      if (lookup.error == ErrorCode::kNone && !lookup.partition->leading()) lookup.error = ErrorCode::kNotLeaderOrFollower;
      if (lookup.error != ErrorCode::kNone) {
        out.error_code = static_cast<int16_t>(lookup.error);
      } else {
        Resolve(*lookup.partition, body.replica_id >= 0, body.isolation_level == 1, p.timestamp, &out);
      }
      topic_response.partitions.push_back(std::move(out));
    }
    response.topics.push_back(std::move(topic_response));
  }
  request->Respond(response);
}

}  // namespace sluice::broker
