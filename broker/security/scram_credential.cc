#include "broker/security/scram_credential.h"

#include <openssl/evp.h>

#include "broker/security/scram_crypto.h"

namespace sluice::broker::security {
namespace {

constexpr size_t kSaltBytes = 24;

}  // namespace

std::optional<ScramMechanism> ScramMechanismNamed(std::string_view name) {
  if (name == "SCRAM-SHA-256") return ScramMechanism::kSha256;
  if (name == "SCRAM-SHA-512") return ScramMechanism::kSha512;
  return std::nullopt;
}

std::optional<ScramMechanism> ScramMechanismOfType(int8_t type) {
  if (type == static_cast<int8_t>(ScramMechanism::kSha256)) return ScramMechanism::kSha256;
  if (type == static_cast<int8_t>(ScramMechanism::kSha512)) return ScramMechanism::kSha512;
  return std::nullopt;
}

std::string_view ScramMechanismName(ScramMechanism mechanism) {
  return mechanism == ScramMechanism::kSha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
}

size_t ScramKeySize(ScramMechanism mechanism) { return mechanism == ScramMechanism::kSha256 ? 32 : 64; }

absl::StatusOr<std::string> SaltedPassword(ScramMechanism mechanism, std::string_view password, std::string_view salt,
                                           int32_t iterations) {
  if (iterations < 1) return absl::InvalidArgumentError("SCRAM iteration count must be positive");
  std::string out(ScramKeySize(mechanism), '\0');
  const EVP_MD* digest = mechanism == ScramMechanism::kSha256 ? EVP_sha256() : EVP_sha512();
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iterations,
                        digest, static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data())) != 1) {
    return absl::InternalError("OpenSSL PKCS5_PBKDF2_HMAC failed");
  }
  return out;
}

ScramCredential CredentialFromSaltedPassword(ScramMechanism mechanism, std::string_view salt,
                                             std::string_view salted_password, int32_t iterations) {
  const std::string client_key = ScramHmac(mechanism, salted_password, "Client Key");
  return ScramCredential{.salt = std::string(salt),
                         .stored_key = ScramHash(mechanism, client_key),
                         .server_key = ScramHmac(mechanism, salted_password, "Server Key"),
                         .iterations = iterations};
}

absl::StatusOr<ScramCredential> NewScramCredential(ScramMechanism mechanism, std::string_view password,
                                                   int32_t iterations) {
  absl::StatusOr<std::string> salt = RandomBytes(kSaltBytes);
  if (!salt.ok()) return salt.status();
  absl::StatusOr<std::string> salted = SaltedPassword(mechanism, password, *salt, iterations);
  if (!salted.ok()) return salted.status();
  return CredentialFromSaltedPassword(mechanism, *salt, *salted, iterations);
}

}  // namespace sluice::broker::security
