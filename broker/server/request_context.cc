#include "broker/server/request_context.h"

#include "protocol/kafka/api_registry.h"
#include "protocol/kafka/error_codes.h"

namespace sluice::broker {

void RequestContext::RecordAudit(const std::vector<audit::AuditedResource>& resources) const {
  const kafka::AdvertisedApi* api = kafka::FindAdvertisedApi(header.request_api_key);
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const audit::AuditedResource& resource : resources) {
    audit->Record({.time_ms = now_ms,
                   .principal = principal,
                   .client = peer,
                   .listener = std::string(listener),
                   .api = api != nullptr ? api->name : std::string_view("unknown"),
                   .resource_type = resource.type,
                   .resource = resource.name,
                   .result = kafka::ErrorName(static_cast<kafka::ErrorCode>(resource.error_code))});
  }
}

}  // namespace sluice::broker
