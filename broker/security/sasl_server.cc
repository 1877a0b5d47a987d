#include "broker/security/sasl_server.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include <asio/steady_timer.hpp>
#include <fmt/format.h>

#include "broker/security/sasl_plain.h"
#include "broker/security/scram_server.h"
#include "common/absl_compat.h"
#include "common/log.h"
#include "protocol/kafka/messages/sasl_authenticate.h"
#include "protocol/kafka/messages/sasl_handshake.h"

namespace sluice::broker::security {

using kafka::ErrorCode;

void SaslServer::Handshake(const net::ConnectionInfo& connection, RequestPtr request) const {
  kafka::SaslHandshakeRequest body;
  if (!request->Decode(body)) return;
  kafka::SaslHandshakeResponse response;
  response.mechanisms = mechanisms_;
  if (!connection.principal.empty() || !connection.sasl_mechanism.empty()) {
    response.error_code = static_cast<int16_t>(ErrorCode::kIllegalSaslState);
    return request->RespondAndClose(response);
  }
  if (std::find(mechanisms_.begin(), mechanisms_.end(), body.mechanism) == mechanisms_.end()) {
    log::Warn("closing connection from {}: SASL mechanism '{}' is not enabled", request->peer, body.mechanism);
    response.error_code = static_cast<int16_t>(ErrorCode::kUnsupportedSaslMechanism);
    return request->RespondAndClose(response);
  }
  connection.sasl_mechanism = body.mechanism;
  connection.sasl_token_next = request->version() == 0;
  request->Respond(response);
}

void SaslServer::LogInAs(const net::ConnectionInfo& connection, RequestContext& request, const std::string& user) const {
  connection.principal = "User:" + user;
  connection.sasl_mechanism.clear();
  connection.sasl_exchange.reset();
  request.principal = connection.principal;
  Audit(request, user, ErrorCode::kNone);
}

SaslServer::Step SaslServer::EvaluatePlain(const net::ConnectionInfo& connection, RequestContext& request,
                                           std::string_view token) const {
  auto parsed = ParsePlainMessage(token);
  if (parsed.ok() && plain_.has_value() && security::Authenticate(*plain_, *parsed)) {
    LogInAs(connection, request, parsed->username);
    return Step{.outcome = Step::Outcome::kSuccess};
  }
  const std::string user = parsed.ok() ? parsed->username : "";
  log::Warn("SASL/PLAIN authentication of '{}' from {} failed", user, request.peer);
  Audit(request, user, ErrorCode::kSaslAuthenticationFailed);
  return Step{.outcome = Step::Outcome::kFailure,
              .error_message = parsed.ok() ? "Authentication failed: Invalid username or password"
                                           : std::string(parsed.status().message())};
}

SaslServer::Step SaslServer::EvaluateScram(const net::ConnectionInfo& connection, RequestContext& request,
                                           std::string_view token) const {
  const ScramMechanism mechanism = *ScramMechanismNamed(connection.sasl_mechanism);
  if (connection.sasl_exchange == nullptr) {
    connection.sasl_exchange = std::make_shared<ScramServerExchange>(
        mechanism, [scram = scram_, mechanism](const std::string& user) { return scram(mechanism, user); });
  }
  auto& exchange = *std::static_pointer_cast<ScramServerExchange>(connection.sasl_exchange);
  absl::StatusOr<std::string> answer = exchange.Evaluate(token);
  if (answer.ok() && !exchange.complete()) return Step{.outcome = Step::Outcome::kChallenge, .token = *answer};
  const std::string user = exchange.username();
  if (answer.ok()) {
    LogInAs(connection, request, user);
    return Step{.outcome = Step::Outcome::kSuccess, .token = std::move(*answer)};
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

SaslServer::Step SaslServer::Evaluate(const net::ConnectionInfo& connection, RequestContext& request,
                                      std::string_view token) const {
  if (connection.sasl_mechanism == "PLAIN") return EvaluatePlain(connection, request, token);
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
  auto timer = std::make_shared<asio::steady_timer>(request.io, std::chrono::milliseconds(failure_delay_ms_));
  timer->async_wait([timer, answer = std::move(answer)](const asio::error_code&) { answer(); });
}

void SaslServer::Authenticate(const net::ConnectionInfo& connection, RequestPtr request) const {
  kafka::SaslAuthenticateRequest body;
  if (!request->Decode(body)) return;
  kafka::SaslAuthenticateResponse response;
  if (connection.sasl_mechanism.empty() || !connection.principal.empty()) {
    response.error_code = static_cast<int16_t>(ErrorCode::kIllegalSaslState);
    response.error_message = "SaslAuthenticate without a SaslHandshake before it, or after a login";
    return request->RespondAndClose(response);
  }
  Step step = Evaluate(connection, *request, body.auth_bytes);
  if (step.outcome != Step::Outcome::kFailure) {
    response.auth_bytes = std::move(step.token);
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
