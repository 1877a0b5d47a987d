#pragma once
// The Kafka-protocol TCP listener: accepts connections onto an IoContextPool, reads
// size-prefixed request frames, hands each to a RequestHandler and writes the responses back
// in request order (see connection.h for the per-connection rules).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <asio/io_context.hpp>

#include "absl/status/status.h"
#include "protocol/net/io_context_pool.h"
#include "protocol/net/responder.h"

namespace sluice::net {

class ReloadingTlsContext;

struct ServerOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 9092;  // 0 = ephemeral
  int32_t max_request_bytes = 104857600;  // socket.request.max.bytes
  int64_t idle_timeout_ms = 600000;  // connections.max.idle.ms
  // Requests read but not yet answered; reading pauses at this many (back-pressure).
  int max_inflight_requests = 100;
  // File slices go out with sendfile(2); false reads them into memory first (tests). TLS
  // connections always do.
  bool zero_copy = true;
  // Set: connections speak TLS with the certificate it holds when they are accepted.
  std::shared_ptr<ReloadingTlsContext> tls;
  // Runs on the connection's thread when a TLS handshake fails (peer "host:port", reason).
  std::function<void(const std::string& peer, const std::string& reason)> on_tls_failure;
};

struct ConnectionInfo {
  uint64_t id = 0;
  std::string peer;  // "host:port"
  // The connection's io_context: post continuations here to resume on its thread.
  asio::io_context& io;
  // TLS: the subject of the client's verified certificate (RFC 2253), empty without one.
  std::string tls_peer_subject;
  // SASL state, kept by the request handler on the connection's thread: the mechanism a
  // SaslHandshake chose, and the principal ("User:NAME") once SaslAuthenticate succeeded.
  mutable std::string sasl_mechanism;
  mutable std::string principal;
  // After a SaslHandshake v0 the next frame is the client's bare SASL token, not a request.
  mutable bool sasl_token_next = false;
  // A multi-round SASL exchange in progress (SCRAM): its type is the SASL server's business,
  // the connection only keeps it alive until the login ends.
  mutable std::shared_ptr<void> sasl_exchange;
  // KIP-368: the mechanism of the login in force, and when its session ends (steady-clock ms;
  // 0: never). Past it the connection may only re-authenticate, which a SaslHandshake on a
  // logged-in connection starts.
  mutable std::string sasl_login_mechanism;
  mutable int64_t sasl_session_expires_ms = 0;
  mutable bool sasl_reauthenticating = false;
};

// Runs on the connection's io_context thread. `connection` is valid during the call (copy what
// a suspended handler needs; `io` itself lives as long as the pool). `frame` is the request
// without its size prefix; keep the shared_ptr to borrow from it while suspended.
using RequestHandler =
    std::function<void(const ConnectionInfo& connection, std::shared_ptr<const std::string> frame, Responder responder)>;

class KafkaServer {
 public:
  KafkaServer(IoContextPool& pool, ServerOptions options, RequestHandler handler);
  // Stop()s.
  ~KafkaServer();
  KafkaServer(const KafkaServer&) = delete;
  KafkaServer& operator=(const KafkaServer&) = delete;

  // Binds and listens synchronously, then accepts on the pool.
  absl::Status Start();
  uint16_t port() const;
  // Closes the listener, then every connection, and waits until they are closed. Call it from
  // outside the pool's threads and before the pool stops. Idempotent.
  void Stop();

 private:
  class Core;
  std::shared_ptr<Core> core_;
};

}  // namespace sluice::net
