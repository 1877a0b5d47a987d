// DescribeAcls (from this broker's image), CreateAcls and DeleteAcls (decided by the controller,
// answered once this broker applied the change). All three need the ACL authorizer:
// without it they answer SECURITY_DISABLED.

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "broker/audit/audited_responses.h"
#include "broker/handlers/authorization.h"
#include "broker/handlers/controller_forward.h"
#include "broker/handlers/handlers.h"
#include "broker/security/acl_records.h"
#include "common/absl_compat.h"
#include "protocol/kafka/messages/create_acls.h"
#include "protocol/kafka/messages/delete_acls.h"
#include "protocol/kafka/messages/describe_acls.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;
using security::AclBinding;
using security::AclBindingFilter;

constexpr char kSecurityDisabled[] = "No authorizer is configured on the broker.";
constexpr char kControllerUnavailable[] = "the controller could not be reached";
constexpr char kNotAuthorized[] = "Cluster authorization failed.";

template <class Filter>
AclBindingFilter FilterOf(const Filter& f) {
  return AclBindingFilter{.resource_type = security::ToResourceType(f.resource_type_filter),
                          .resource_name = f.resource_name_filter,
                          .pattern_type = security::ToPatternType(f.pattern_type_filter),
                          .principal = f.principal_filter,
                          .host = f.host_filter,
                          .operation = security::ToAclOperation(f.operation),
                          .permission = security::ToAclPermission(f.permission_type)};
}

int8_t Code(auto value) { return static_cast<int8_t>(value); }

// CreateAcls and DeleteAcls alike: refused without an authorizer or without ALTER on the
// cluster, answered at once when there is nothing to change, otherwise decided by the
// controller and answered with its results (one per item) once this broker applied them.
// `answer(error, message, results)` gets either an error for every item or the results.
template <class Req, class Resp, class Answer>
void DecideAclChange(BrokerContext& broker, const RequestPtr& request, metadata::Method method, const Req& change,
                     int items, Answer answer) {
  const RequestAuthorizer authorizer(broker, *request);
  if (!authorizer.enabled()) return answer(ErrorCode::kSecurityDisabled, kSecurityDisabled, nullptr);
  if (!authorizer.Allowed(AclOperation::kAlter, ResourceType::kCluster, security::kClusterResourceName)) {
    return answer(ErrorCode::kClusterAuthorizationFailed, kNotAuthorized, nullptr);
  }
  if (items == 0) return answer(ErrorCode::kNone, nullptr, nullptr);
  ForwardToController<Req, Resp>(broker, request, method, change,
                                 [answer, items](const absl::StatusOr<Resp>& decided) {
                                   if (!decided.ok() || decided->results_size() != items) {
                                     return answer(ErrorCode::kRequestTimedOut, kControllerUnavailable, nullptr);
                                   }
                                   answer(ErrorCode::kNone, nullptr, &*decided);
                                 });
}

}  // namespace

void HandleDescribeAcls(BrokerContext& broker, RequestPtr request) {
  kafka::DescribeAclsRequest body;
  if (!request->Decode(body)) return;
  kafka::DescribeAclsResponse response;
  const RequestAuthorizer authorizer(broker, *request);
  const AclBindingFilter filter = FilterOf(body);
  if (!authorizer.enabled()) {
    response.error_code = static_cast<int16_t>(ErrorCode::kSecurityDisabled);
    response.error_message = kSecurityDisabled;
  } else if (!authorizer.CheckCluster(AclOperation::kDescribe)) {
    response.error_code = static_cast<int16_t>(ErrorCode::kClusterAuthorizationFailed);
    response.error_message = kNotAuthorized;
  } else if (absl::Status valid = security::ValidateFilter(filter); !valid.ok()) {
    response.error_code = static_cast<int16_t>(ErrorCode::kInvalidRequest);
    response.error_message = std::string(ToStd(valid.message()));
  } else {
    response.error_message = std::nullopt;
    // Bindings grouped by their resource pattern, as Kafka answers them.
    std::map<std::tuple<int8_t, std::string, int8_t>, std::vector<kafka::DescribeAclsResponse::AclDescription>> found;
    for (const auto& [id, entry] : *broker.metadata.Current()->acls()) {
      const AclBinding b = security::ToBinding(entry);
      if (!security::Matches(filter, b)) continue;
      found[{Code(b.resource_type), b.resource_name, Code(b.pattern_type)}].push_back(
          {.principal = b.principal, .host = b.host, .operation = Code(b.operation),
           .permission_type = Code(b.permission)});
    }
    for (auto& [pattern, acls] : found) {
      response.resources.push_back({.resource_type = std::get<0>(pattern),
                                    .resource_name = std::get<1>(pattern),
                                    .pattern_type = std::get<2>(pattern),
                                    .acls = std::move(acls)});
    }
  }
  request->Respond(response);
}

