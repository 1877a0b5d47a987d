#pragma once
// An immutable snapshot of the ACLs that answers who may do what, with Kafka's semantics:
// super users may do everything; otherwise the bindings whose pattern covers the resource
// (its literal name, the literal wildcard `*`, or a prefix of it) and whose principal (or
// User:*) and host (or *) fit decide: any DENY of the operation (or of ALL) refuses, else any
// ALLOW of it, of ALL or of an operation implying it (READ, WRITE, DELETE and ALTER imply
// DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS) grants. A resource no binding covers is
// refused unless allow.everyone.if.no.acl.found.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "broker/security/acl_binding.h"

namespace sluice::broker::security {

struct AuthorizerSettings {
  std::vector<std::string> super_users;  // principals, e.g. User:admin
  bool allow_everyone_if_no_acl_found = false;
};

// The bit set of every operation Kafka reports for a resource of `type`: what authorized-
// operations fields hold when no authorizer is configured.
int32_t ReportedOperationBits(ResourceType type);

class AclAuthorizer {
 public:
  AclAuthorizer(const AuthorizerSettings& settings, const std::vector<AclBinding>& bindings);
  // The pattern index points into bindings_: a copy would point into the original.
  AclAuthorizer(const AclAuthorizer&) = delete;
  AclAuthorizer& operator=(const AclAuthorizer&) = delete;

  bool Authorize(std::string_view principal, std::string_view host, AclOperation operation, ResourceType type,
                 std::string_view name) const;
  // Whether `principal` may do `operation` on at least one resource of `type` (Kafka's
  // authorizeByResourceType): some ALLOW binding of it that no DENY binding covers entirely.
  bool AuthorizeAny(std::string_view principal, std::string_view host, AclOperation operation, ResourceType type) const;
  // The bit set (1 << operation code) of the operations Kafka reports for a resource of this
  // type that `principal` may perform on it (the authorized-operations fields).
  int32_t AuthorizedOperations(std::string_view principal, std::string_view host, ResourceType type,
                               std::string_view name) const;

  bool IsSuperUser(std::string_view principal) const { return super_users_.count(principal) > 0; }
  const std::vector<AclBinding>& bindings() const { return bindings_; }

 private:
  struct Patterns {
    std::map<std::string, std::vector<const AclBinding*>, std::less<>> literal;  // `*` included
    std::map<std::string, std::vector<const AclBinding*>, std::less<>> prefixed;
  };
  // Calls `visit` with every binding whose pattern covers the named resource.
  template <class Visit>
  void ForEachCovering(ResourceType type, std::string_view name, Visit visit) const;

  std::set<std::string, std::less<>> super_users_;
  bool allow_if_no_acl_;
  std::vector<AclBinding> bindings_;
  std::map<ResourceType, Patterns> patterns_;
};

}  // namespace sluice::broker::security
