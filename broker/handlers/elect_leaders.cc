// ElectLeaders: preferred or unclean leader elections, decided by the controller.

#include <map>

#include "broker/handlers/controller_forward.h"
#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "protocol/kafka/messages/elect_leaders.h"

namespace sluice::broker {

void HandleElectLeaders(BrokerContext& broker, RequestPtr request) {
  kafka::ElectLeadersRequest body;
  if (!request->Decode(body)) return;
  // ALTER on the cluster; refused, every partition named carries the error (the answer's audit lines).
  if (!RequestAuthorizer(broker, *request).AllowedOnCluster(AclOperation::kAlter)) {
    kafka::ElectLeadersResponse response;
    response.error_code = static_cast<int16_t>(kafka::ErrorCode::kClusterAuthorizationFailed);
    for (const auto& tp : body.topic_partitions.value_or(std::vector<kafka::ElectLeadersRequest::TopicPartitions>{})) {
      kafka::ElectLeadersResponse::ReplicaElectionResult result{.topic = tp.topic};
      for (int32_t partition : tp.partitions) {
        result.partition_result.push_back(
            {.partition_id = partition,
             .error_code = static_cast<int16_t>(kafka::ErrorCode::kClusterAuthorizationFailed),
             .error_message = "Cluster authorization failed."});
      }
      response.replica_election_results.push_back(std::move(result));
    }
    return request->Respond(response);
  }
  metadata::ElectLeadersRequest elect;
  elect.set_election_type(body.election_type);  // v0 has no type: preferred (0)
  elect.set_all_partitions(!body.topic_partitions.has_value());
  for (const auto& tp : body.topic_partitions.value_or(std::vector<kafka::ElectLeadersRequest::TopicPartitions>{})) {
    auto* out = elect.add_topic_partitions();
    out->set_topic(tp.topic);
    for (int32_t partition : tp.partitions) out->add_partitions(partition);
  }
  ForwardToController<metadata::ElectLeadersRequest, metadata::ElectLeadersResponse>(
      broker, request, metadata::ELECT_LEADERS, elect,
      [request, elect](const absl::StatusOr<metadata::ElectLeadersResponse>& elected) {
        kafka::ElectLeadersResponse response;
        std::map<std::string, std::vector<kafka::ElectLeadersResponse::PartitionResult>> by_topic;
        if (elected.ok()) {
          for (const auto& r : elected->results()) {
            by_topic[r.topic()].push_back({.partition_id = r.partition(),
                                           .error_code = static_cast<int16_t>(r.error_code()),
                                           .error_message = r.error_message().empty()
                                                                ? std::nullopt
                                                                : std::optional<std::string>(r.error_message())});
          }
        } else {
          response.error_code = static_cast<int16_t>(kafka::ErrorCode::kRequestTimedOut);
          for (const auto& tp : elect.topic_partitions()) {
            for (int32_t partition : tp.partitions()) {
              by_topic[tp.topic()].push_back({.partition_id = partition,
                                              .error_code = static_cast<int16_t>(kafka::ErrorCode::kRequestTimedOut),
                                              .error_message = "the controller could not be reached"});
            }
          }
        }
        for (auto& [topic, partitions] : by_topic) {
          response.replica_election_results.push_back({.topic = topic, .partition_result = std::move(partitions)});
        }
        request->Respond(response);
      });
}

}  // namespace sluice::broker
