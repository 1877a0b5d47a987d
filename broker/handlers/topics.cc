// CreateTopics, DeleteTopics and CreatePartitions: decided by the controller, after the broker
// has answered what needs no controller (names no topic can have, unknown config names).

#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "broker/handlers/authorization.h"
#include "broker/handlers/controller_forward.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/partition_lookup.h"
#include "broker/handlers/topic_configs.h"
#include "protocol/kafka/messages/create_partitions.h"
#include "protocol/kafka/messages/create_topics.h"
#include "protocol/kafka/messages/delete_topics.h"
#include "protocol/metadata/topic_config.h"
#include "protocol/metadata/topic_names.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;

constexpr char kControllerUnavailable[] = "the controller could not be reached";
constexpr char kNoSuchTopic[] = "This server does not host this topic-partition.";
constexpr char kNotAuthorized[] = "Authorization failed.";

struct Refusal {
  ErrorCode error;
  std::string message;
};

struct Refused {
  std::string name;
  Refusal refusal;
};

// What the broker refuses before forwarding a new topic: a name Kafka does not allow, and
// config names that are not topic configs (they become protobuf map keys, which must be UTF-8).
template <class Configs>
std::optional<Refusal> RefuseNewTopic(const std::string& name, const Configs& configs) {
  if (std::string problem = metadata::TopicNameProblem(name); !problem.empty()) {
    return Refusal{ErrorCode::kInvalidTopicException, std::move(problem)};
  }
  for (const auto& c : configs) {
    if (!metadata::TopicConfigSchema().Find(c.name)) {
      return Refusal{ErrorCode::kInvalidConfig, fmt::format("unknown topic configuration '{}'", c.name)};
    }
  }
  return std::nullopt;
}

}  // namespace

void HandleCreateTopics(BrokerContext& broker, RequestPtr request) {
  kafka::CreateTopicsRequest body;
  if (!request->Decode(body)) return;
  metadata::CreateTopicsRequest create;
  create.set_validate_only(body.validate_only);
  create.set_default_num_partitions(broker.config.GetInt("num.partitions"));
  create.set_default_replication_factor(broker.config.GetInt("default.replication.factor"));
  // A topic refused here keeps its place in the answer; the others go to the controller.
  // Creating needs CREATE on the cluster or on the topic (KIP-277); the answer's configs,
  // DESCRIBE_CONFIGS on the topic. The answer's audit lines carry the refusals.
  const RequestAuthorizer authorizer(broker, *request);
  const bool may_create_any = authorizer.AllowedOnCluster(AclOperation::kCreate);
  std::vector<std::optional<Refusal>> refused(body.topics.size());
  std::vector<bool> configs_hidden(body.topics.size());
  for (size_t i = 0; i < body.topics.size(); ++i) {
    const auto& topic = body.topics[i];
    configs_hidden[i] = !authorizer.Allowed(AclOperation::kDescribeConfigs, ResourceType::kTopic, topic.name);
    if (!may_create_any && !authorizer.Allowed(AclOperation::kCreate, ResourceType::kTopic, topic.name)) {
      refused[i] = Refusal{ErrorCode::kTopicAuthorizationFailed, kNotAuthorized};
      continue;
    }
    refused[i] = RefuseNewTopic(topic.name, topic.configs);
    if (refused[i]) continue;
    auto* t = create.add_topics();
    t->set_name(topic.name);
    t->set_num_partitions(topic.num_partitions);
    t->set_replication_factor(topic.replication_factor);
    for (const auto& a : topic.assignments) {
      auto* assignment = t->add_assignments();
      assignment->set_partition(a.partition_index);
      for (int32_t id : a.broker_ids) assignment->add_broker_ids(id);
    }
    for (const auto& c : topic.configs) {
      // A null value means "use the default": nothing to store.
      if (c.value) (*t->mutable_configs())[c.name] = *c.value;
    }
  }
  auto answer = [&broker, request, body = std::move(body), refused = std::move(refused),
                 configs_hidden = std::move(configs_hidden)](const absl::StatusOr<metadata::CreateTopicsResponse>& created) {
    kafka::CreateTopicsResponse response;
    int forwarded = 0;
    for (size_t i = 0; i < body.topics.size(); ++i) {
      kafka::CreateTopicsResponse::CreatableTopicResult out;
      out.name = body.topics[i].name;
      if (refused[i]) {
        out.error_code = static_cast<int16_t>(refused[i]->error);
        out.error_message = refused[i]->message;
      } else if (!created.ok()) {
        out.error_code = static_cast<int16_t>(ErrorCode::kRequestTimedOut);
        out.error_message = kControllerUnavailable;
      } else {
        const auto& result = created->results(forwarded++);
        out.error_code = static_cast<int16_t>(result.error_code());
        if (!result.error_message().empty()) out.error_message = result.error_message();
        if (result.error_code() == 0) {
          out.topic_id = ToUuid(metadata::ToTopicId(result.topic_id()));
          out.num_partitions = result.num_partitions();
          out.replication_factor = static_cast<int16_t>(result.replication_factor());
          if (configs_hidden[i]) {
            out.topic_config_error_code = static_cast<int16_t>(ErrorCode::kTopicAuthorizationFailed);
            response.topics.push_back(std::move(out));
            continue;
          }
          std::map<std::string, std::string> overrides;
          for (const auto& c : body.topics[i].configs) {
            if (c.value) overrides[c.name] = *c.value;
          }
          std::vector<kafka::CreateTopicsResponse::CreatableTopicConfigs> configs;
          for (const auto& described : DescribeTopicConfigs(broker.config, overrides)) {
            kafka::CreateTopicsResponse::CreatableTopicConfigs c;
            c.name = described.name;
            c.value = described.value;
            c.config_source = static_cast<int8_t>(described.source);
            configs.push_back(std::move(c));
          }
          out.configs = std::move(configs);
        }
      }
      response.topics.push_back(std::move(out));
    }
    request->Respond(response);
  };
  if (create.topics_size() == 0) return answer(metadata::CreateTopicsResponse());
  ForwardToController<metadata::CreateTopicsRequest, metadata::CreateTopicsResponse>(
      broker, request, metadata::CREATE_TOPICS, create, std::move(answer));
}

