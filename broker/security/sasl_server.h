#pragma once
// SASL authentication on a SASL_PLAINTEXT listener: SaslHandshake picks the mechanism (PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512, those enabled), SaslAuthenticate carries the client's messages:
// one for PLAIN, two rounds for SCRAM. Until a login succeeds, a connection may send nothing but
// ApiVersions and these two (the dispatcher enforces that). A failed login is answered with
// SASL_AUTHENTICATION_FAILED after `failure_delay_ms` (against guessing), then the connection is
// closed; every attempt is audited.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "broker/audit/audit_log.h"
#include "broker/security/jaas_config.h"
#include "broker/security/scram_credential.h"
#include "broker/server/request_context.h"
#include "protocol/kafka/error_codes.h"
#include "protocol/net/kafka_server.h"

namespace sluice::broker::security {

class SaslServer {
 public:
  // A user's SCRAM credential, read from the current cluster metadata when the user logs in.
  using ScramCredentials = std::function<std::optional<ScramCredential>(ScramMechanism, const std::string& user)>;

  // `plain`: the PLAIN users, when PLAIN is among `mechanisms`.
  SaslServer(std::optional<PlainCredentials> plain, ScramCredentials scram, std::vector<std::string> mechanisms,
             int64_t failure_delay_ms)
      : plain_(std::move(plain)),
        scram_(std::move(scram)),
        mechanisms_(std::move(mechanisms)),
        failure_delay_ms_(failure_delay_ms) {}

  // Both run on the connection's thread and may change its SASL state.
  void Handshake(const net::ConnectionInfo& connection, RequestPtr request) const;
  void Authenticate(const net::ConnectionInfo& connection, RequestPtr request) const;
  // A bare token after a SaslHandshake v0 (`request->body`): answered with a bare token (empty
  // for PLAIN); on failure the connection is closed without an answer, as Kafka does.
  void AuthenticateToken(const net::ConnectionInfo& connection, RequestPtr request) const;

 private:
  // The outcome of one client token: the server's next token, the login done (with the last
  // token), or the login failed (with the message for the client).
  struct Step {
    enum class Outcome { kChallenge, kSuccess, kFailure } outcome;
    std::string token;
    std::string error_message;
  };

  Step Evaluate(const net::ConnectionInfo& connection, RequestContext& request, std::string_view token) const;
  Step EvaluatePlain(const net::ConnectionInfo& connection, RequestContext& request, std::string_view token) const;
  Step EvaluateScram(const net::ConnectionInfo& connection, RequestContext& request, std::string_view token) const;
  void LogInAs(const net::ConnectionInfo& connection, RequestContext& request, const std::string& user) const;
  void Audit(const RequestContext& request, const std::string& user, kafka::ErrorCode result) const;
  // Runs `answer` on the request's connection thread after the failure delay, so guessing
  // passwords costs time.
  void AfterFailureDelay(const RequestContext& request, std::function<void()> answer) const;

  const std::optional<PlainCredentials> plain_;
  const ScramCredentials scram_;
  const std::vector<std::string> mechanisms_;
  const int64_t failure_delay_ms_;
};

}  // namespace sluice::broker::security
