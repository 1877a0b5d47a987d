#pragma once
// The broker's authorizer: its settings, and the snapshot of the current image's ACLs, rebuilt
// only when a new image brings other ACLs (images share an unchanged ACL map). Thread-safe.

#include <memory>
#include <mutex>

#include "broker/security/acl_authorizer.h"
#include "protocol/metadata/image.h"

namespace sluice::broker::security {

class AuthorizerCache {
 public:
  explicit AuthorizerCache(AuthorizerSettings settings) : settings_(std::move(settings)) {}

  std::shared_ptr<const AclAuthorizer> For(const metadata::MetadataImage& image) const;

 private:
  const AuthorizerSettings settings_;
  mutable std::mutex mutex_;
  mutable std::shared_ptr<const metadata::AclEntries> built_from_;
  mutable std::shared_ptr<const AclAuthorizer> authorizer_;
};

}  // namespace sluice::broker::security
