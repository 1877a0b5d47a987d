#pragma once
// SCRAM credentials (RFC 5802, RFC 7677) as Kafka keeps them: per user and mechanism a salt, an
// iteration count, StoredKey = H(ClientKey) and ServerKey, never the password. Mechanisms carry
// Kafka's ScramMechanism type numbers (DescribeUserScramCredentials, AlterUserScramCredentials).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sluice::broker::security {

enum class ScramMechanism : int8_t { kSha256 = 1, kSha512 = 2 };

// Kafka's bounds on the iteration count of a credential it accepts or a client answers.
inline constexpr int32_t kScramMinIterations = 4096;
inline constexpr int32_t kScramMaxIterations = 16384;

std::optional<ScramMechanism> ScramMechanismNamed(std::string_view name);  // "SCRAM-SHA-256", ...
std::optional<ScramMechanism> ScramMechanismOfType(int8_t type);
std::string_view ScramMechanismName(ScramMechanism mechanism);
// The digest size of the mechanism's hash: the length of every key and salted password.
size_t ScramKeySize(ScramMechanism mechanism);

struct ScramCredential {
  std::string salt;
  std::string stored_key;
  std::string server_key;
  int32_t iterations = 0;
};

// Hi(password, salt, iterations) of RFC 5802: PBKDF2 with the mechanism's HMAC.
absl::StatusOr<std::string> SaltedPassword(ScramMechanism mechanism, std::string_view password, std::string_view salt,
                                           int32_t iterations);
// The credential of a salted password, as AlterUserScramCredentials sends it.
ScramCredential CredentialFromSaltedPassword(ScramMechanism mechanism, std::string_view salt,
                                             std::string_view salted_password, int32_t iterations);
// A credential for `password` with a fresh random salt.
absl::StatusOr<ScramCredential> NewScramCredential(ScramMechanism mechanism, std::string_view password,
                                                   int32_t iterations);

}  // namespace sluice::broker::security
