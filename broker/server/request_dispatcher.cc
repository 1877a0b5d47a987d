#include "broker/server/request_dispatcher.h"

#include <array>

#include "broker/groups/group_handlers.h"
#include "broker/handlers/handlers.h"
#include "common/absl_compat.h"
#include "common/clock.h"
#include "common/log.h"
#include "broker/security/sasl_server.h"
#include "broker/security/ssl_principal_mapper.h"
#include "protocol/kafka/api_registry.h"
#include "protocol/kafka/messages/sasl_authenticate.h"
#include "protocol/kafka/messages/sasl_handshake.h"

namespace sluice::broker {
namespace {

using Handler = void (*)(BrokerContext&, RequestPtr);

struct Route {
  int16_t api_key;
  Handler handler;
  // Versions below the accepted minimum that the handler still answers (with UNSUPPORTED_VERSION).
  bool answers_old_versions = false;
};

constexpr Route kRoutes[] = {
    {0, HandleProduce, true},
    {1, HandleFetch, true},
    {2, HandleListOffsets},
    {3, HandleMetadata},
    {8, HandleOffsetCommit},
    {9, HandleOffsetFetch},
    {10, HandleFindCoordinator},
    {11, HandleJoinGroup},
    {12, HandleHeartbeat},
    {13, HandleLeaveGroup},
    {14, HandleSyncGroup},
    {15, HandleDescribeGroups},
    {16, HandleListGroups},
    // SaslHandshake and SaslAuthenticate change the connection's state: the SASL server answers
    // them (Dispatch), not a handler.
    {17, nullptr},
    {18, HandleApiVersions},
    {19, HandleCreateTopics},
    {20, HandleDeleteTopics},
    {21, HandleDeleteRecords},
    {22, HandleInitProducerId},
    {23, HandleOffsetForLeaderEpoch},
    {24, HandleAddPartitionsToTxn},
    {25, HandleAddOffsetsToTxn},
    {26, HandleEndTxn},
    {27, HandleWriteTxnMarkers},
    {28, HandleTxnOffsetCommit},
    {29, HandleDescribeAcls},
    {30, HandleCreateAcls},
    {31, HandleDeleteAcls},
    {32, HandleDescribeConfigs},
    {33, HandleAlterConfigs},
    {35, HandleDescribeLogDirs},
    {36, nullptr},
    {37, HandleCreatePartitions},
    {42, HandleDeleteGroups},
    {43, HandleElectLeaders},
    {44, HandleIncrementalAlterConfigs},
    {45, HandleAlterPartitionReassignments},
    {46, HandleListPartitionReassignments},
    {47, HandleOffsetDelete},
    {50, HandleDescribeUserScramCredentials},
    {51, HandleAlterUserScramCredentials},
    {55, HandleDescribeQuorum},
    {60, HandleDescribeCluster},
    {61, HandleDescribeProducers},
    {65, HandleDescribeTransactions},
    {66, HandleListTransactions},
    {74, HandleListClientMetricsResources},
};

const Route* FindRoute(int16_t key) {
  for (const Route& route : kRoutes) {
    if (route.api_key == key) return &route;
  }
  return nullptr;
}

}  // namespace

RequestDispatcher::RequestDispatcher(BrokerContext& broker) : broker_(broker) {
  for (const Route& route : kRoutes) {
    const kafka::AdvertisedApi* api = kafka::FindAdvertisedApi(route.api_key);
    if (api == nullptr || route.api_key < 0 || static_cast<size_t>(route.api_key) >= api_metrics_.size()) continue;
    const metrics::Labels labels = {{"request", std::string(api->name)}};
    // Only Fetch and Produce park; other APIs have no remote stage.
    constexpr int16_t kProduceKey = 0, kFetchKey = 1;
    const bool parks = route.api_key == kProduceKey || route.api_key == kFetchKey;
    auto histogram = [&](const char* name) { return &broker_.metrics.GetHistogram(name, labels); };
    api_metrics_[route.api_key] = {
        .requests = &broker_.metrics.GetCounter("kafka_network_requestmetrics_requests_total", labels),
        .stages = {.total = histogram("kafka_network_requestmetrics_totaltime_seconds"),
                   .local = histogram("kafka_network_requestmetrics_localtime_seconds"),
                   .remote = parks ? histogram("kafka_network_requestmetrics_remotetime_seconds") : nullptr,
                   .send = histogram("kafka_network_requestmetrics_responsesendtime_seconds")}};
  }
}

RequestPtr RequestDispatcher::NewRequest(const Listener& listener, const net::ConnectionInfo& connection,
                                        kafka::RequestHeader header,
                                        std::shared_ptr<const std::string> frame, std::string_view body,
                                        net::Responder responder, const RequestContext::Stages& stages) const {
  auto request = std::make_shared<RequestContext>(RequestContext{.header = std::move(header),
                                                                 .frame = std::move(frame),
                                                                 .body = body,
                                                                 .io = connection.io,
                                                                 .peer = connection.peer,
                                                                 .responder = std::move(responder),
                                                                 .received = std::chrono::steady_clock::now(),
                                                                 .stages = stages,
                                                                 .audit = broker_.audit,
                                                                 .listener = listener.name});
  if (!connection.principal.empty()) request->principal = connection.principal;
  return request;
}

void RequestDispatcher::AuditCertificateLogin(const Listener& listener, const net::ConnectionInfo& connection,
                                              const std::string& principal, std::string_view result) const {
  if (broker_.audit == nullptr) return;
  broker_.audit->Record({.time_ms = SystemClock::Instance().NowMs(),
                         .principal = principal,
                         .client = connection.peer,
                         .listener = listener.name,
                         .api = "TlsHandshake",
                         .resource_type = "USER",
                         .resource = connection.tls_peer_subject,
                         .result = result});
}

bool RequestDispatcher::NameCertificatePrincipal(const Listener& listener, const net::ConnectionInfo& connection,
                                                 const net::Responder& responder) const {
  if (connection.tls_peer_subject.empty()) {
    connection.principal = "User:ANONYMOUS";
    return true;
  }
  absl::StatusOr<std::string> name = broker_.ssl_principals->Map(connection.tls_peer_subject);
  if (!name.ok()) {
    log::Warn("closing connection from {}: {}", connection.peer, name.status().message());
    AuditCertificateLogin(listener, connection, "User:ANONYMOUS", "NO_PRINCIPAL_MAPPING_RULE");
    responder.Close();
    return false;
  }
  connection.principal = "User:" + *name;
  AuditCertificateLogin(listener, connection, connection.principal, "NONE");
  return true;
}

void RequestDispatcher::Dispatch(const Listener& listener, const net::ConnectionInfo& connection,
                                 std::shared_ptr<const std::string> frame, net::Responder responder) {
  const bool sasl = UsesSasl(listener.protocol) && broker_.sasl != nullptr;
  if (listener.protocol == SecurityProtocol::kSsl && connection.principal.empty() &&
      !NameCertificatePrincipal(listener, connection, responder)) {
    return;
  }
  if (connection.sasl_token_next && sasl) {
    // A bare SASL token (after SaslHandshake v0), audited as the SaslAuthenticate it stands for.
    kafka::RequestHeader token_header;
    token_header.request_api_key = kafka::SaslAuthenticateRequest::kApiKey;
    const std::string_view token(*frame);
    return broker_.sasl->AuthenticateToken(connection, NewRequest(listener, connection, std::move(token_header),
                                                                  std::move(frame), token, std::move(responder), {}));
  }
  kafka::Reader reader(*frame);
  auto header = kafka::DecodeRequestHeader(reader);
  if (!header.ok()) {
    log::Warn("closing connection from {}: unreadable request header: {}", connection.peer, header.status());
    return responder.Close();
  }
  const int16_t key = header->request_api_key;
  const int16_t version = header->request_api_version;
  const Route* route = FindRoute(key);
  const kafka::AdvertisedApi* api = kafka::FindAdvertisedApi(key);
  if (route == nullptr || api == nullptr) {
    log::Warn("closing connection from {}: unsupported api key {}", connection.peer, key);
    return responder.Close();
  }
  // ApiVersions answers any version itself (the v0 fallback); others must be in range.
  if (key != kafka::kApiVersionsKey &&
      (version > api->max_version || version < (route->answers_old_versions ? api->min_version : api->accepted_min_version))) {
    log::Warn("closing connection from {}: {} v{} is not supported (v{}-v{})", connection.peer, api->name, version,
              api->accepted_min_version, api->max_version);
    return responder.Close();
  }
  std::string_view body = std::string_view(*frame).substr(reader.position());
  const ApiMetrics& instruments = api_metrics_[static_cast<size_t>(key) % api_metrics_.size()];
  if (instruments.requests != nullptr) instruments.requests->Add();
  RequestPtr request = NewRequest(listener, connection, std::move(*header), std::move(frame), body,
                                  std::move(responder), instruments.stages);
  if (route->handler == nullptr) {
    if (!sasl) {
      log::Warn("closing connection from {}: {} on a listener without SASL", connection.peer, api->name);
      return request->responder.Close();
    }
    if (key == kafka::SaslHandshakeRequest::kApiKey) return broker_.sasl->Handshake(connection, std::move(request));
    return broker_.sasl->Authenticate(connection, std::move(request));
  }
  // Before a login only ApiVersions may come: Kafka closes the connection on anything else.
  if (sasl && connection.principal.empty() && key != kafka::kApiVersionsKey) {
    log::Warn("closing connection from {}: {} request before SASL authentication", connection.peer, api->name);
    return request->responder.Close();
  }
  // KIP-368: once the session ends, only a re-authentication may come (it was answered above).
  if (sasl && connection.sasl_session_expires_ms > 0 && SystemClock::Instance().MonotonicMs() >= connection.sasl_session_expires_ms) {
    log::Info("closing connection from {}: its SASL session expired (connections.max.reauth.ms) before it "
              "re-authenticated", connection.peer);
    return request->responder.Close();
  }
  route->handler(broker_, std::move(request));
}

}  // namespace sluice::broker
