#pragma once
// The ACL checks of one request: its principal and host against the authorizer snapshot of the
// broker's current image. With no authorizer configured every check allows and authorized-
// operations fields report every operation, as in Kafka without an authorizer. A refusal made
// with Check() is an audit line whose result is the error the client gets.

#include <memory>
#include <string>
#include <string_view>

#include "broker/handlers/broker_context.h"
#include "broker/security/acl_authorizer.h"
#include "broker/server/request_context.h"
#include "protocol/kafka/error_codes.h"

namespace sluice::broker {

using security::AclOperation;
using security::ResourceType;

class RequestAuthorizer {
 public:
  RequestAuthorizer(const BrokerContext& broker, const RequestContext& request);

  bool enabled() const { return authorizer_ != nullptr; }
  bool Allowed(AclOperation operation, ResourceType type, std::string_view name) const;
  bool AllowedOnCluster(AclOperation operation) const {
    return Allowed(operation, ResourceType::kCluster, security::kClusterResourceName);
  }
  // Allowed(), and otherwise an audit line with `error` as its result.
  bool Check(AclOperation operation, ResourceType type, std::string_view name, kafka::ErrorCode error) const;
  bool CheckCluster(AclOperation operation) const {
    return Check(operation, ResourceType::kCluster, security::kClusterResourceName,
                 kafka::ErrorCode::kClusterAuthorizationFailed);
  }
  // May do `operation` on some resource of `type` (InitProducerId's WRITE on any topic).
  bool AllowedOnAny(AclOperation operation, ResourceType type) const;
  int32_t AuthorizedOperations(ResourceType type, std::string_view name) const;
  // An audit line for a refusal decided elsewhere (e.g. a topic hidden from Metadata).
  void AuditDenied(ResourceType type, std::string_view name, kafka::ErrorCode error) const;

 private:
  const RequestContext& request_;
  std::shared_ptr<const security::AclAuthorizer> authorizer_;
  std::string host_;  // the client's address without its port
};

}  // namespace sluice::broker
