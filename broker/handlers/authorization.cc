#include "broker/handlers/authorization.h"

#include "broker/security/authorizer_cache.h"

namespace sluice::broker {
namespace {

// "host:port" or "[v6]:port" -> the host, as ACL hosts name it.
std::string HostOf(const std::string& peer) {
  const size_t colon = peer.rfind(':');
  std::string host = colon == std::string::npos ? peer : peer.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host;
}

}  // namespace

RequestAuthorizer::RequestAuthorizer(const BrokerContext& broker, const RequestContext& request)
    : request_(request),
      authorizer_(broker.authorizer == nullptr ? nullptr : broker.authorizer->For(*broker.metadata.Current())),
      host_(authorizer_ == nullptr ? "" : HostOf(request.peer)) {}

bool RequestAuthorizer::Allowed(AclOperation operation, ResourceType type, std::string_view name) const {
  return authorizer_ == nullptr || authorizer_->Authorize(request_.principal, host_, operation, type, name);
}

bool RequestAuthorizer::Check(AclOperation operation, ResourceType type, std::string_view name,
                              kafka::ErrorCode error) const {
  if (Allowed(operation, type, name)) return true;
  AuditDenied(type, name, error);
  return false;
}

bool RequestAuthorizer::AllowedOnAny(AclOperation operation, ResourceType type) const {
  return authorizer_ == nullptr || authorizer_->AuthorizeAny(request_.principal, host_, operation, type);
}

int32_t RequestAuthorizer::AuthorizedOperations(ResourceType type, std::string_view name) const {
  if (authorizer_ == nullptr) return security::ReportedOperationBits(type);
  return authorizer_->AuthorizedOperations(request_.principal, host_, type, name);
}

void RequestAuthorizer::AuditDenied(ResourceType type, std::string_view name, kafka::ErrorCode error) const {
  if (request_.audit == nullptr) return;
  request_.RecordAudit({{security::ResourceTypeName(type), std::string(name), static_cast<int16_t>(error)}});
}

}  // namespace sluice::broker
