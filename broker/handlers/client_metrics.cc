// Client metrics (KIP-714) as Apache Kafka answers without a client telemetry receiver: the
// telemetry APIs (GetTelemetrySubscriptions, PushTelemetry) are not advertised, so clients do
// not push, and ListClientMetricsResources lists no resources, since none can be configured
// here (IncrementalAlterConfigs refuses the CLIENT_METRICS resource type).

#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "protocol/kafka/messages/list_client_metrics_resources.h"

namespace sluice::broker {

void HandleListClientMetricsResources(BrokerContext& broker, RequestPtr request) {
  kafka::ListClientMetricsResourcesRequest body;
  if (!request->Decode(body)) return;
  kafka::ListClientMetricsResourcesResponse response;
  if (!RequestAuthorizer(broker, *request).CheckCluster(AclOperation::kDescribeConfigs)) {
    response.error_code = static_cast<int16_t>(kafka::ErrorCode::kClusterAuthorizationFailed);
  }
  request->Respond(response);
}

}  // namespace sluice::broker
