#pragma once
// The JAAS configuration Kafka brokers take (`sasl.jaas.config`): one entry per login module,
// each ending with ';'. For SASL/PLAIN
//   org.apache.kafka.common.security.plain.PlainLoginModule required
//     username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";
// username/password: this broker's own PLAIN login to other brokers; user_NAME="PASSWORD": the
// users it accepts. For SCRAM (whose users live in the cluster metadata)
//   org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-secret";
// gives this broker's own SCRAM login to other brokers.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sluice::broker::security {

struct PlainCredentials {
  std::string username;  // this broker's own, for inter-broker connections
  std::string password;
  std::map<std::string, std::string, std::less<>> users;  // accepted: name -> password
};

struct ScramLogin {
  std::string username;
  std::string password;
};

struct JaasConfig {
  std::optional<PlainCredentials> plain;  // the PlainLoginModule entry
  std::optional<ScramLogin> scram;        // the ScramLoginModule entry
};

// Parses the entries (each module at most once); InvalidArgument naming what is wrong otherwise.
absl::StatusOr<JaasConfig> ParseJaasConfig(std::string_view text);

}  // namespace sluice::broker::security
