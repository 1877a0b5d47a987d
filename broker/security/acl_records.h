#pragma once
// ACL bindings and filters as the metadata log and the controller RPCs carry them, and the
// authorizer snapshot of an image's ACLs.

#include <memory>

#include "broker/security/acl_authorizer.h"
#include "broker/security/acl_binding.h"
#include "protocol/metadata/controller_api.pb.h"
#include "protocol/metadata/image.h"

namespace sluice::broker::security {

AclBinding ToBinding(const metadata::AccessControlEntry& entry);
// The entry for `binding`, without an id.
metadata::AccessControlEntry ToEntry(const AclBinding& binding);
AclBindingFilter ToFilter(const metadata::AclFilter& filter);
metadata::AclFilter ToProto(const AclBindingFilter& filter);

std::shared_ptr<const AclAuthorizer> BuildAuthorizer(const AuthorizerSettings& settings,
                                                     const metadata::AclEntries& entries);

}  // namespace sluice::broker::security
