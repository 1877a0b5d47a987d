#pragma once
// SASL authentication on a SASL_PLAINTEXT listener: SaslHandshake (v1) picks the mechanism,
// SaslAuthenticate carries the client's PLAIN message. Until it succeeds, a connection may
// send nothing but ApiVersions and these two (the dispatcher enforces that). A failed login
// is answered with SASL_AUTHENTICATION_FAILED after `failure_delay_ms` (against guessing), then
// the connection is closed; every attempt is audited.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "broker/audit/audit_log.h"
#include "broker/security/jaas_config.h"
#include "broker/server/request_context.h"
#include "protocol/kafka/error_codes.h"
#include "protocol/net/kafka_server.h"

namespace sluice::broker::security {

class SaslServer {
 public:
  SaslServer(PlainCredentials credentials, std::vector<std::string> mechanisms, int64_t failure_delay_ms)
      : credentials_(std::move(credentials)), mechanisms_(std::move(mechanisms)), failure_delay_ms_(failure_delay_ms) {}

  // Both run on the connection's thread and may change its SASL state.
  void Handshake(const net::ConnectionInfo& connection, RequestPtr request) const;
  void Authenticate(const net::ConnectionInfo& connection, RequestPtr request) const;
  // The bare token after a SaslHandshake v0 (`request->body`): answered with a bare, empty
  // token on success; on failure the connection is closed without an answer, as Kafka does.
  void AuthenticateToken(const net::ConnectionInfo& connection, RequestPtr request) const;

 private:
  // Checks a PLAIN message; on success the connection is logged in as its user. Either way the
  // attempt is logged and audited. Returns the message for the client on failure.
  absl::Status LogIn(const net::ConnectionInfo& connection, RequestContext& request, std::string_view message) const;
  void Audit(const RequestContext& request, const std::string& user, kafka::ErrorCode result) const;
  // Runs `answer` on the request's connection thread after the failure delay, so guessing
  // passwords costs time.
  void AfterFailureDelay(const RequestContext& request, std::function<void()> answer) const;

  const PlainCredentials credentials_;
  const std::vector<std::string> mechanisms_;
  const int64_t failure_delay_ms_;
};

}  // namespace sluice::broker::security
