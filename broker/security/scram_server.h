#pragma once
// The server side of one SCRAM exchange (RFC 5802 with Kafka's rules): the client-first message
// names the user (an authorization id must be that user; extensions are refused, delegation
// tokens are not supported), the server answers with its nonce, the user's salt and iteration
// count, and the client-final message proves the password, checked in constant time against
// the StoredKey. The ServerKey signs the final answer.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/security/scram_credential.h"

namespace sluice::broker::security {

class ScramServerExchange {
 public:
  // The user's credential for the exchange's mechanism, nullopt when there is none.
  using CredentialLookup = std::function<std::optional<ScramCredential>(const std::string& username)>;

  // `server_nonce`: empty for a fresh random one (tests pass RFC 7677's).
  ScramServerExchange(ScramMechanism mechanism, CredentialLookup lookup, std::string server_nonce = "");

  // The answer to the client's next message (server-first, then server-final). Any error ends
  // the exchange as a failed login; PermissionDenied carries a message meant for the client
  // (Kafka's for a foreign authorization id), others are for the log only.
  absl::StatusOr<std::string> Evaluate(std::string_view client_message);

  bool complete() const { return state_ == State::kComplete; }
  ScramMechanism mechanism() const { return mechanism_; }
  // The user the client-first message named; empty before it parsed.
  const std::string& username() const { return username_; }

 private:
  enum class State { kClientFirst, kClientFinal, kComplete, kFailed };

  absl::StatusOr<std::string> ClientFirst(std::string_view text);
  absl::StatusOr<std::string> ClientFinal(std::string_view text);

  const ScramMechanism mechanism_;
  const CredentialLookup lookup_;
  std::string server_nonce_;
  State state_ = State::kClientFirst;
  std::string username_;
  std::string gs2_header_;
  std::string nonce_;  // client's + server's
  std::string auth_message_prefix_;  // client-first-bare "," server-first
  ScramCredential credential_;
};

}  // namespace sluice::broker::security
