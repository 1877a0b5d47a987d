#include "broker/security/authorizer_cache.h"

#include "broker/security/acl_records.h"

namespace sluice::broker::security {

std::shared_ptr<const AclAuthorizer> AuthorizerCache::For(const metadata::MetadataImage& image) const {
  std::lock_guard lock(mutex_);
  if (authorizer_ == nullptr || built_from_ != image.acls()) {
    authorizer_ = BuildAuthorizer(settings_, *image.acls());
    built_from_ = image.acls();
  }
  return authorizer_;
}

}  // namespace sluice::broker::security
