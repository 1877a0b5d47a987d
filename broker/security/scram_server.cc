#include "broker/security/scram_server.h"

#include <fmt/format.h>

#include "broker/security/scram_crypto.h"
#include "broker/security/scram_messages.h"

namespace sluice::broker::security {
namespace {

// 18 random bytes: 24 base64 characters without padding, all printable.
constexpr size_t kServerNonceBytes = 18;

}  // namespace

ScramServerExchange::ScramServerExchange(ScramMechanism mechanism, CredentialLookup lookup, std::string server_nonce)
    : mechanism_(mechanism), lookup_(std::move(lookup)), server_nonce_(std::move(server_nonce)) {}

absl::StatusOr<std::string> ScramServerExchange::Evaluate(std::string_view client_message) {
  absl::StatusOr<std::string> answer = absl::FailedPreconditionError("SCRAM: the exchange is over");
  if (state_ == State::kClientFirst) {
    answer = ClientFirst(client_message);
  } else if (state_ == State::kClientFinal) {
    answer = ClientFinal(client_message);
  }
  if (!answer.ok()) state_ = State::kFailed;
  return answer;
}

absl::StatusOr<std::string> ScramServerExchange::ClientFirst(std::string_view text) {
  absl::StatusOr<ClientFirstMessage> first = ParseClientFirstMessage(text);
  if (!first.ok()) return first.status();
  username_ = first->username;
  if (!first->authzid.empty() && first->authzid != first->username) {
    return absl::PermissionDeniedError(
        "Authentication failed: Client requested an authorization id that is different from username");
  }
  for (const auto& [key, value] : first->extensions) {
    if (key == "tokenauth" && value == "false") continue;
    return absl::UnauthenticatedError(key == "tokenauth"
                                          ? "SCRAM: delegation tokens (tokenauth=true) are not supported"
                                          : fmt::format("SCRAM: unsupported extension '{}'", key));
  }
  std::optional<ScramCredential> credential = lookup_(username_);
  if (!credential.has_value()) {
    return absl::UnauthenticatedError(
        fmt::format("SCRAM: user '{}' has no {} credential", username_, ScramMechanismName(mechanism_)));
  }
  credential_ = std::move(*credential);
  if (server_nonce_.empty()) {
    absl::StatusOr<std::string> random = RandomBytes(kServerNonceBytes);
    if (!random.ok()) return random.status();
    server_nonce_ = Base64(*random);
  }
  gs2_header_ = first->gs2_header;
  nonce_ = first->nonce + server_nonce_;
  const std::string server_first = FormatServerFirstMessage(
      ServerFirstMessage{.nonce = nonce_, .salt = credential_.salt, .iterations = credential_.iterations});
  auth_message_prefix_ = first->bare + "," + server_first;
  state_ = State::kClientFinal;
  return server_first;
}

absl::StatusOr<std::string> ScramServerExchange::ClientFinal(std::string_view text) {
  absl::StatusOr<ClientFinalMessage> final_message = ParseClientFinalMessage(text);
  if (!final_message.ok()) return final_message.status();
  if (final_message->channel_binding != gs2_header_) {
    return absl::UnauthenticatedError("SCRAM: the channel binding does not repeat the gs2 header");
  }
  // Kafka checks that the nonce ends with the one it sent, not equality: librdkafka 2.0 repeats its
  // own nonce in front. The proof covers the message as sent either way.
  if (!final_message->nonce.ends_with(nonce_)) return absl::UnauthenticatedError("SCRAM: the nonce does not match");
  const std::string auth_message = auth_message_prefix_ + "," + final_message->without_proof;
  const std::string client_signature = ScramHmac(mechanism_, credential_.stored_key, auth_message);
  if (final_message->proof.size() != client_signature.size()) {
    return absl::UnauthenticatedError("SCRAM: the proof has the wrong size");
  }
  const std::string client_key = XorBytes(final_message->proof, client_signature);
  if (!ConstantTimeEquals(ScramHash(mechanism_, client_key), credential_.stored_key)) {
    return absl::UnauthenticatedError(fmt::format("SCRAM: invalid proof for user '{}'", username_));
  }
  state_ = State::kComplete;
  return FormatServerFinalMessage(
      ServerFinalMessage{.verifier = ScramHmac(mechanism_, credential_.server_key, auth_message)});
}

}  // namespace sluice::broker::security
