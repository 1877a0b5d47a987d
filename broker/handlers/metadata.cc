#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <asio/post.hpp>

#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/partition_lookup.h"
#include "protocol/kafka/messages/metadata.h"
#include "protocol/metadata/topic_names.h"

namespace sluice::broker {
namespace {

using kafka::MetadataRequest;
using kafka::MetadataResponse;

// Replicas of this broker whose log failed to open (PartitionManager::IsOffline).
using OfflineReplicas = std::set<std::pair<std::string, int32_t>>;

MetadataResponse::MetadataResponseTopic DescribeTopic(const metadata::MetadataImage& image,
                                                     const metadata::TopicInfo& topic, std::optional<int32_t> operations,
                                                     int32_t self, const OfflineReplicas& offline_here) {
  MetadataResponse::MetadataResponseTopic out;
  out.name = topic.name;
  out.topic_id = ToUuid(topic.id);
  out.is_internal = metadata::IsInternalTopic(topic.name);
  if (operations) out.topic_authorized_operations = *operations;
  for (const auto& p : topic.partitions) {
    MetadataResponse::MetadataResponsePartition partition;
    partition.partition_index = p.partition;
    partition.leader_id = p.leader;
    partition.leader_epoch = p.leader_epoch;
    partition.replica_nodes = p.replicas;
    partition.isr_nodes = p.isr;
    // Replicas on fenced brokers (Kafka: offline replicas), so tools can tell a replica that is
    // down from one catching up.
    for (int32_t replica : p.replicas) {
      const metadata::BrokerInfo* broker = image.FindBroker(replica);
      if (broker == nullptr || broker->fenced || std::find(p.offline_replicas.begin(), p.offline_replicas.end(),
                                                           replica) != p.offline_replicas.end()) {
        partition.offline_replicas.push_back(replica);
      }
    }
    if (offline_here.count({topic.name, p.partition})) {
      // This broker cannot serve its replica: never name it as a leader that holds the data.
      if (std::find(partition.offline_replicas.begin(), partition.offline_replicas.end(), self) ==
          partition.offline_replicas.end()) {
        partition.offline_replicas.push_back(self);
      }
      if (p.leader == self) partition.leader_id = -1;
    }
    if (partition.leader_id < 0) partition.error_code = static_cast<int16_t>(kafka::ErrorCode::kLeaderNotAvailable);
    out.partitions.push_back(std::move(partition));
  }
  return out;
}

void Answer(BrokerContext& broker, const RequestPtr& request, const MetadataRequest& body,
            const std::map<std::string, kafka::ErrorCode>& creation_errors) {
  auto image = broker.metadata.Current();
  MetadataResponse response;
  // Each broker's address on the listener the client came in on; brokers without it are left out.
  std::set<int32_t> reachable;
  for (int32_t id : image->LiveBrokerIds()) {
    const metadata::BrokerInfo* info = image->FindBroker(id);
    const std::optional<metadata::BrokerEndpointInfo> endpoint = info->Endpoint(request->listener);
    if (!endpoint) continue;
    reachable.insert(id);
    MetadataResponse::MetadataResponseBroker b;
    b.node_id = id;
    b.host = endpoint->host;
    b.port = endpoint->port;
    if (!info->rack.empty()) b.rack = info->rack;
    response.brokers.push_back(std::move(b));
  }
  response.cluster_id = broker.ClusterId(*image);
  // Clients send admin and producer-id requests to the "controller"; like KRaft, name a live broker.
  const auto live = image->LiveBrokerIds();
  response.controller_id = live.empty() ? -1 : live.front();
  const RequestAuthorizer authorizer(broker, *request);
  auto operations = [&](const std::string& topic) -> std::optional<int32_t> {
    if (!body.include_topic_authorized_operations) return std::nullopt;
    return authorizer.AuthorizedOperations(ResourceType::kTopic, topic);
  };
  const OfflineReplicas offline_here = broker.partitions.OfflineReplicas();
  if (!body.topics.has_value() || (request->version() == 0 && body.topics->empty())) {
    // All topics: those the principal may not describe are left out, as Kafka leaves them out.
    for (const auto& [name, topic] : image->topics()) {
      if (!authorizer.Allowed(AclOperation::kDescribe, ResourceType::kTopic, name)) continue;
      response.topics.push_back(DescribeTopic(*image, *topic, operations(name), broker.broker_id, offline_here));
    }
  } else {
    for (const auto& wanted : *body.topics) {
      std::shared_ptr<const metadata::TopicInfo> topic;
      if (wanted.name) topic = image->FindTopic(*wanted.name);
      else if (!wanted.topic_id.IsZero()) topic = image->FindTopicById(ToTopicId(wanted.topic_id));
      // Named topics the principal may not describe, existing or not, are refused alike.
      const std::optional<std::string> name = topic ? std::optional<std::string>(topic->name) : wanted.name;
      if (name && !authorizer.Check(AclOperation::kDescribe, ResourceType::kTopic, *name,
                                    kafka::ErrorCode::kTopicAuthorizationFailed)) {
        MetadataResponse::MetadataResponseTopic denied;
        denied.name = wanted.name;
        denied.topic_id = wanted.topic_id;
        denied.error_code = static_cast<int16_t>(kafka::ErrorCode::kTopicAuthorizationFailed);
        response.topics.push_back(std::move(denied));
        continue;
      }
      if (topic) {
        response.topics.push_back(DescribeTopic(*image, *topic, operations(topic->name), broker.broker_id, offline_here));
        continue;
      }
      MetadataResponse::MetadataResponseTopic missing;
      missing.name = wanted.name;
      missing.topic_id = wanted.topic_id;
      auto error = wanted.name ? creation_errors.find(*wanted.name) : creation_errors.end();
      missing.error_code = static_cast<int16_t>(
          error != creation_errors.end() ? error->second
          : wanted.name                  ? kafka::ErrorCode::kUnknownTopicOrPartition
                                         : kafka::ErrorCode::kUnknownTopicId);
      response.topics.push_back(std::move(missing));
    }
  }
  for (auto& topic : response.topics) {
    for (auto& partition : topic.partitions) {
      if (partition.leader_id >= 0 && !reachable.count(partition.leader_id)) {
        // A live leader without this listener: Kafka's answer, so clients do not wait for it.
        partition.leader_id = -1;
        partition.error_code = static_cast<int16_t>(kafka::ErrorCode::kListenerNotFound);
      }
    }
  }
  if (body.include_cluster_authorized_operations) {
    // Only with DESCRIBE on the cluster, as in Kafka; 0 otherwise.
    response.cluster_authorized_operations =
        authorizer.AllowedOnCluster(AclOperation::kDescribe)
            ? authorizer.AuthorizedOperations(ResourceType::kCluster, security::kClusterResourceName)
            : 0;
  }
  request->Respond(response);
}

}  // namespace

void HandleMetadata(BrokerContext& broker, RequestPtr request) {
  auto body = std::make_shared<MetadataRequest>();
  if (!request->Decode(*body)) return;
  // Versions before 4 have no allow_auto_topic_creation field: creation is implied.
  const bool may_create = broker.config.GetBool("auto.create.topics.enable") &&
                          (request->version() < 4 || body->allow_auto_topic_creation);
  std::vector<std::string> to_create;
  // Names Kafka would not create are answered INVALID_TOPIC_EXCEPTION, not forwarded.
  std::map<std::string, kafka::ErrorCode> refused;
  if (may_create && body->topics) {
    auto image = broker.metadata.Current();
    const RequestAuthorizer authorizer(broker, *request);
    // Auto-creation needs CREATE on the cluster or on the topic (KIP-277).
    const bool may_create_any = authorizer.AllowedOnCluster(AclOperation::kCreate);
    for (const auto& wanted : *body->topics) {
      if (!wanted.name || image->FindTopic(*wanted.name)) continue;
      // Not describable: Answer() refuses it.
      if (!authorizer.Allowed(AclOperation::kDescribe, ResourceType::kTopic, *wanted.name)) continue;
      if (!may_create_any && !authorizer.Check(AclOperation::kCreate, ResourceType::kTopic, *wanted.name,
                                               kafka::ErrorCode::kTopicAuthorizationFailed)) {
        refused[*wanted.name] = kafka::ErrorCode::kTopicAuthorizationFailed;
      } else if (metadata::TopicNameProblem(*wanted.name).empty()) {
        to_create.push_back(*wanted.name);
      } else {
        refused[*wanted.name] = kafka::ErrorCode::kInvalidTopicException;
      }
    }
  }
  if (to_create.empty()) return Answer(broker, request, *body, refused);

  metadata::CreateTopicsRequest create;
  create.set_default_num_partitions(broker.config.GetInt("num.partitions"));
  create.set_default_replication_factor(broker.config.GetInt("default.replication.factor"));
  for (const auto& name : to_create) {
    auto* topic = create.add_topics();
    topic->set_name(name);
    topic->set_num_partitions(-1);
    topic->set_replication_factor(-1);
  }
  // Answer once this broker has applied the creation, so the client sees the new topic at once.
  broker.controller.Forward<metadata::CreateTopicsRequest, metadata::CreateTopicsResponse>(
      metadata::CREATE_TOPICS, create,
      [&broker, request, body, refused](absl::StatusOr<metadata::CreateTopicsResponse> created) {
        std::map<std::string, kafka::ErrorCode> errors = refused;
        int64_t offset = -1;
        if (!created.ok()) {
          for (const auto& topic : *body->topics) {
            if (topic.name) errors.emplace(*topic.name, kafka::ErrorCode::kLeaderNotAvailable);
          }
        } else {
          offset = created->metadata_offset();
          for (const auto& result : created->results()) {
            auto code = static_cast<kafka::ErrorCode>(result.error_code());
            if (code != kafka::ErrorCode::kNone && code != kafka::ErrorCode::kTopicAlreadyExists) errors[result.name()] = code;
          }
        }
        broker.metadata.WhenApplied(offset, [&broker, request, body, errors = std::move(errors)] {
          asio::post(request->io, [&broker, request, body, errors] { Answer(broker, request, *body, errors); });
        });
      });
}

}  // namespace sluice::broker
