#pragma once
// The admin HTTP listener of both processes (admin.listeners): /healthz, /readyz and
// /metrics, served by cpp-httplib on threads of its own, never on a Kafka shard or the Raft
// loop. What "ready" means is the process's business: it passes a function that says why it
// is not ready yet (empty when it is).

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/endpoint.h"
#include "common/metrics/registry.h"

namespace httplib {
class Server;
}

namespace sluice::admin {

class AdminServer {
 public:
  using NotReadyReason = std::function<std::string()>;
  AdminServer(HostPort listen, const metrics::Registry& metrics, NotReadyReason not_ready);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Serves GET `path` with the JSON `body()` returns (before Start).
  void AddJsonRoute(std::string path, std::function<std::string()> body);
  // Binds (port 0: any free port) and starts serving.
  absl::Status Start();
  uint16_t port() const { return port_; }
  void Stop();

 private:
  HostPort listen_;
  const metrics::Registry& metrics_;
  NotReadyReason not_ready_;
  std::vector<std::pair<std::string, std::function<std::string()>>> json_routes_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace sluice::admin
