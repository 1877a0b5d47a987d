#pragma once
// Server side of the controller<->broker RPC: accepts connections, answers the Hello, and
// dispatches each request frame to the handler registered for its method. Replies may come
// later and from any thread (long-poll); responses on one connection may leave in any order,
// the client matches them by correlation id.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <asio/io_context.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/rpc/frame.h"

namespace sluice::net {
class ReloadingTlsContext;
}

namespace sluice::rpc {

struct ServerOptions {
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  // Set: connections speak TLS (with ssl.client.auth=required, only clients whose certificates
  // the context's CAs signed get past the handshake).
  std::shared_ptr<net::ReloadingTlsContext> tls;
};

class Server {
 public:
  // Thread-safe; call exactly once (later calls are ignored with a log line). A Reply that is
  // destroyed without being called answers the caller with an Internal error.
  using Reply = std::function<void(absl::StatusOr<std::string>)>;
  // Runs on an io_context thread; `request_payload` is valid only during the call.
  using Handler = std::function<void(std::string_view request_payload, Reply reply)>;
  // Names the connection a request came on, unique for the server's lifetime.
  using SessionId = uint64_t;
  using SessionHandler = std::function<void(SessionId session, std::string_view request_payload, Reply reply)>;

  // port 0 = ephemeral (see port() after Start()).
  Server(asio::io_context& io, std::string host, uint16_t port, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // A later registration for the same method replaces the earlier one. Requests for methods
  // without a handler get Unimplemented.
  void Register(uint16_t method, Handler handler);
  // The same, for handlers that care which connection asked (e.g. to notice a peer's death).
  void RegisterWithSession(uint16_t method, SessionHandler handler);
  // Called on an io_context thread whenever a connection closes, for whatever reason. Set it
  // before Start().
  void OnSessionClosed(std::function<void(SessionId)> closed);
  // Binds and listens synchronously (so port() is known on return), then accepts on `io`.
  absl::Status Start();
  uint16_t port() const;
  // Closes the listener and every connection; in-flight replies are dropped. Call it from an
  // io_context handler, from a thread while another thread runs the io_context, or after the
  // io_context has stopped. Waits until the listening port is released. Idempotent.
  void Stop();

 private:
  class Core;
  std::shared_ptr<Core> core_;
};

}  // namespace sluice::rpc
