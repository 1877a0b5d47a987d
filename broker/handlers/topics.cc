// CreateTopics, DeleteTopics and CreatePartitions: validated and decided by the controller.

#include "broker/handlers/controller_forward.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/partition_lookup.h"
#include "broker/handlers/topic_configs.h"
#include "protocol/kafka/messages/create_partitions.h"
#include "protocol/kafka/messages/create_topics.h"
#include "protocol/kafka/messages/delete_topics.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;

constexpr char kControllerUnavailable[] = "the controller could not be reached";

}  // namespace

void HandleCreateTopics(BrokerContext& broker, RequestPtr request) {
  kafka::CreateTopicsRequest body;
  if (!request->Decode(body)) return;
  metadata::CreateTopicsRequest create;
  create.set_validate_only(body.validate_only);
  create.set_default_num_partitions(broker.config.GetInt("num.partitions"));
  create.set_default_replication_factor(broker.config.GetInt("default.replication.factor"));
  for (const auto& topic : body.topics) {
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
  ForwardToController<metadata::CreateTopicsRequest, metadata::CreateTopicsResponse>(
      broker, request, metadata::CREATE_TOPICS, create,
      [&broker, request, body = std::move(body)](const absl::StatusOr<metadata::CreateTopicsResponse>& created) {
        kafka::CreateTopicsResponse response;
        for (size_t i = 0; i < body.topics.size(); ++i) {
          kafka::CreateTopicsResponse::CreatableTopicResult out;
          out.name = body.topics[i].name;
          if (!created.ok()) {
            out.error_code = static_cast<int16_t>(ErrorCode::kRequestTimedOut);
            out.error_message = kControllerUnavailable;
          } else {
            const auto& result = created->results(static_cast<int>(i));
            out.error_code = static_cast<int16_t>(result.error_code());
            if (!result.error_message().empty()) out.error_message = result.error_message();
            if (result.error_code() == 0) {
              out.topic_id = ToUuid(metadata::ToTopicId(result.topic_id()));
              out.num_partitions = result.num_partitions();
              out.replication_factor = static_cast<int16_t>(result.replication_factor());
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
      });
}

void HandleDeleteTopics(BrokerContext& broker, RequestPtr request) {
  kafka::DeleteTopicsRequest body;
  if (!request->Decode(body)) return;
  metadata::DeleteTopicsRequest remove;
  // Results come back in request order: names first (v0-5 list, or v6 entries with a name), then ids.
  std::vector<bool> by_name;
  if (request->version() < 6) {
    for (const auto& name : body.topic_names) remove.add_names(name), by_name.push_back(true);
  } else {
    for (const auto& topic : body.topics) {
      if (topic.name) remove.add_names(*topic.name), by_name.push_back(true);
    }
    for (const auto& topic : body.topics) {
      if (!topic.name) remove.add_topic_ids(metadata::FromTopicId(ToTopicId(topic.topic_id))), by_name.push_back(false);
    }
  }
  ForwardToController<metadata::DeleteTopicsRequest, metadata::DeleteTopicsResponse>(
      broker, request, metadata::DELETE_TOPICS, remove,
      [request, remove](const absl::StatusOr<metadata::DeleteTopicsResponse>& deleted) {
        kafka::DeleteTopicsResponse response;
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
      });
}

void HandleCreatePartitions(BrokerContext& broker, RequestPtr request) {
  kafka::CreatePartitionsRequest body;
  if (!request->Decode(body)) return;
  metadata::CreatePartitionsRequest create;
  create.set_validate_only(body.validate_only);
  for (const auto& topic : body.topics) {
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
  ForwardToController<metadata::CreatePartitionsRequest, metadata::CreatePartitionsResponse>(
      broker, request, metadata::CREATE_PARTITIONS, create,
      [request, create](const absl::StatusOr<metadata::CreatePartitionsResponse>& created) {
        kafka::CreatePartitionsResponse response;
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
      });
}

}  // namespace sluice::broker
