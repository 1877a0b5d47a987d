#pragma once
// Client side of the controller<->broker RPC. One TCP connection, opened on the first call
// and reopened on the next call after a failure. Calls are pipelined and matched to replies
// by correlation id.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <asio/io_context.hpp>

#include "absl/status/statusor.h"
#include "protocol/rpc/frame.h"

namespace sluice::net {
class ReloadingTlsContext;
}

namespace sluice::rpc {

struct ClientOptions {
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  // Bounds connect + handshake even for calls without a timeout.
  int connect_timeout_ms = 5000;
  // Set: the connection speaks TLS, checking that the server's certificate names `host` when
  // `verify_host`.
  std::shared_ptr<net::ReloadingTlsContext> tls;
  bool verify_host = true;
};

class Client {
 public:
  using Done = std::function<void(absl::StatusOr<std::string>)>;

  Client(asio::io_context& io, std::string host, uint16_t port, ClientOptions options = {});
  // Close()s; `done` of calls still pending runs later on the io_context with Cancelled.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Thread-safe. `done` runs exactly once, on an io_context thread, with:
  //   the response payload; the status the server's handler replied with;
  //   DeadlineExceeded after `timeout_ms` (<= 0: no per-call timeout);
  //   Unavailable when the connection fails or drops before the reply;
  //   FailedPrecondition when the server speaks another protocol version;
  //   Cancelled after Close().
  void Call(uint16_t method, std::string payload, int timeout_ms, Done done);
  // Fails pending calls with Cancelled and closes the connection for good.
  void Close();

 private:
  class Core;
  std::shared_ptr<Core> core_;
};

}  // namespace sluice::rpc
