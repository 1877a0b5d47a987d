#pragma once
// The client side of one SCRAM exchange, as a broker logs in to another broker: the first
// message, the final message that proves the password, and the check of the server's signature.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/security/scram_credential.h"

namespace sluice::broker::security {

// The salted password of the last login, so that logging in again with the same salt and
// iteration count (a reconnection) skips PBKDF2: thousands of HMACs on the caller's thread.
struct SaltedPasswordCache {
  std::string salt;
  int32_t iterations = 0;
  std::string salted_password;
};

class ScramClientExchange {
 public:
  // `client_nonce`: empty for a fresh random one (tests pass RFC 7677's).
  static absl::StatusOr<ScramClientExchange> Start(ScramMechanism mechanism, std::string username,
                                                   std::string password, std::string client_nonce = "");

  const std::string& first_message() const { return first_message_; }
  // The client-final message answering `server_first`. Refuses a nonce that does not extend
  // ours and an iteration count outside Kafka's bounds (a server cannot make us spin). With
  // `cache`, a salted password for the same salt and count is reused, and a new one kept.
  absl::StatusOr<std::string> FinalMessage(std::string_view server_first, SaltedPasswordCache* cache = nullptr);
  // OK when `server_final` carries the server's valid signature.
  absl::Status VerifyServerFinal(std::string_view server_final) const;

 private:
  ScramClientExchange(ScramMechanism mechanism, std::string password, std::string nonce, std::string first_message);

  ScramMechanism mechanism_;
  std::string password_;
  std::string nonce_;
  std::string first_message_;
  std::string expected_server_signature_;
};

}  // namespace sluice::broker::security
