#include "broker/security/acl_records.h"

#include <vector>

namespace sluice::broker::security {
namespace {

// Codes outside int8 are unknown too (a record is never trusted to be in range).
int8_t Narrow(int32_t code) { return code >= -128 && code <= 127 ? static_cast<int8_t>(code) : 0; }

}  // namespace

AclBinding ToBinding(const metadata::AccessControlEntry& e) {
  return AclBinding{.resource_type = ToResourceType(Narrow(e.resource_type())),
                    .resource_name = e.resource_name(),
                    .pattern_type = ToPatternType(Narrow(e.pattern_type())),
                    .principal = e.principal(),
                    .host = e.host(),
                    .operation = ToAclOperation(Narrow(e.operation())),
                    .permission = ToAclPermission(Narrow(e.permission()))};
}

metadata::AccessControlEntry ToEntry(const AclBinding& b) {
  metadata::AccessControlEntry e;
  e.set_resource_type(static_cast<int32_t>(b.resource_type));
  e.set_resource_name(b.resource_name);
  e.set_pattern_type(static_cast<int32_t>(b.pattern_type));
  e.set_principal(b.principal);
  e.set_host(b.host);
  e.set_operation(static_cast<int32_t>(b.operation));
  e.set_permission(static_cast<int32_t>(b.permission));
  return e;
}

AclBindingFilter ToFilter(const metadata::AclFilter& f) {
  AclBindingFilter filter{.resource_type = ToResourceType(Narrow(f.resource_type())),
                          .pattern_type = ToPatternType(Narrow(f.pattern_type())),
                          .operation = ToAclOperation(Narrow(f.operation())),
                          .permission = ToAclPermission(Narrow(f.permission()))};
  if (f.has_resource_name()) filter.resource_name = f.resource_name();
  if (f.has_principal()) filter.principal = f.principal();
  if (f.has_host()) filter.host = f.host();
  return filter;
}

metadata::AclFilter ToProto(const AclBindingFilter& filter) {
  metadata::AclFilter f;
  f.set_resource_type(static_cast<int32_t>(filter.resource_type));
  if (filter.resource_name) f.set_resource_name(*filter.resource_name);
  f.set_pattern_type(static_cast<int32_t>(filter.pattern_type));
  if (filter.principal) f.set_principal(*filter.principal);
  if (filter.host) f.set_host(*filter.host);
  f.set_operation(static_cast<int32_t>(filter.operation));
  f.set_permission(static_cast<int32_t>(filter.permission));
  return f;
}

std::shared_ptr<const AclAuthorizer> BuildAuthorizer(const AuthorizerSettings& settings,
                                                     const metadata::AclEntries& entries) {
  std::vector<AclBinding> bindings;
  bindings.reserve(entries.size());
  for (const auto& [id, entry] : entries) bindings.push_back(ToBinding(entry));
  return std::make_shared<const AclAuthorizer>(settings, bindings);
}

}  // namespace sluice::broker::security
