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

void Resolve(const Partition& partition, int64_t timestamp, ListOffsetsResponse::ListOffsetsPartitionResponse* out) {
  const storage::PartitionLog& log = partition.log();
  out->leader_epoch = partition.leader_epoch();
  switch (timestamp) {
    case kLatest:
      out->offset = partition.high_watermark();
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
      if (max) {
        out->offset = max->offset;
        out->timestamp = max->timestamp;
      }
      return;
    }
    default: {
      auto found = log.OffsetForTimestamp(timestamp);
      if (!found.ok()) {
        out->error_code = static_cast<int16_t>(ErrorCode::kKafkaStorageError);
      } else if (*found) {
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
  ListOffsetsResponse response;
  for (const auto& topic : body.topics) {
    ListOffsetsResponse::ListOffsetsTopicResponse topic_response;
    topic_response.name = topic.name;
    for (const auto& p : topic.partitions) {
      ListOffsetsResponse::ListOffsetsPartitionResponse out;
      out.partition_index = p.partition_index;
      LeaderLookup lookup = FindLeaderPartition(broker, *image, topic.name, p.partition_index, p.current_leader_epoch);
      if (lookup.error != ErrorCode::kNone) {
        out.error_code = static_cast<int16_t>(lookup.error);
      } else {
        Resolve(*lookup.partition, p.timestamp, &out);
      }
      topic_response.partitions.push_back(std::move(out));
    }
    response.topics.push_back(std::move(topic_response));
  }
  request->Respond(response);
}

}  // namespace sluice::broker
