#pragma once
// The client's message of SASL/OAUTHBEARER (RFC 7628) as Kafka clients send it:
//   gs2-header ("n,," or "n,a=AUTHZID,") %x01 auth=Bearer TOKEN %x01 *(key=value %x01) %x01
// Other key/value pairs (host, port, SASL extensions) are allowed and ignored, as Kafka's
// default extension handling ignores extensions it does not validate.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sluice::broker::security {

struct OAuthBearerMessage {
  std::string authorization_id;  // empty unless "a=" was given
  std::string token;
};

// InvalidArgument naming what is malformed.
absl::StatusOr<OAuthBearerMessage> ParseOAuthBearerMessage(std::string_view message);
// The message that presents `token` (clients, tests).
std::string OAuthBearerMessageFor(std::string_view token);

}  // namespace sluice::broker::security
