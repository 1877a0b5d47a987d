// DescribeQuorum: the controller quorum's leader, epoch, high watermark, voters and observers,
// answered by the quorum leader and reported as Kafka does, for __cluster_metadata partition 0.

#include <asio/post.hpp>

#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "protocol/kafka/messages/describe_quorum.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;
using kafka::DescribeQuorumResponse;

constexpr char kMetadataTopic[] = "__cluster_metadata";
constexpr char kControllerListener[] = "CONTROLLER";

DescribeQuorumResponse::ReplicaState Replica(const metadata::DescribeQuorumResponse::Replica& r) {
  DescribeQuorumResponse::ReplicaState out;
  out.replica_id = r.replica_id();
  out.log_end_offset = r.log_end_offset();
  out.last_fetch_timestamp = r.last_fetch_timestamp();
  out.last_caught_up_timestamp = r.last_caught_up_timestamp();
  return out;
}

DescribeQuorumResponse Failed(ErrorCode code, std::string message) {
  DescribeQuorumResponse response;
  response.error_code = static_cast<int16_t>(code);
  response.error_message = std::move(message);
  return response;
}

}  // namespace

void HandleDescribeQuorum(BrokerContext& broker, RequestPtr request) {
  kafka::DescribeQuorumRequest body;
  if (!request->Decode(body)) return;
  if (!RequestAuthorizer(broker, *request).CheckCluster(AclOperation::kDescribe)) {
    return request->Respond(Failed(ErrorCode::kClusterAuthorizationFailed, "Cluster authorization failed."));
  }
  if (body.topics.size() != 1 || body.topics[0].topic_name != kMetadataTopic || body.topics[0].partitions.size() != 1 ||
      body.topics[0].partitions[0].partition_index != 0) {
    request->Respond(Failed(ErrorCode::kUnknownTopicOrPartition, "only __cluster_metadata partition 0 has a quorum"));
    return;
  }
  broker.controller.Forward<metadata::DescribeQuorumRequest, metadata::DescribeQuorumResponse>(
      metadata::DESCRIBE_QUORUM, metadata::DescribeQuorumRequest(),
      [request](absl::StatusOr<metadata::DescribeQuorumResponse> quorum) {
        asio::post(request->io, [request, quorum = std::move(quorum)] {
          if (!quorum.ok()) {
            request->Respond(Failed(ErrorCode::kRequestTimedOut, "the controller quorum could not be reached"));
            return;
          }
          DescribeQuorumResponse response;
          DescribeQuorumResponse::PartitionData partition;
          partition.partition_index = 0;
          partition.leader_id = quorum->leader_id();
          partition.leader_epoch = quorum->leader_epoch();
          partition.high_watermark = quorum->high_watermark();
          for (const auto& voter : quorum->voters()) {
            partition.current_voters.push_back(Replica(voter));
            DescribeQuorumResponse::Node node;
            node.node_id = voter.replica_id();
            node.listeners.push_back({.name = kControllerListener,
                                      .host = voter.host(),
                                      .port = static_cast<uint16_t>(voter.port())});
            response.nodes.push_back(std::move(node));
          }
          for (const auto& observer : quorum->observers()) partition.observers.push_back(Replica(observer));
          response.topics.push_back({.topic_name = kMetadataTopic, .partitions = {std::move(partition)}});
          request->Respond(response);
        });
      });
}

}  // namespace sluice::broker
