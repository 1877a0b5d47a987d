#pragma once
// SASL authentication on SASL_PLAINTEXT and SASL_SSL listeners: SaslHandshake picks the mechanism
// (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER, those enabled), SaslAuthenticate carries the
// client's messages: one for PLAIN and OAUTHBEARER, two rounds for SCRAM. Until a login succeeds,
// a connection may send nothing but ApiVersions and these two (the dispatcher enforces that). A
// failed login is answered with SASL_AUTHENTICATION_FAILED after `failure_delay_ms` (against
// guessing), then the connection is closed; every attempt is audited.
// With `max_reauth_ms` (connections.max.reauth.ms, KIP-368) a login's session ends after that
// long (or when its OAUTHBEARER token expires, if sooner): SaslAuthenticate v1+ tells the client,
// which logs in again on the same connection with the same mechanism as the same principal.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/audit/audit_log.h"
#include "broker/security/jaas_config.h"
#include "broker/security/jwks_file.h"
#include "broker/security/jwt_validator.h"
#include "broker/security/scram_credential.h"
#include "broker/server/request_context.h"
#include "protocol/kafka/error_codes.h"
#include "protocol/net/kafka_server.h"

namespace sluice::broker::security {

class SaslServer {
 public:
  // A user's SCRAM credential, read from the current cluster metadata when the user logs in.
  using ScramCredentials = std::function<std::optional<ScramCredential>(ScramMechanism, const std::string& user)>;

  struct Options {
    std::optional<PlainCredentials> plain;  // the PLAIN users, when PLAIN is enabled
    ScramCredentials scram;
    std::shared_ptr<JwksFile> jwks;  // when OAUTHBEARER is enabled
    JwtExpectations jwt;
    std::vector<std::string> mechanisms;
    int64_t failure_delay_ms = 100;
    int64_t max_reauth_ms = 0;  // 0: sessions never end
  };
  explicit SaslServer(Options options) : options_(std::move(options)) {}

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
  Step EvaluateOAuthBearer(const net::ConnectionInfo& connection, RequestContext& request,
                           std::string_view token) const;
  // Logs the connection in as `user` for a session of at most `lifetime_ms` (with
  // max_reauth_ms); a re-authentication must keep the principal. False (after auditing the
  // refusal) when it does not.
  bool LogInAs(const net::ConnectionInfo& connection, RequestContext& request, const std::string& user,
               int64_t token_lifetime_ms = 0) const;
  // How long the session just logged in lasts (0: unbounded), for SaslAuthenticate v1+.
  int64_t SessionLifetimeMs(const net::ConnectionInfo& connection) const;
  Step Failure(RequestContext& request, const std::string& user, std::string message) const;
  void Audit(const RequestContext& request, const std::string& user, kafka::ErrorCode result) const;
  // Runs `answer` on the request's connection thread after the failure delay, so guessing
  // passwords costs time.
  void AfterFailureDelay(const RequestContext& request, std::function<void()> answer) const;

  const Options options_;
};

}  // namespace sluice::broker::security
