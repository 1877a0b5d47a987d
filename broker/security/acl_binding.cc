#include "broker/security/acl_binding.h"

#include <fmt/format.h>

#include "broker/security/acl_principal.h"

namespace sluice::broker::security {
namespace {

bool PatternMatches(const AclBindingFilter& filter, const AclBinding& binding) {
  if (filter.pattern_type != PatternType::kAny && filter.pattern_type != PatternType::kMatch &&
      filter.pattern_type != binding.pattern_type) {
    return false;
  }
  if (!filter.resource_name) return true;
  const std::string& name = *filter.resource_name;
  // ANY and a named pattern type compare names exactly; MATCH asks what applies to `name`.
  if (filter.pattern_type != PatternType::kMatch) return name == binding.resource_name;
  switch (binding.pattern_type) {
    case PatternType::kLiteral: return name == binding.resource_name || binding.resource_name == kWildcard;
    case PatternType::kPrefixed: return name.starts_with(binding.resource_name);
    default: return false;
  }
}

}  // namespace

bool Matches(const AclBindingFilter& filter, const AclBinding& binding) {
  if (filter.resource_type != ResourceType::kAny && filter.resource_type != binding.resource_type) return false;
  if (!PatternMatches(filter, binding)) return false;
  if (filter.principal && *filter.principal != binding.principal) return false;
  if (filter.host && *filter.host != binding.host) return false;
  if (filter.operation != AclOperation::kAny && filter.operation != binding.operation) return false;
  return filter.permission == AclPermission::kAny || filter.permission == binding.permission;
}

absl::Status ValidateBinding(const AclBinding& b) {
  if (b.resource_type == ResourceType::kUnknown || b.resource_type == ResourceType::kAny) {
    return absl::InvalidArgumentError(fmt::format("invalid resource type {}", ResourceTypeName(b.resource_type)));
  }
  if (b.pattern_type != PatternType::kLiteral && b.pattern_type != PatternType::kPrefixed) {
    return absl::InvalidArgumentError(fmt::format("invalid pattern type {}", PatternTypeName(b.pattern_type)));
  }
  if (b.operation == AclOperation::kUnknown || b.operation == AclOperation::kAny) {
    return absl::InvalidArgumentError(fmt::format("invalid operation {}", AclOperationName(b.operation)));
  }
  if (b.permission != AclPermission::kAllow && b.permission != AclPermission::kDeny) {
    return absl::InvalidArgumentError(fmt::format("invalid permission type {}", AclPermissionName(b.permission)));
  }
  if (b.resource_name.empty()) return absl::InvalidArgumentError("invalid empty resource name");
  if (b.resource_type == ResourceType::kCluster && b.resource_name != kClusterResourceName) {
    return absl::InvalidArgumentError(
        fmt::format("the only valid name for the CLUSTER resource is {}", kClusterResourceName));
  }
  if (b.pattern_type == PatternType::kPrefixed && b.resource_name == kWildcard) {
    return absl::InvalidArgumentError("the wildcard resource name * is valid only with pattern type LITERAL");
  }
  if (auto principal = ParsePrincipal(b.principal); !principal.ok()) return principal.status();
  if (b.host.empty()) return absl::InvalidArgumentError("invalid empty host");
  return absl::OkStatus();
}

absl::Status ValidateFilter(const AclBindingFilter& f) {
  if (f.resource_type == ResourceType::kUnknown || f.pattern_type == PatternType::kUnknown ||
      f.operation == AclOperation::kUnknown || f.permission == AclPermission::kUnknown) {
    return absl::InvalidArgumentError("the filter contains UNKNOWN elements");
  }
  return absl::OkStatus();
}

}  // namespace sluice::broker::security
