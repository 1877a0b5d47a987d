// DescribeConfigs (answered from this broker's metadata image and properties), AlterConfigs and
// IncrementalAlterConfigs (decided by the controller).

#include <set>

#include "broker/config/broker_config.h"
#include "broker/handlers/authorization.h"
#include "broker/handlers/controller_forward.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/topic_configs.h"
#include "protocol/kafka/messages/alter_configs.h"
#include "protocol/kafka/messages/describe_configs.h"
#include "protocol/kafka/messages/incremental_alter_configs.h"
#include "protocol/metadata/topic_config.h"

namespace sluice::broker {
namespace {

using kafka::DescribeConfigsResponse;
using kafka::ErrorCode;

// Kafka's ConfigType codes for DescribeConfigs v3+.
int8_t ConfigTypeCode(config::Type type) {
  switch (type) {
    case config::Type::kBool: return 1;
    case config::Type::kString: return 2;
    case config::Type::kInt: return 3;
    case config::Type::kLong: return 5;
    case config::Type::kDouble: return 6;
    case config::Type::kList: return 7;
  }
  return 0;
}

DescribeConfigsResponse::DescribeConfigsResult DescribeTopic(BrokerContext& broker, const metadata::MetadataImage& image,
                                                             const kafka::DescribeConfigsRequest::DescribeConfigsResource& resource,
                                                             bool synonyms, bool documentation) {
  DescribeConfigsResponse::DescribeConfigsResult result;
  result.resource_type = resource.resource_type;
  result.resource_name = resource.resource_name;
  auto topic = image.FindTopic(resource.resource_name);
  if (!topic) {
    result.error_code = static_cast<int16_t>(ErrorCode::kUnknownTopicOrPartition);
    result.error_message = "Topic '" + resource.resource_name + "' does not exist.";
    return result;
  }
  std::set<std::string> wanted;
  if (resource.configuration_keys) wanted.insert(resource.configuration_keys->begin(), resource.configuration_keys->end());
  for (const auto& described : DescribeTopicConfigs(broker.config, topic->configs)) {
    if (!wanted.empty() && !wanted.count(described.name)) continue;
    const config::PropertyDef* def = metadata::TopicConfigSchema().Find(described.name);
    DescribeConfigsResponse::DescribeConfigsResourceResult c;
    c.name = described.name;
    c.value = described.value;
    c.config_source = static_cast<int8_t>(described.source);
    c.is_default = described.source == ConfigSource::kDefault;
    c.config_type = def ? ConfigTypeCode(def->type) : 0;
    if (documentation && def) c.documentation = def->doc;
    if (synonyms) {
      if (described.source == ConfigSource::kDynamicTopic) {
        c.synonyms.push_back({.name = described.name, .value = described.value,
                              .source = static_cast<int8_t>(ConfigSource::kDynamicTopic)});
      }
      if (described.broker_synonym) {
        c.synonyms.push_back({.name = described.broker_synonym->first, .value = described.broker_synonym->second,
                              .source = static_cast<int8_t>(ConfigSource::kStaticBroker)});
      }
    }
    result.configs.push_back(std::move(c));
  }
  return result;
}

DescribeConfigsResponse::DescribeConfigsResult DescribeBroker(BrokerContext& broker,
                                                              const kafka::DescribeConfigsRequest::DescribeConfigsResource& resource,
                                                              bool synonyms, bool documentation) {
  DescribeConfigsResponse::DescribeConfigsResult result;
  result.resource_type = resource.resource_type;
  result.resource_name = resource.resource_name;
  if (!resource.resource_name.empty() && resource.resource_name != std::to_string(broker.broker_id)) {
    result.error_code = static_cast<int16_t>(ErrorCode::kInvalidRequest);
    result.error_message = "broker " + resource.resource_name + " is not this broker; ask it directly";
    return result;
  }
  std::set<std::string> wanted;
  if (resource.configuration_keys) wanted.insert(resource.configuration_keys->begin(), resource.configuration_keys->end());
  for (const auto& def : broker.config.schema().defs()) {
    if (!wanted.empty() && !wanted.count(def.name)) continue;
    DescribeConfigsResponse::DescribeConfigsResourceResult c;
    c.name = def.name;
    c.value = broker.config.GetString(def.name);
    const bool set = broker.config.IsSet(def.name);
    c.config_source = static_cast<int8_t>(set ? ConfigSource::kStaticBroker : ConfigSource::kDefault);
    c.is_default = !set;
    c.read_only = true;  // dynamic broker configs are not supported yet
    c.config_type = ConfigTypeCode(def.type);
    if (documentation) c.documentation = def.doc;
    if (synonyms && set) c.synonyms.push_back({.name = def.name, .value = c.value, .source = c.config_source});
    result.configs.push_back(std::move(c));
  }
  return result;
}

// A topic's configs need `operation` on the topic, a broker's on the cluster.
struct ConfigAuthorization {
  bool allowed;
  ErrorCode error;
};
ConfigAuthorization AuthorizeConfigs(const RequestAuthorizer& authorizer, AclOperation operation, int8_t type,
                                     const std::string& name) {
  if (type == metadata::kTopicResource) {
    return {authorizer.Allowed(operation, ResourceType::kTopic, name), ErrorCode::kTopicAuthorizationFailed};
  }
  return {authorizer.AllowedOnCluster(operation), ErrorCode::kClusterAuthorizationFailed};
}

// Refused resources (not forwarded) first, then the controller's results in request order.
template <class Response>
Response AlterResponse(const metadata::AlterConfigsRequest& alter,
                       const absl::StatusOr<metadata::AlterConfigsResponse>& altered,
                       const std::vector<typename decltype(Response::responses)::value_type>& refused) {
  Response response;
  response.responses = refused;
  for (int i = 0; i < alter.resources_size(); ++i) {
    typename decltype(Response::responses)::value_type out;
    out.resource_type = static_cast<int8_t>(alter.resources(i).resource_type());
    out.resource_name = alter.resources(i).resource_name();
    if (!altered.ok()) {
      out.error_code = static_cast<int16_t>(ErrorCode::kRequestTimedOut);
      out.error_message = "the controller could not be reached";
    } else {
      out.error_code = static_cast<int16_t>(altered->results(i).error_code());
      if (!altered->results(i).error_message().empty()) out.error_message = altered->results(i).error_message();
    }
    response.responses.push_back(std::move(out));
  }
  return response;
}

// Both AlterConfigs APIs become one controller request; `op_of(config)` gives the operation.
template <class Request, class Response, class OpOf>
void ForwardAlter(BrokerContext& broker, const RequestPtr& request, const Request& body, bool replace_all, OpOf op_of) {
  metadata::AlterConfigsRequest alter;
  alter.set_validate_only(body.validate_only);
  // ALTER_CONFIGS on the topic or the cluster; the answer's audit lines carry the refusals.
  const RequestAuthorizer authorizer(broker, *request);
  std::vector<typename decltype(Response::responses)::value_type> refused;
  for (const auto& resource : body.resources) {
    const ConfigAuthorization authorization =
        AuthorizeConfigs(authorizer, AclOperation::kAlterConfigs, resource.resource_type, resource.resource_name);
    if (!authorization.allowed) {
      auto& out = refused.emplace_back();
      out.resource_type = resource.resource_type;
      out.resource_name = resource.resource_name;
      out.error_code = static_cast<int16_t>(authorization.error);
      out.error_message = "Authorization failed.";
      continue;
    }
    auto* r = alter.add_resources();
    r->set_resource_type(resource.resource_type);
    r->set_resource_name(resource.resource_name);
    r->set_replace_all(replace_all);
    for (const auto& c : resource.configs) {
      auto* op = r->add_ops();
      op->set_key(c.name);
      op->set_op(op_of(c));
      if (c.value) op->set_value(*c.value);
    }
  }
  if (alter.resources_size() == 0) {
    return request->Respond(AlterResponse<Response>(alter, metadata::AlterConfigsResponse(), refused));
  }
  ForwardToController<metadata::AlterConfigsRequest, metadata::AlterConfigsResponse>(
      broker, request, metadata::ALTER_CONFIGS, alter,
      [request, alter, refused](const absl::StatusOr<metadata::AlterConfigsResponse>& altered) {
        request->Respond(AlterResponse<Response>(alter, altered, refused));
      });
}

}  // namespace

void HandleDescribeConfigs(BrokerContext& broker, RequestPtr request) {
  kafka::DescribeConfigsRequest body;
  if (!request->Decode(body)) return;
  auto image = broker.metadata.Current();
  const RequestAuthorizer authorizer(broker, *request);
  DescribeConfigsResponse response;
  for (const auto& resource : body.resources) {
    if (resource.resource_type == metadata::kTopicResource || resource.resource_type == metadata::kBrokerResource) {
      // DESCRIBE_CONFIGS on the topic, or on the cluster for a broker.
      const ConfigAuthorization authorization = AuthorizeConfigs(authorizer, AclOperation::kDescribeConfigs,
                                                                 resource.resource_type, resource.resource_name);
      if (!authorization.allowed) {
        const bool topic = resource.resource_type == metadata::kTopicResource;
        authorizer.AuditDenied(topic ? ResourceType::kTopic : ResourceType::kCluster,
                               topic ? std::string_view(resource.resource_name) : security::kClusterResourceName,
                               authorization.error);
        DescribeConfigsResponse::DescribeConfigsResult result;
        result.resource_type = resource.resource_type;
        result.resource_name = resource.resource_name;
        result.error_code = static_cast<int16_t>(authorization.error);
        result.error_message = "Authorization failed.";
        response.results.push_back(std::move(result));
        continue;
      }
    }
    if (resource.resource_type == metadata::kTopicResource) {
      response.results.push_back(DescribeTopic(broker, *image, resource, body.include_synonyms, body.include_documentation));
    } else if (resource.resource_type == metadata::kBrokerResource) {
      response.results.push_back(DescribeBroker(broker, resource, body.include_synonyms, body.include_documentation));
    } else {
      DescribeConfigsResponse::DescribeConfigsResult result;
      result.resource_type = resource.resource_type;
      result.resource_name = resource.resource_name;
      result.error_code = static_cast<int16_t>(ErrorCode::kInvalidRequest);
      result.error_message = "unsupported resource type " + std::to_string(resource.resource_type);
      response.results.push_back(std::move(result));
    }
  }
  request->Respond(response);
}

void HandleAlterConfigs(BrokerContext& broker, RequestPtr request) {
  kafka::AlterConfigsRequest body;
  if (!request->Decode(body)) return;
  // The legacy API replaces a resource's whole config set; a null value deletes.
  ForwardAlter<kafka::AlterConfigsRequest, kafka::AlterConfigsResponse>(
      broker, request, body, /*replace_all=*/true, [](const auto& c) { return c.value ? 0 : 1; });
}

void HandleIncrementalAlterConfigs(BrokerContext& broker, RequestPtr request) {
  kafka::IncrementalAlterConfigsRequest body;
  if (!request->Decode(body)) return;
  ForwardAlter<kafka::IncrementalAlterConfigsRequest, kafka::IncrementalAlterConfigsResponse>(
      broker, request, body, /*replace_all=*/false, [](const auto& c) { return c.config_operation; });
}

}  // namespace sluice::broker