void HandleDeleteTopics(BrokerContext& broker, RequestPtr request) {
  kafka::DeleteTopicsRequest body;
  if (!request->Decode(body)) return;
  metadata::DeleteTopicsRequest remove;
  // A name no topic can have, and a topic the principal may not DELETE, are answered here
  // (clients match results by name or id; the answer's audit lines carry the refusals).
  const RequestAuthorizer authorizer(broker, *request);
  auto image = broker.metadata.Current();
  std::vector<kafka::DeleteTopicsResponse::DeletableTopicResult> answered;
  auto refuse = [&](std::optional<std::string> name, kafka::Uuid id, ErrorCode error, const char* message) {
    kafka::DeleteTopicsResponse::DeletableTopicResult out;
    out.name = std::move(name);
    out.topic_id = id;
    out.error_code = static_cast<int16_t>(error);
    out.error_message = message;
    answered.push_back(std::move(out));
  };
  auto add_name = [&](const std::string& name) {
    if (!metadata::TopicNameProblem(name).empty()) {
      refuse(name, {}, ErrorCode::kUnknownTopicOrPartition, kNoSuchTopic);
    } else if (!authorizer.Allowed(AclOperation::kDelete, ResourceType::kTopic, name)) {
      refuse(name, {}, ErrorCode::kTopicAuthorizationFailed, kNotAuthorized);
    } else {
      remove.add_names(name);
    }
  };
  // Results come back in request order: names first (v0-5 list, or v6 entries with a name), then ids.
  if (request->version() < 6) {
    for (const auto& name : body.topic_names) add_name(name);
  } else {
    for (const auto& topic : body.topics) {
      if (topic.name) add_name(*topic.name);
    }
    for (const auto& topic : body.topics) {
      if (topic.name) continue;
      auto known = image->FindTopicById(ToTopicId(topic.topic_id));
      if (known && !authorizer.Allowed(AclOperation::kDelete, ResourceType::kTopic, known->name)) {
        refuse(std::nullopt, topic.topic_id, ErrorCode::kTopicAuthorizationFailed, kNotAuthorized);
        continue;
      }
      remove.add_topic_ids(metadata::FromTopicId(ToTopicId(topic.topic_id)));
    }
  }
  auto answer = [request, remove, answered = std::move(answered)](const absl::StatusOr<metadata::DeleteTopicsResponse>& deleted) {
    kafka::DeleteTopicsResponse response;
    response.responses = answered;
    const int count = remove.names_size() + remove.topic_ids_size();
    for (int i = 0; i < count; ++i) {
      kafka::DeleteTopicsResponse::DeletableTopicResult out;
      if (!deleted.ok()) {
        if (i < remove.names_size()) out.name = remove.names(i);
        else out.topic_id = ToUuid(metadata::ToTopicId(remove.topic_ids(i - remove.names_size())));
        out.error_code = static_cast<int16_t>(ErrorCode::kRequestTimedOut);
        out.error_message = kControllerUnavailable;
      } else {
        const auto& result = deleted->results(i);
        if (!result.name().empty()) out.name = result.name();
        if (!result.topic_id().empty()) out.topic_id = ToUuid(metadata::ToTopicId(result.topic_id()));
        out.error_code = static_cast<int16_t>(result.error_code());
        if (!result.error_message().empty()) out.error_message = result.error_message();
      }
      response.responses.push_back(std::move(out));
    }
    request->Respond(response);
  };
  if (remove.names_size() + remove.topic_ids_size() == 0) return answer(metadata::DeleteTopicsResponse());
  ForwardToController<metadata::DeleteTopicsRequest, metadata::DeleteTopicsResponse>(
      broker, request, metadata::DELETE_TOPICS, remove, std::move(answer));
}

