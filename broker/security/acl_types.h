#pragma once
// Kafka's ACL vocabulary with its wire codes (the int8 values DescribeAcls, CreateAcls and
// DeleteAcls carry): resource types, pattern types, operations and permissions.

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice::broker::security {

enum class ResourceType : int8_t {
  kUnknown = 0,
  kAny = 1,
  kTopic = 2,
  kGroup = 3,
  kCluster = 4,
  kTransactionalId = 5,
  kDelegationToken = 6,
  kUser = 7,
};

enum class PatternType : int8_t {
  kUnknown = 0,
  kAny = 1,
  kMatch = 2,
  kLiteral = 3,
  kPrefixed = 4,
};

enum class AclOperation : int8_t {
  kUnknown = 0,
  kAny = 1,
  kAll = 2,
  kRead = 3,
  kWrite = 4,
  kCreate = 5,
  kDelete = 6,
  kAlter = 7,
  kDescribe = 8,
  kClusterAction = 9,
  kDescribeConfigs = 10,
  kAlterConfigs = 11,
  kIdempotentWrite = 12,
  kCreateTokens = 13,
  kDescribeTokens = 14,
};

enum class AclPermission : int8_t {
  kUnknown = 0,
  kAny = 1,
  kDeny = 2,
  kAllow = 3,
};

// The one name the cluster resource has, and the wildcards of names, principals and hosts.
inline constexpr std::string_view kClusterResourceName = "kafka-cluster";
inline constexpr std::string_view kWildcard = "*";
inline constexpr std::string_view kWildcardPrincipal = "User:*";

// Codes outside the enum read as kUnknown, as Kafka reads them.
ResourceType ToResourceType(int8_t code);
PatternType ToPatternType(int8_t code);
AclOperation ToAclOperation(int8_t code);
AclPermission ToAclPermission(int8_t code);

// Kafka's names (TOPIC, PREFIXED, DESCRIBE_CONFIGS, ALLOW, ...).
std::string_view ResourceTypeName(ResourceType type);
std::string_view PatternTypeName(PatternType type);
std::string_view AclOperationName(AclOperation operation);
std::string_view AclPermissionName(AclPermission permission);

}  // namespace sluice::broker::security
