#pragma once
// ACL bindings (a resource pattern plus who may or may not do what from where) and the filters
// DescribeAcls and DeleteAcls select them with, matched and validated as Kafka does.

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "broker/security/acl_types.h"

namespace sluice::broker::security {

struct AclBinding {
  ResourceType resource_type = ResourceType::kUnknown;
  std::string resource_name;
  PatternType pattern_type = PatternType::kLiteral;
  std::string principal;  // Type:name, or User:* for everyone
  std::string host;       // an address, or * for every host
  AclOperation operation = AclOperation::kUnknown;
  AclPermission permission = AclPermission::kUnknown;

  bool operator==(const AclBinding&) const = default;
};

// Absent strings match anything; ANY matches every value; pattern type MATCH selects the
// bindings that would apply to a resource of that name (literal, `*` and prefixes).
struct AclBindingFilter {
  ResourceType resource_type = ResourceType::kAny;
  std::optional<std::string> resource_name;
  PatternType pattern_type = PatternType::kAny;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  AclOperation operation = AclOperation::kAny;
  AclPermission permission = AclPermission::kAny;
};

bool Matches(const AclBindingFilter& filter, const AclBinding& binding);

// What CreateAcls accepts: no UNKNOWN, ANY or MATCH values; a LITERAL or PREFIXED pattern with
// a non-empty name (`*` only as a LITERAL wildcard); the cluster named kafka-cluster; a
// `Type:name` principal; a non-empty host. InvalidArgument with the reason otherwise.
absl::Status ValidateBinding(const AclBinding& binding);
// What DescribeAcls and DeleteAcls accept: no UNKNOWN value anywhere.
absl::Status ValidateFilter(const AclBindingFilter& filter);

}  // namespace sluice::broker::security
