#pragma once
// The JAAS configuration Kafka brokers take for SASL/PLAIN (`sasl.jaas.config`), e.g.
//   org.apache.kafka.common.security.plain.PlainLoginModule required
//     username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";
// username/password: this broker's own login to other brokers; user_NAME="PASSWORD": the users
// it accepts.

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sluice::broker::security {

struct PlainCredentials {
  std::string username;  // this broker's own, for inter-broker connections
  std::string password;
  std::map<std::string, std::string, std::less<>> users;  // accepted: name -> password
};

// Parses one PlainLoginModule entry; InvalidArgument naming what is wrong otherwise.
absl::StatusOr<PlainCredentials> ParsePlainJaasConfig(std::string_view text);

}  // namespace sluice::broker::security