void HandleCreateAcls(BrokerContext& broker, RequestPtr request) {
  kafka::CreateAclsRequest body;
  if (!request->Decode(body)) return;
  std::vector<AclBinding> bindings;
  for (const auto& c : body.creations) {
    bindings.push_back(AclBinding{.resource_type = security::ToResourceType(c.resource_type),
                                  .resource_name = c.resource_name,
                                  .pattern_type = security::ToPatternType(c.resource_pattern_type),
                                  .principal = c.principal,
                                  .host = c.host,
                                  .operation = security::ToAclOperation(c.operation),
                                  .permission = security::ToAclPermission(c.permission_type)});
  }
  auto answer = [request, bindings](ErrorCode error, const char* message,
                                    const metadata::CreateAclsResponse* created) {
    kafka::CreateAclsResponse response;
    for (size_t i = 0; i < bindings.size(); ++i) {
      kafka::CreateAclsResponse::AclCreationResult out;
      out.error_message = std::nullopt;
      if (created != nullptr) {
        const auto& result = created->results(static_cast<int>(i));
        out.error_code = static_cast<int16_t>(result.error_code());
        if (result.error_code() != 0) out.error_message = result.error_message();
      } else if (error != ErrorCode::kNone) {
        out.error_code = static_cast<int16_t>(error);
        out.error_message = message;
      }
      response.results.push_back(std::move(out));
    }
    if (request->audit != nullptr) {
      std::vector<audit::AuditedResource> resources;
      audit::AppendAclResources(bindings, response, resources);
      request->RecordAudit(resources);
    }
    request->Respond(response);
  };
  metadata::CreateAclsRequest create;
  for (const AclBinding& b : bindings) *create.add_creations() = security::ToEntry(b);
  DecideAclChange<metadata::CreateAclsRequest, metadata::CreateAclsResponse>(
      broker, request, metadata::CREATE_ACLS, create, static_cast<int>(bindings.size()), answer);
}

void HandleDeleteAcls(BrokerContext& broker, RequestPtr request) {
  kafka::DeleteAclsRequest body;
  if (!request->Decode(body)) return;
  std::vector<AclBindingFilter> filters;
  for (const auto& f : body.filters) filters.push_back(FilterOf(f));
  auto answer = [request, filters](ErrorCode error, const char* message, const metadata::DeleteAclsResponse* deleted) {
    kafka::DeleteAclsResponse response;
    for (size_t i = 0; i < filters.size(); ++i) {
      kafka::DeleteAclsResponse::DeleteAclsFilterResult out;
      out.error_message = std::nullopt;
      if (deleted != nullptr) {
        const auto& result = deleted->results(static_cast<int>(i));
        out.error_code = static_cast<int16_t>(result.error_code());
        if (result.error_code() != 0) out.error_message = result.error_message();
        for (const auto& entry : result.deleted()) {
          const AclBinding b = security::ToBinding(entry);
          out.matching_acls.push_back({.error_code = 0,
                                       .error_message = std::nullopt,
                                       .resource_type = Code(b.resource_type),
                                       .resource_name = b.resource_name,
                                       .pattern_type = Code(b.pattern_type),
                                       .principal = b.principal,
                                       .host = b.host,
                                       .operation = Code(b.operation),
                                       .permission_type = Code(b.permission)});
        }
      } else if (error != ErrorCode::kNone) {
        out.error_code = static_cast<int16_t>(error);
        out.error_message = message;
      }
      response.filter_results.push_back(std::move(out));
    }
    if (request->audit != nullptr) {
      std::vector<audit::AuditedResource> resources;
      audit::AppendAclResources(filters, response, resources);
      request->RecordAudit(resources);
    }
    request->Respond(response);
  };
  metadata::DeleteAclsRequest deletion;
  for (const AclBindingFilter& f : filters) *deletion.add_filters() = security::ToProto(f);
  DecideAclChange<metadata::DeleteAclsRequest, metadata::DeleteAclsResponse>(
      broker, request, metadata::DELETE_ACLS, deletion, static_cast<int>(filters.size()), answer);
}

}  // namespace sluice::broker
