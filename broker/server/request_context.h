#pragma once
// One Kafka request in flight: its header, the frame that holds its bytes (kept alive while a
// handler waits), where the connection wants continuations to run, and how to answer it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <asio/io_context.hpp>

#include "broker/audit/audit_log.h"
#include "broker/audit/audited_responses.h"
#include "common/log.h"
#include "common/metrics/registry.h"
#include "protocol/kafka/message_headers.h"
#include "protocol/kafka/wire.h"
#include "protocol/net/kafka_server.h"

namespace sluice::broker {

struct RequestContext {
  kafka::RequestHeader header;
  std::shared_ptr<const std::string> frame;
  std::string_view body;  // the request body inside *frame
  asio::io_context& io;   // the connection's event loop
  std::string peer;
  net::Responder responder;
  std::chrono::steady_clock::time_point received;
  // This API's request stages, when metrics are kept: total (read to last byte written) =
  // local + remote (parked, waiting for data or for the ISR; Fetch and Produce) + send.
  struct Stages {
    metrics::Histogram* total = nullptr;
    metrics::Histogram* local = nullptr;
    metrics::Histogram* remote = nullptr;
    metrics::Histogram* send = nullptr;
  } stages;
  double remote_seconds = 0;  // set by handlers that park
  audit::AuditLog* audit = nullptr;  // when admin operations are audited
  std::string_view listener;         // the name of the listener the request came in on
  std::string principal = "User:ANONYMOUS";  // who the connection authenticated as

  int16_t version() const { return header.request_api_version; }

  template <class Body>
  void Respond(const Body& response) {
    if constexpr (audit::Audited<Body>) {
      if (audit != nullptr) {
        std::vector<audit::AuditedResource> resources;
        audit::AppendResources(response, resources);
        RecordAudit(resources);
      }
    }
    const auto ready = std::chrono::steady_clock::now();
    if (stages.local != nullptr) {
      stages.local->Observe(std::chrono::duration<double>(ready - received).count() - remote_seconds);
    }
    if (stages.remote != nullptr) stages.remote->Observe(remote_seconds);
    responder.Send(kafka::EncodeResponse(header.correlation_id, header.request_api_version, response),
                   {.total = stages.total, .send = stages.send, .received = received, .ready = ready});
  }

  // Answers, then closes the connection once the answer is written.
  template <class Body>
  void RespondAndClose(const Body& response) {
    responder.SendAndClose(kafka::EncodeResponse(header.correlation_id, header.request_api_version, response));
  }

  // One audit line per resource, as `principal`.
  void RecordAudit(const std::vector<audit::AuditedResource>& resources) const;

  // Decodes the body; on malformed input logs, closes the connection and returns false. Bytes
  // after the body are ignored as Kafka ignores them: librdkafka 2.15 sends Metadata v12 with
  // three extra bytes. The frame's own length stays strict (the connection checks it).
  template <class Request>
  bool Decode(Request& request) {
    kafka::Reader reader(body);
    absl::Status status = request.Decode(reader, header.request_api_version);
    if (status.ok()) return true;
    log::Warn("closing connection from {}: malformed api {} v{} request: {}", peer, header.request_api_key, header.request_api_version,
              status.ToString());
    responder.Close();
    return false;
  }
};

using RequestPtr = std::shared_ptr<RequestContext>;

}  // namespace sluice::broker
