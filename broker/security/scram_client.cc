#include "broker/security/scram_client.h"

#include <fmt/format.h>

#include "broker/security/scram_crypto.h"
#include "broker/security/scram_messages.h"

namespace sluice::broker::security {
namespace {

constexpr size_t kClientNonceBytes = 18;
constexpr std::string_view kGs2Header = "n,,";

}  // namespace

ScramClientExchange::ScramClientExchange(ScramMechanism mechanism, std::string password, std::string nonce,
                                         std::string first_message)
    : mechanism_(mechanism),
      password_(std::move(password)),
      nonce_(std::move(nonce)),
      first_message_(std::move(first_message)) {}

absl::StatusOr<ScramClientExchange> ScramClientExchange::Start(ScramMechanism mechanism, std::string username,
                                                               std::string password, std::string client_nonce) {
  if (username.empty()) return absl::InvalidArgumentError("SCRAM: empty user name");
  if (client_nonce.empty()) {
    absl::StatusOr<std::string> random = RandomBytes(kClientNonceBytes);
    if (!random.ok()) return random.status();
    client_nonce = Base64(*random);
  }
  std::string first = FormatClientFirstMessage(username, client_nonce);
  return ScramClientExchange(mechanism, std::move(password), std::move(client_nonce), std::move(first));
}

absl::StatusOr<std::string> ScramClientExchange::FinalMessage(std::string_view server_first_text,
                                                              SaltedPasswordCache* cache) {
  absl::StatusOr<ServerFirstMessage> server_first = ParseServerFirstMessage(server_first_text);
  if (!server_first.ok()) return server_first.status();
  if (server_first->nonce.size() <= nonce_.size() || !server_first->nonce.starts_with(nonce_)) {
    return absl::UnauthenticatedError("SCRAM: the server's nonce does not extend the client's");
  }
  if (server_first->iterations < kScramMinIterations || server_first->iterations > kScramMaxIterations) {
    return absl::UnauthenticatedError(fmt::format("SCRAM: the server asks for {} iterations, outside {}..{}",
                                                  server_first->iterations, kScramMinIterations, kScramMaxIterations));
  }
  const bool cached = cache != nullptr && cache->salt == server_first->salt &&
                      cache->iterations == server_first->iterations && !cache->salted_password.empty();
  absl::StatusOr<std::string> salted =
      cached ? cache->salted_password : SaltedPassword(mechanism_, password_, server_first->salt, server_first->iterations);
  if (!salted.ok()) return salted.status();
  if (cache != nullptr && !cached) {
    *cache = SaltedPasswordCache{.salt = server_first->salt, .iterations = server_first->iterations,
                                 .salted_password = *salted};
  }
  const std::string without_proof = FormatClientFinalWithoutProof(kGs2Header, server_first->nonce);
  const std::string client_first_bare = first_message_.substr(kGs2Header.size());
  const std::string auth_message = client_first_bare + "," + std::string(server_first_text) + "," + without_proof;
  const std::string client_key = ScramHmac(mechanism_, *salted, "Client Key");
  const std::string client_signature = ScramHmac(mechanism_, ScramHash(mechanism_, client_key), auth_message);
  expected_server_signature_ = ScramHmac(mechanism_, ScramHmac(mechanism_, *salted, "Server Key"), auth_message);
  return FormatClientFinalMessage(without_proof, XorBytes(client_key, client_signature));
}

absl::Status ScramClientExchange::VerifyServerFinal(std::string_view server_final_text) const {
  absl::StatusOr<ServerFinalMessage> server_final = ParseServerFinalMessage(server_final_text);
  if (!server_final.ok()) return server_final.status();
  if (!server_final->error.empty()) {
    return absl::UnauthenticatedError(fmt::format("SCRAM: the server refused the login: {}", server_final->error));
  }
  if (expected_server_signature_.empty() ||
      !ConstantTimeEquals(server_final->verifier, expected_server_signature_)) {
    return absl::UnauthenticatedError("SCRAM: the server's signature is invalid");
  }
  return absl::OkStatus();
}

}  // namespace sluice::broker::security
