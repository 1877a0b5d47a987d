#include "broker/handlers/handlers.h"
#include "protocol/kafka/api_registry.h"
#include "protocol/kafka/messages/api_versions.h"

namespace sluice::broker {

void HandleApiVersions(BrokerContext&, RequestPtr request) {
  kafka::ApiVersionsResponse response;
  for (const kafka::AdvertisedApi& api : kafka::AdvertisedApis()) {
    kafka::ApiVersionsResponse::ApiVersion entry;
    entry.api_key = api.key;
    entry.min_version = api.min_version;
    entry.max_version = api.max_version;
    response.api_keys.push_back(entry);
  }
  // A client opens with its newest ApiVersions; a version we do not know is answered in the v0
  // layout with UNSUPPORTED_VERSION and our ranges, so the client can retry with one we know.
  if (request->version() > kafka::ApiVersionsRequest::kMaxVersion) {
    response.error_code = static_cast<int16_t>(kafka::ErrorCode::kUnsupportedVersion);
    request->header.request_api_version = 0;
    request->Respond(response);
    return;
  }
  kafka::ApiVersionsRequest body;
  if (!request->Decode(body)) return;
  request->Respond(response);
}

}  // namespace sluice::broker
