#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "protocol/kafka/messages/describe_cluster.h"

namespace sluice::broker {

void HandleDescribeCluster(BrokerContext& broker, RequestPtr request) {
  kafka::DescribeClusterRequest body;
  if (!request->Decode(body)) return;
  kafka::DescribeClusterResponse response;
  // Endpoint type 1 = brokers; 2 (controllers) is for KRaft-internal clients.
  if (body.endpoint_type != 1) {
    response.error_code = static_cast<int16_t>(kafka::ErrorCode::kUnsupportedEndpointType);
    response.error_message = "only broker endpoints are described";
    request->Respond(response);
    return;
  }
  auto image = broker.metadata.Current();
  response.cluster_id = broker.ClusterId(*image);
  const auto live = image->LiveBrokerIds();
  response.controller_id = live.empty() ? -1 : live.front();
  for (int32_t id : live) {
    const metadata::BrokerInfo* info = image->FindBroker(id);
    const std::optional<metadata::BrokerEndpointInfo> endpoint = info->Endpoint(request->listener);
    if (!endpoint) continue;  // not reachable on the client's listener
    kafka::DescribeClusterResponse::DescribeClusterBroker b;
    b.broker_id = id;
    b.host = endpoint->host;
    b.port = endpoint->port;
    if (!info->rack.empty()) b.rack = info->rack;
    response.brokers.push_back(std::move(b));
  }
  // Everyone may describe the cluster, as in Kafka; its operations only with DESCRIBE on it.
  if (body.include_cluster_authorized_operations) {
    const RequestAuthorizer authorizer(broker, *request);
    response.cluster_authorized_operations =
        authorizer.AllowedOnCluster(AclOperation::kDescribe)
            ? authorizer.AuthorizedOperations(ResourceType::kCluster, security::kClusterResourceName)
            : 0;
  }
  request->Respond(response);
}

}  // namespace sluice::broker
