#include "broker/security/authorizer_settings.h"

#include <fmt/format.h>

#include "broker/security/acl_principal.h"
#include "common/status_macros.h"

namespace sluice::broker::security {

absl::StatusOr<std::optional<AuthorizerSettings>> AuthorizerSettingsFromConfig(const config::Properties& config) {
  const std::string name = config.GetString("authorizer.class.name");
  if (name.empty()) return std::nullopt;
  if (name != kStandardAuthorizer) {
    return absl::InvalidArgumentError(
        fmt::format("authorizer.class.name: {} is not supported; the ACL authorizer is {} (or leave it empty for none)",
                    name, kStandardAuthorizer));
  }
  AuthorizerSettings settings;
  SLUICE_ASSIGN_OR_RETURN(settings.super_users, ParseSuperUsers(config.GetString("super.users")));
  settings.allow_everyone_if_no_acl_found = config.GetBool("allow.everyone.if.no.acl.found");
  return settings;
}

}  // namespace sluice::broker::security
