#include "broker/security/sasl_server.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include <asio/steady_timer.hpp>

#include "broker/security/sasl_plain.h"
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

absl::Status SaslServer::LogIn(const net::ConnectionInfo& connection, RequestContext& request,
                               std::string_view message) const {
  auto parsed = ParsePlainMessage(message);
  if (parsed.ok() && security::Authenticate(credentials_, *parsed)) {
    connection.principal = "User:" + parsed->username;
    connection.sasl_mechanism.clear();
    request.principal = connection.principal;
    Audit(request, parsed->username, ErrorCode::kNone);
    return absl::OkStatus();
  }
  const std::string user = parsed.ok() ? parsed->username : "";
  log::Warn("SASL/PLAIN authentication of '{}' from {} failed", user, request.peer);
  Audit(request, user, ErrorCode::kSaslAuthenticationFailed);
  return parsed.ok() ? absl::UnauthenticatedError("Authentication failed: Invalid username or password")
                     : parsed.status();
}

void SaslServer::AuthenticateToken(const net::ConnectionInfo& connection, RequestPtr request) const {
  connection.sasl_token_next = false;
  if (LogIn(connection, *request, request->body).ok()) return request->responder.Send(kafka::OutboundMessage{});
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
  absl::Status login = LogIn(connection, *request, body.auth_bytes);
  if (login.ok()) return request->Respond(response);
  response.error_code = static_cast<int16_t>(ErrorCode::kSaslAuthenticationFailed);
  response.error_message = std::string(login.message());
  AfterFailureDelay(*request, [request, response = std::move(response)] { request->RespondAndClose(response); });
}

void SaslServer::Audit(const RequestContext& request, const std::string& user, ErrorCode result) const {
  if (request.audit == nullptr) return;
  request.RecordAudit({{.type = "USER", .name = user, .error_code = static_cast<int16_t>(result)}});
}

}  // namespace sluice::broker::security
