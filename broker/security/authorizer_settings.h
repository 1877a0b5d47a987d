#pragma once
// authorizer.class.name, super.users and allow.everyone.if.no.acl.found as the broker reads
// them: empty class name, no authorization; Kafka's KRaft StandardAuthorizer name, the ACL
// authorizer; any other name is refused.

#include <optional>

#include "absl/status/statusor.h"
#include "broker/security/acl_authorizer.h"
#include "common/config.h"

namespace sluice::broker::security {

inline constexpr char kStandardAuthorizer[] = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

// nullopt when authorization is off; InvalidArgument naming the setting that is wrong.
absl::StatusOr<std::optional<AuthorizerSettings>> AuthorizerSettingsFromConfig(const config::Properties& config);

}  // namespace sluice::broker::security
