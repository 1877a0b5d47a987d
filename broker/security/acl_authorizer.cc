#include "broker/security/acl_authorizer.h"

namespace sluice::broker::security {
namespace {

bool Implies(AclOperation granted, AclOperation wanted) {
  if (granted == AclOperation::kAll || granted == wanted) return true;
  switch (wanted) {
    case AclOperation::kDescribe:
      return granted == AclOperation::kRead || granted == AclOperation::kWrite || granted == AclOperation::kDelete ||
             granted == AclOperation::kAlter;
    case AclOperation::kDescribeConfigs: return granted == AclOperation::kAlterConfigs;
    default: return false;
  }
}

bool Denies(const AclBinding& b, AclOperation wanted) {
  return b.permission == AclPermission::kDeny && (b.operation == AclOperation::kAll || b.operation == wanted);
}

bool Applies(const AclBinding& b, std::string_view principal, std::string_view host) {
  return (b.principal == principal || b.principal == kWildcardPrincipal) && (b.host == host || b.host == kWildcard);
}

// The operations Kafka lists in authorized-operations fields, per resource type.
std::vector<AclOperation> ReportedOperations(ResourceType type) {
  using Op = AclOperation;
  switch (type) {
    case ResourceType::kTopic:
      return {Op::kRead, Op::kWrite, Op::kCreate, Op::kDelete, Op::kAlter, Op::kDescribe, Op::kDescribeConfigs,
              Op::kAlterConfigs};
    case ResourceType::kGroup: return {Op::kRead, Op::kDescribe, Op::kDelete};
    case ResourceType::kCluster:
      return {Op::kCreate, Op::kClusterAction, Op::kDescribeConfigs, Op::kAlterConfigs, Op::kIdempotentWrite,
              Op::kAlter, Op::kDescribe};
    case ResourceType::kTransactionalId: return {Op::kDescribe, Op::kWrite};
    case ResourceType::kDelegationToken: return {Op::kDescribe};
    default: return {};
  }
}

}  // namespace

int32_t ReportedOperationBits(ResourceType type) {
  int32_t bits = 0;
  for (AclOperation operation : ReportedOperations(type)) bits |= int32_t{1} << static_cast<int>(operation);
  return bits;
}

AclAuthorizer::AclAuthorizer(const AuthorizerSettings& settings, const std::vector<AclBinding>& bindings)
    : super_users_(settings.super_users.begin(), settings.super_users.end()),
      allow_if_no_acl_(settings.allow_everyone_if_no_acl_found),
      bindings_(bindings) {
  for (const AclBinding& b : bindings_) {
    Patterns& patterns = patterns_[b.resource_type];
    auto& index = b.pattern_type == PatternType::kPrefixed ? patterns.prefixed : patterns.literal;
    index[b.resource_name].push_back(&b);
  }
}

template <class Visit>
void AclAuthorizer::ForEachCovering(ResourceType type, std::string_view name, Visit visit) const {
  auto patterns = patterns_.find(type);
  if (patterns == patterns_.end()) return;
  auto visit_all = [&](const auto& index, std::string_view key) {
    if (auto it = index.find(key); it != index.end()) {
      for (const AclBinding* b : it->second) visit(*b);
    }
  };
  visit_all(patterns->second.literal, name);
  if (name != kWildcard) visit_all(patterns->second.literal, kWildcard);
  // Every prefix of the name, the whole name included, may hold PREFIXED bindings.
  for (size_t length = 1; length <= name.size() && !patterns->second.prefixed.empty(); ++length) {
    visit_all(patterns->second.prefixed, name.substr(0, length));
  }
}

bool AclAuthorizer::Authorize(std::string_view principal, std::string_view host, AclOperation operation,
                              ResourceType type, std::string_view name) const {
  if (IsSuperUser(principal)) return true;
  bool covered = false, denied = false, allowed = false;
  ForEachCovering(type, name, [&](const AclBinding& b) {
    covered = true;
    if (!Applies(b, principal, host)) return;
    if (Denies(b, operation)) denied = true;
    if (b.permission == AclPermission::kAllow && Implies(b.operation, operation)) allowed = true;
  });
  if (denied) return false;
  return allowed || (!covered && allow_if_no_acl_);
}

bool AclAuthorizer::AuthorizeAny(std::string_view principal, std::string_view host, AclOperation operation,
                                 ResourceType type) const {
  if (IsSuperUser(principal)) return true;
  auto patterns = patterns_.find(type);
  if (patterns == patterns_.end()) return allow_if_no_acl_;
  // Denials that cover whole families of names: literal ones, and prefixes.
  std::set<std::string_view> denied_literal, denied_prefixes;
  for (const auto& [name, list] : patterns->second.literal) {
    for (const AclBinding* b : list) {
      if (Applies(*b, principal, host) && Denies(*b, operation)) denied_literal.insert(b->resource_name);
    }
  }
  for (const auto& [name, list] : patterns->second.prefixed) {
    for (const AclBinding* b : list) {
      if (Applies(*b, principal, host) && Denies(*b, operation)) denied_prefixes.insert(b->resource_name);
    }
  }
  if (denied_literal.count(kWildcard) > 0) return false;
  auto under_denied_prefix = [&](std::string_view name) {
    for (std::string_view prefix : denied_prefixes) {
      if (name.starts_with(prefix)) return true;
    }
    return false;
  };
  for (const AclBinding& b : bindings_) {
    if (b.resource_type != type || b.permission != AclPermission::kAllow || !Implies(b.operation, operation) ||
        !Applies(b, principal, host)) {
      continue;
    }
    if (under_denied_prefix(b.resource_name)) continue;
    if (b.pattern_type == PatternType::kLiteral && denied_literal.count(b.resource_name) > 0) continue;
    return true;
  }
  return false;
}

int32_t AclAuthorizer::AuthorizedOperations(std::string_view principal, std::string_view host, ResourceType type,
                                            std::string_view name) const {
  int32_t bits = 0;
  for (AclOperation operation : ReportedOperations(type)) {
    if (Authorize(principal, host, operation, type, name)) bits |= int32_t{1} << static_cast<int>(operation);
  }
  return bits;
}

}  // namespace sluice::broker::security