void HandleCreatePartitions(BrokerContext& broker, RequestPtr request) {
  kafka::CreatePartitionsRequest body;
  if (!request->Decode(body)) return;
  metadata::CreatePartitionsRequest create;
  create.set_validate_only(body.validate_only);
  // A name no topic can have, and a topic the principal may not ALTER, are answered here
  // (clients match results by name; the answer's audit lines carry the refusals).
  const RequestAuthorizer authorizer(broker, *request);
  std::vector<Refused> answered;
  for (const auto& topic : body.topics) {
    if (!metadata::TopicNameProblem(topic.name).empty()) {
      answered.push_back({topic.name, {ErrorCode::kUnknownTopicOrPartition, kNoSuchTopic}});
      continue;
    }
    if (!authorizer.Allowed(AclOperation::kAlter, ResourceType::kTopic, topic.name)) {
      answered.push_back({topic.name, {ErrorCode::kTopicAuthorizationFailed, kNotAuthorized}});
      continue;
    }
    auto* t = create.add_topics();
    t->set_name(topic.name);
    t->set_count(topic.count);
    if (topic.assignments) {
      for (const auto& a : *topic.assignments) {
        auto* assignment = t->add_assignments();
        for (int32_t id : a.broker_ids) assignment->add_broker_ids(id);
      }
    }
  }
  auto answer = [request, create, answered = std::move(answered)](const absl::StatusOr<metadata::CreatePartitionsResponse>& created) {
    kafka::CreatePartitionsResponse response;
    for (const auto& [name, refusal] : answered) {
      kafka::CreatePartitionsResponse::CreatePartitionsTopicResult out;
      out.name = name;
      out.error_code = static_cast<int16_t>(refusal.error);
      out.error_message = refusal.message;
      response.results.push_back(std::move(out));
    }
    for (int i = 0; i < create.topics_size(); ++i) {
      kafka::CreatePartitionsResponse::CreatePartitionsTopicResult out;
      out.name = create.topics(i).name();
      if (!created.ok()) {
        out.error_code = static_cast<int16_t>(ErrorCode::kRequestTimedOut);
        out.error_message = kControllerUnavailable;
      } else {
        out.error_code = static_cast<int16_t>(created->results(i).error_code());
        if (!created->results(i).error_message().empty()) out.error_message = created->results(i).error_message();
      }
      response.results.push_back(std::move(out));
    }
    request->Respond(response);
  };
  if (create.topics_size() == 0) return answer(metadata::CreatePartitionsResponse());
  ForwardToController<metadata::CreatePartitionsRequest, metadata::CreatePartitionsResponse>(
      broker, request, metadata::CREATE_PARTITIONS, create, std::move(answer));
}

}  // namespace sluice::broker
