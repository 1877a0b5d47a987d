#pragma once
// The broker's connection to the controller: registration, heartbeats (re-registering when
// fenced), the metadata long-poll that keeps the MetadataCache and hosted replicas current,
// and the forwarding of admin requests. Runs on its own event loop, never on a client I/O
// thread, because applying metadata creates and deletes logs on disk.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "protocol/metadata/controller_api.pb.h"
#include "protocol/rpc/client.h"
#include "protocol/rpc/proto_call.h"

namespace sluice::broker {

struct ControllerLinkOptions {
  int32_t broker_id = 1;
  std::string advertised_host;
  int32_t advertised_port = 0;
  std::string rack;
  std::string controller_host;
  uint16_t controller_port = 0;
  int64_t heartbeat_interval_ms = 2000;
};

class ControllerLink {
 public:
  ControllerLink(asio::io_context& io, ControllerLinkOptions options, MetadataCache& cache,
                 PartitionManager& partitions);
  void Start();
  void Stop();

  // True once registered and the metadata image has caught up with the controller once.
  bool ready() const { return ready_.load(); }
  int64_t broker_epoch() const { return broker_epoch_.load(); }

  // Sends an admin request to the controller; `done` runs on the link's event loop. While the
  // controller is unreachable (restarting, say) the call is retried until kAdminTimeoutMs.
  template <class Req, class Resp>
  void Forward(metadata::Method method, const Req& request, std::function<void(absl::StatusOr<Resp>)> done) {
    ForwardUntil<Req, Resp>(method, request, std::chrono::steady_clock::now() + std::chrono::milliseconds(kAdminTimeoutMs),
                            std::move(done));
  }

  static constexpr int kAdminTimeoutMs = 30000;

 private:
  template <class Req, class Resp>
  void ForwardUntil(metadata::Method method, Req request, std::chrono::steady_clock::time_point deadline,
                    std::function<void(absl::StatusOr<Resp>)> done) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    rpc::CallProto<Req, Resp>(
        client_, static_cast<uint16_t>(method), request, static_cast<int>(std::max<int64_t>(1, left.count())),
        [this, method, request, deadline, done = std::move(done)](absl::StatusOr<Resp> response) mutable {
          if (response.ok() || response.status().code() != absl::StatusCode::kUnavailable || stopping_ ||
              std::chrono::steady_clock::now() >= deadline) {
            return done(std::move(response));
          }
          RetryLater([this, method, request = std::move(request), deadline, done = std::move(done)]() mutable {
            ForwardUntil<Req, Resp>(method, std::move(request), deadline, std::move(done));
          });
        });
  }

  void Register();
  void ScheduleHeartbeat();
  void FetchMetadata();
  void RetryLater(std::function<void()> action);

  asio::io_context& io_;
  ControllerLinkOptions options_;
  MetadataCache& cache_;
  PartitionManager& partitions_;
  rpc::Client client_;
  asio::steady_timer heartbeat_timer_;
  std::atomic<int64_t> broker_epoch_{-1};
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopping_{false};
  bool fetching_ = false;
  std::shared_ptr<metadata::MetadataImage> image_;  // the link's working copy
};

}  // namespace sluice::broker
