#include "broker/security/sasl_server.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include <asio/steady_timer.hpp>
#include <fmt/format.h>

#include "broker/security/sasl_oauthbearer.h"
#include "broker/security/sasl_plain.h"
#include "broker/security/scram_server.h"
#include "common/absl_compat.h"
#include "common/clock.h"
#include "common/log.h"
#include "protocol/kafka/messages/sasl_authenticate.h"
#include "protocol/kafka/messages/sasl_handshake.h"

namespace sluice::broker::security {

using kafka::ErrorCode;

void SaslServer::Handshake(const net::ConnectionInfo& connection, RequestPtr request) const {
  kafka::SaslHandshakeRequest body;
  if (!request->Decode(body)) return;
  kafka::SaslHandshakeResponse response;
  response.mechanisms = options_.mechanisms;
  // On a logged-in connection a handshake starts a re-authentication (KIP-368): allowed when
  // sessions end, with the mechanism of the first login.
  const bool reauthentication = !connection.principal.empty();
  if (!connection.sasl_mechanism.empty() ||
      (reauthentication && (options_.max_reauth_ms <= 0 || body.mechanism != connection.sasl_login_mechanism))) {
    log::Warn("closing connection from {}: SaslHandshake ({}) out of place{}", request->peer, body.mechanism,
              reauthentication ? "; a re-authentication keeps the first login's mechanism" : "");
    response.error_code = static_cast<int16_t>(ErrorCode::kIllegalSaslState);
    return request->RespondAndClose(response);
  }
  if (std::find(options_.mechanisms.begin(), options_.mechanisms.end(), body.mechanism) ==
      options_.mechanisms.end()) {
    log::Warn("closing connection from {}: SASL mechanism '{}' is not enabled", request->peer, body.mechanism);
    response.error_code = static_cast<int16_t>(ErrorCode::kUnsupportedSaslMechanism);
    return request->RespondAndClose(response);
  }
  connection.sasl_mechanism = body.mechanism;
  connection.sasl_token_next = request->version() == 0;
  connection.sasl_reauthenticating = reauthentication;
  request->Respond(response);
}

bool SaslServer::LogInAs(const net::ConnectionInfo& connection, RequestContext& request, const std::string& user,
                         int64_t token_lifetime_ms) const {
  const std::string principal = "User:" + user;
  connection.sasl_exchange.reset();
  if (connection.sasl_reauthenticating && principal != connection.principal) {
    log::Warn("SASL re-authentication from {} as {} refused: the connection logged in as {}", request.peer, principal,
              connection.principal);
    Audit(request, user, ErrorCode::kSaslAuthenticationFailed);
    return false;
  }
  connection.principal = principal;
  connection.sasl_login_mechanism = connection.sasl_mechanism;
  connection.sasl_mechanism.clear();
  connection.sasl_reauthenticating = false;
  int64_t lifetime_ms = options_.max_reauth_ms;
  if (lifetime_ms > 0 && token_lifetime_ms > 0) lifetime_ms = std::min(lifetime_ms, token_lifetime_ms);
  connection.sasl_session_expires_ms = lifetime_ms > 0 ? SystemClock::Instance().MonotonicMs() + lifetime_ms : 0;
  request.principal = connection.principal;
  Audit(request, user, ErrorCode::kNone);
  return true;
}

int64_t SaslServer::SessionLifetimeMs(const net::ConnectionInfo& connection) const {
  if (connection.sasl_session_expires_ms == 0) return 0;
  return std::max<int64_t>(1, connection.sasl_session_expires_ms - SystemClock::Instance().MonotonicMs());
}

SaslServer::Step SaslServer::Failure(RequestContext& request, const std::string& user, std::string message) const {
  Audit(request, user, ErrorCode::kSaslAuthenticationFailed);
  return Step{.outcome = Step::Outcome::kFailure, .error_message = std::move(message)};
}

SaslServer::Step SaslServer::EvaluatePlain(const net::ConnectionInfo& connection, RequestContext& request,
                                           std::string_view token) const {
  auto parsed = ParsePlainMessage(token);
  if (parsed.ok() && options_.plain.has_value() && security::Authenticate(*options_.plain, *parsed)) {
    if (LogInAs(connection, request, parsed->username)) return Step{.outcome = Step::Outcome::kSuccess};
    return Step{.outcome = Step::Outcome::kFailure, .error_message = "Re-authentication changed the principal"};
  }
  const std::string user = parsed.ok() ? parsed->username : "";
  log::Warn("SASL/PLAIN authentication of '{}' from {} failed", user, request.peer);
  return Failure(request, user,
                 parsed.ok() ? "Authentication failed: Invalid username or password"
                             : std::string(parsed.status().message()));
}

SaslServer::Step SaslServer::EvaluateScram(const net::ConnectionInfo& connection, RequestContext& request,
                                           std::string_view token) const {
  const ScramMechanism mechanism = *ScramMechanismNamed(connection.sasl_mechanism);
  if (connection.sasl_exchange == nullptr) {
    connection.sasl_exchange = std::make_shared<ScramServerExchange>(
        mechanism, [scram = options_.scram, mechanism](const std::string& user) { return scram(mechanism, user); });
  }
  auto& exchange = *std::static_pointer_cast<ScramServerExchange>(connection.sasl_exchange);
  absl::StatusOr<std::string> answer = exchange.Evaluate(token);
  if (answer.ok() && !exchange.complete()) return Step{.outcome = Step::Outcome::kChallenge, .token = *answer};
  const std::string user = exchange.username();
  if (answer.ok()) {
    if (LogInAs(connection, request, user)) return Step{.outcome = Step::Outcome::kSuccess, .token = std::move(*answer)};
    return Step{.outcome = Step::Outcome::kFailure, .error_message = "Re-authentication changed the principal"};
  }
  connection.sasl_exchange.reset();
  log::Warn("SASL/{} authentication of '{}' from {} failed: {}", connection.sasl_mechanism, user, request.peer,
            ToStd(answer.status().message()));
  Audit(request, user, ErrorCode::kSaslAuthenticationFailed);
  // Kafka tells the client only this, whatever went wrong, except about a foreign authorization id.
  return Step{.outcome = Step::Outcome::kFailure,
              .error_message = absl::IsPermissionDenied(answer.status())
                                   ? std::string(answer.status().message())
                                   : fmt::format("Authentication failed during authentication due to invalid "
                                                 "credentials with SASL mechanism {}",
                                                 connection.sasl_mechanism)};
}

SaslServer::Step SaslServer::EvaluateOAuthBearer(const net::ConnectionInfo& connection, RequestContext& request,
                                                 std::string_view token) const {
  absl::StatusOr<OAuthBearerMessage> message = ParseOAuthBearerMessage(token);
  if (!message.ok()) {
    log::Warn("SASL/OAUTHBEARER authentication from {} failed: {}", request.peer, ToStd(message.status().message()));
    return Failure(request, "", std::string(message.status().message()));
  }
  absl::StatusOr<ValidatedToken> validated =
      options_.jwks->Current()->Validate(message->token, options_.jwt, SystemClock::Instance().NowMs());
  if (!validated.ok()) {
    log::Warn("SASL/OAUTHBEARER authentication from {} failed: {}", request.peer, ToStd(validated.status().message()));
    // Kafka's answer for any invalid token; the reason stays in the broker's log.
    return Failure(request, "", "Authentication failed: invalid_token");
  }
  if (!message->authorization_id.empty() && message->authorization_id != validated->principal) {
    return Failure(request, validated->principal,
                   "Authentication failed: Client requested an authorization id that is different from the "
                   "token's principal name");
  }
  if (!LogInAs(connection, request, validated->principal, validated->expires_at_ms - SystemClock::Instance().NowMs())) {
    return Step{.outcome = Step::Outcome::kFailure, .error_message = "Re-authentication changed the principal"};
  }
  return Step{.outcome = Step::Outcome::kSuccess};
}

SaslServer::Step SaslServer::Evaluate(const net::ConnectionInfo& connection, RequestContext& request,
                                      std::string_view token) const {
  if (connection.sasl_mechanism == "PLAIN") return EvaluatePlain(connection, request, token);
  if (connection.sasl_mechanism == "OAUTHBEARER") return EvaluateOAuthBearer(connection, request, token);
  return EvaluateScram(connection, request, token);
}

void SaslServer::AuthenticateToken(const net::ConnectionInfo& connection, RequestPtr request) const {
  Step step = Evaluate(connection, *request, request->body);
  connection.sasl_token_next = step.outcome == Step::Outcome::kChallenge;
  if (step.outcome != Step::Outcome::kFailure) {
    return request->responder.Send(kafka::OutboundMessage{.bytes = std::move(step.token)});
  }
  // v0 has no error message, only the closed connection.
  AfterFailureDelay(*request, [request] { request->responder.Close(); });
}

void SaslServer::AfterFailureDelay(const RequestContext& request, std::function<void()> answer) const {
  auto timer = std::make_shared<asio::steady_timer>(request.io, std::chrono::milliseconds(options_.failure_delay_ms));
  timer->async_wait([timer, answer = std::move(answer)](const asio::error_code&) { answer(); });
}

void SaslServer::Authenticate(const net::ConnectionInfo& connection, RequestPtr request) const {
  kafka::SaslAuthenticateRequest body;
  if (!request->Decode(body)) return;
  kafka::SaslAuthenticateResponse response;
  if (connection.sasl_mechanism.empty() || (!connection.principal.empty() && !connection.sasl_reauthenticating)) {
    response.error_code = static_cast<int16_t>(ErrorCode::kIllegalSaslState);
    response.error_message = "SaslAuthenticate without a SaslHandshake before it, or after a login";
    return request->RespondAndClose(response);
  }
  Step step = Evaluate(connection, *request, body.auth_bytes);
  if (step.outcome != Step::Outcome::kFailure) {
    response.auth_bytes = std::move(step.token);
    if (step.outcome == Step::Outcome::kSuccess) response.session_lifetime_ms = SessionLifetimeMs(connection);
    return request->Respond(response);
  }
  response.error_code = static_cast<int16_t>(ErrorCode::kSaslAuthenticationFailed);
  response.error_message = std::move(step.error_message);
  AfterFailureDelay(*request, [request, response = std::move(response)] { request->RespondAndClose(response); });
}

void SaslServer::Audit(const RequestContext& request, const std::string& user, ErrorCode result) const {
  if (request.audit == nullptr) return;
  request.RecordAudit({{.type = "USER", .name = user, .error_code = static_cast<int16_t>(result)}});
}

}  // namespace sluice::broker::security
