#include "broker/security/acl_types.h"

namespace sluice::broker::security {

ResourceType ToResourceType(int8_t code) {
  return code >= 1 && code <= 7 ? static_cast<ResourceType>(code) : ResourceType::kUnknown;
}

PatternType ToPatternType(int8_t code) {
  return code >= 1 && code <= 4 ? static_cast<PatternType>(code) : PatternType::kUnknown;
}

AclOperation ToAclOperation(int8_t code) {
  return code >= 1 && code <= 14 ? static_cast<AclOperation>(code) : AclOperation::kUnknown;
}

AclPermission ToAclPermission(int8_t code) {
  return code >= 1 && code <= 3 ? static_cast<AclPermission>(code) : AclPermission::kUnknown;
}

std::string_view ResourceTypeName(ResourceType type) {
  switch (type) {
    case ResourceType::kUnknown: return "UNKNOWN";
    case ResourceType::kAny: return "ANY";
    case ResourceType::kTopic: return "TOPIC";
    case ResourceType::kGroup: return "GROUP";
    case ResourceType::kCluster: return "CLUSTER";
    case ResourceType::kTransactionalId: return "TRANSACTIONAL_ID";
    case ResourceType::kDelegationToken: return "DELEGATION_TOKEN";
    case ResourceType::kUser: return "USER";
  }
  return "UNKNOWN";
}

std::string_view PatternTypeName(PatternType type) {
  switch (type) {
    case PatternType::kUnknown: return "UNKNOWN";
    case PatternType::kAny: return "ANY";
    case PatternType::kMatch: return "MATCH";
    case PatternType::kLiteral: return "LITERAL";
    case PatternType::kPrefixed: return "PREFIXED";
  }
  return "UNKNOWN";
}

std::string_view AclOperationName(AclOperation operation) {
  switch (operation) {
    case AclOperation::kUnknown: return "UNKNOWN";
    case AclOperation::kAny: return "ANY";
    case AclOperation::kAll: return "ALL";
    case AclOperation::kRead: return "READ";
    case AclOperation::kWrite: return "WRITE";
    case AclOperation::kCreate: return "CREATE";
    case AclOperation::kDelete: return "DELETE";
    case AclOperation::kAlter: return "ALTER";
    case AclOperation::kDescribe: return "DESCRIBE";
    case AclOperation::kClusterAction: return "CLUSTER_ACTION";
    case AclOperation::kDescribeConfigs: return "DESCRIBE_CONFIGS";
    case AclOperation::kAlterConfigs: return "ALTER_CONFIGS";
    case AclOperation::kIdempotentWrite: return "IDEMPOTENT_WRITE";
    case AclOperation::kCreateTokens: return "CREATE_TOKENS";
    case AclOperation::kDescribeTokens: return "DESCRIBE_TOKENS";
  }
  return "UNKNOWN";
}

std::string_view AclPermissionName(AclPermission permission) {
  switch (permission) {
    case AclPermission::kUnknown: return "UNKNOWN";
    case AclPermission::kAny: return "ANY";
    case AclPermission::kDeny: return "DENY";
    case AclPermission::kAllow: return "ALLOW";
  }
  return "UNKNOWN";
}

}  // namespace sluice::broker::security
