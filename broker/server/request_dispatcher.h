#pragma once
// Turns a request frame into a call of its API's handler: decodes the header, refuses APIs and
// versions Sluice does not serve (closing the connection with a log line, as Kafka does for
// requests it cannot parse), and routes the rest.

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "common/listeners.h"
#include "broker/handlers/broker_context.h"
#include "broker/server/request_context.h"
#include "protocol/net/kafka_server.h"

namespace sluice::broker {

class RequestDispatcher {
 public:
  // Creates a request counter and a histogram per request stage and API in broker.metrics.
  explicit RequestDispatcher(BrokerContext& broker);
  // `listener` (the one the connection came in on) outlives the broker's connections.
  void Dispatch(const Listener& listener, const net::ConnectionInfo& connection, std::shared_ptr<const std::string> frame,
                net::Responder responder);

 private:
  struct ApiMetrics {
    metrics::Counter* requests = nullptr;
    RequestContext::Stages stages;
  };
  // The request's context, with the connection's principal and this broker's audit log.
  RequestPtr NewRequest(const Listener& listener, const net::ConnectionInfo& connection, kafka::RequestHeader header,
                        std::shared_ptr<const std::string> frame, std::string_view body, net::Responder responder,
                        const RequestContext::Stages& stages) const;

  // On an SSL listener the principal comes from the client's certificate, named once per
  // connection; false (after closing it) when no mapping rule names the subject.
  bool NameCertificatePrincipal(const Listener& listener, const net::ConnectionInfo& connection,
                                const net::Responder& responder) const;
  // A certificate login (its subject, the principal it became) as an audit line.
  void AuditCertificateLogin(const Listener& listener, const net::ConnectionInfo& connection,
                             const std::string& principal, std::string_view result) const;

  BrokerContext& broker_;
  std::array<ApiMetrics, 128> api_metrics_{};  // by api key
};

}  // namespace sluice::broker
