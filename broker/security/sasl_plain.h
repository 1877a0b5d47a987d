#pragma once
// SASL PLAIN (RFC 4616) as Kafka brokers serve it: the client's single message is
// [authzid] NUL authcid NUL passwd; an authorization id other than the user's is refused.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/security/jaas_config.h"

namespace sluice::broker::security {

struct PlainMessage {
  std::string username;
  std::string password;
};

// InvalidArgument for a malformed message (the text is what Kafka tells the client).
absl::StatusOr<PlainMessage> ParsePlainMessage(std::string_view message);
// The client message that logs `username` in.
std::string PlainMessageFor(std::string_view username, std::string_view password);
// True when `message` names an accepted user with its password (compared in constant time).
bool Authenticate(const PlainCredentials& credentials, const PlainMessage& message);

}  // namespace sluice::broker::security
