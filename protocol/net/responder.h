#pragma once
// The answer slot of one request. Each request takes a slot in its connection's response
// queue; responses leave in request order however the handlers finish. Copies share the slot.
// Thread-safe: the first of Send/NoResponse/Close fills the slot (later calls are ignored with
// a log line). If every copy is destroyed unused, the connection is closed, since the
// responses behind it could never be sent. Answers for a closed connection are dropped.

#include <chrono>
#include <memory>

#include "common/metrics/registry.h"
#include "protocol/kafka/records.h"

namespace sluice::net {

class Connection;

// How a response's write is timed once its last byte is on the socket: `total` from
// `received`, `send` from `ready` (when the handler answered). Either may be null.
struct SendTiming {
  metrics::Histogram* total = nullptr;
  metrics::Histogram* send = nullptr;
  std::chrono::steady_clock::time_point received{};
  std::chrono::steady_clock::time_point ready{};
};

class Responder {
 public:
  void Send(kafka::OutboundMessage message, SendTiming timing = {}) const;
  // Sends `message`, then closes the connection (a failed SASL authentication).
  void SendAndClose(kafka::OutboundMessage message) const;
  // For requests that get no response (Produce with acks=0).
  void NoResponse() const;
  // Closes the connection once the responses before this one are written.
  void Close() const;

 private:
  friend class Connection;
  struct State;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace sluice::net
