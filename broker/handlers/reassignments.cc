// AlterPartitionReassignments and ListPartitionReassignments (KIP-455), decided and tracked by
// the controller. Moving the data is the replicas' job: new replicas join the ISR through the
// partition leader's AlterPartition once they caught up, which completes the reassignment.

#include <map>

#include <asio/post.hpp>

#include "broker/handlers/controller_forward.h"
#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "protocol/kafka/messages/alter_partition_reassignments.h"
#include "protocol/kafka/messages/list_partition_reassignments.h"

namespace sluice::broker {
namespace {

constexpr char kControllerUnavailable[] = "the controller could not be reached";

}  // namespace

void HandleAlterPartitionReassignments(BrokerContext& broker, RequestPtr request) {
  kafka::AlterPartitionReassignmentsRequest body;
  if (!request->Decode(body)) return;
  // ALTER on the cluster; refused, every partition named carries the error (the answer's audit lines).
  if (!RequestAuthorizer(broker, *request).AllowedOnCluster(AclOperation::kAlter)) {
    kafka::AlterPartitionReassignmentsResponse response;
    response.error_code = static_cast<int16_t>(kafka::ErrorCode::kClusterAuthorizationFailed);
    response.error_message = "Cluster authorization failed.";
    for (const auto& topic : body.topics) {
      kafka::AlterPartitionReassignmentsResponse::ReassignableTopicResponse out{.name = topic.name};
      for (const auto& partition : topic.partitions) {
        out.partitions.push_back({.partition_index = partition.partition_index,
                                  .error_code = static_cast<int16_t>(kafka::ErrorCode::kClusterAuthorizationFailed),
                                  .error_message = "Cluster authorization failed."});
      }
      response.responses.push_back(std::move(out));
    }
    return request->Respond(response);
  }
  metadata::AlterReassignmentsRequest alter;
  for (const auto& topic : body.topics) {
    for (const auto& partition : topic.partitions) {
      auto* r = alter.add_reassignments();
      r->set_topic(topic.name);
      r->set_partition(partition.partition_index);
      if (partition.replicas) {
        for (int32_t id : *partition.replicas) r->add_replicas(id);
      } else {
        r->set_cancel(true);
      }
    }
  }
  ForwardToController<metadata::AlterReassignmentsRequest, metadata::AlterReassignmentsResponse>(
      broker, request, metadata::ALTER_REASSIGNMENTS, alter,
      [request, body = std::move(body)](const absl::StatusOr<metadata::AlterReassignmentsResponse>& altered) {
        kafka::AlterPartitionReassignmentsResponse response;
        if (!altered.ok()) {
          response.error_code = static_cast<int16_t>(kafka::ErrorCode::kRequestTimedOut);
          response.error_message = kControllerUnavailable;
          request->Respond(response);
          return;
        }
        response.error_message = std::nullopt;
        int i = 0;
        for (const auto& topic : body.topics) {
          kafka::AlterPartitionReassignmentsResponse::ReassignableTopicResponse out{.name = topic.name};
          for (size_t p = 0; p < topic.partitions.size(); ++p, ++i) {
            const auto& result = altered->results(i);
            out.partitions.push_back(
                {.partition_index = result.partition(),
                 .error_code = static_cast<int16_t>(result.error_code()),
                 .error_message = result.error_message().empty() ? std::nullopt
                                                                 : std::optional<std::string>(result.error_message())});
          }
          response.responses.push_back(std::move(out));
        }
        request->Respond(response);
      });
}

void HandleListPartitionReassignments(BrokerContext& broker, RequestPtr request) {
  kafka::ListPartitionReassignmentsRequest body;
  if (!request->Decode(body)) return;
  if (!RequestAuthorizer(broker, *request).CheckCluster(AclOperation::kDescribe)) {
    kafka::ListPartitionReassignmentsResponse response;
    response.error_code = static_cast<int16_t>(kafka::ErrorCode::kClusterAuthorizationFailed);
    response.error_message = "Cluster authorization failed.";
    return request->Respond(response);
  }
  metadata::ListReassignmentsRequest list;
  list.set_all_partitions(!body.topics.has_value());
  for (const auto& topic : body.topics.value_or(
           std::vector<kafka::ListPartitionReassignmentsRequest::ListPartitionReassignmentsTopics>{})) {
    auto* tp = list.add_topic_partitions();
    tp->set_topic(topic.name);
    for (int32_t partition : topic.partition_indexes) tp->add_partitions(partition);
  }
  broker.controller.Forward<metadata::ListReassignmentsRequest, metadata::ListReassignmentsResponse>(
      metadata::LIST_REASSIGNMENTS, list, [request](absl::StatusOr<metadata::ListReassignmentsResponse> listed) {
        asio::post(request->io, [request, listed = std::move(listed)] {
          kafka::ListPartitionReassignmentsResponse response;
          if (!listed.ok()) {
            response.error_code = static_cast<int16_t>(kafka::ErrorCode::kRequestTimedOut);
            response.error_message = kControllerUnavailable;
            request->Respond(response);
            return;
          }
          response.error_message = std::nullopt;
          std::map<std::string, std::vector<kafka::ListPartitionReassignmentsResponse::OngoingPartitionReassignment>>
              by_topic;
          for (const auto& r : listed->reassignments()) {
            by_topic[r.topic()].push_back({.partition_index = r.partition(),
                                           .replicas = {r.replicas().begin(), r.replicas().end()},
                                           .adding_replicas = {r.adding_replicas().begin(), r.adding_replicas().end()},
                                           .removing_replicas = {r.removing_replicas().begin(),
                                                                 r.removing_replicas().end()}});
          }
          for (auto& [name, partitions] : by_topic) {
            response.topics.push_back({.name = name, .partitions = std::move(partitions)});
          }
          request->Respond(response);
        });
      });
}

}  // namespace sluice::broker
