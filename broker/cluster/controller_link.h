#pragma once
// The broker's connection to the controller quorum: registration, heartbeats (re-registering
// when fenced), the metadata long-poll that keeps the MetadataCache and hosted replicas current,
// and the forwarding of admin requests. Every call goes to the last known quorum leader; a
// voter that is not the leader answers Unavailable naming the leader (leader_hint.h), and the
// link switches there, or to the next voter when there is no hint or no answer. Runs on its
// own event loop, never on a client I/O thread, because applying metadata creates and deletes
// logs on disk.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "absl/status/statusor.h"
#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "protocol/metadata/controller_api.pb.h"
#include "protocol/rpc/client.h"
#include "protocol/rpc/proto_call.h"

namespace sluice::broker {

struct ControllerAddress {
  int32_t id = -1;  // -1: not known (controller.quorum.bootstrap.servers)
  std::string host;
  uint16_t port = 0;
};

// The controllers from controller.quorum.voters (id@host:port,...) or, when that is empty,
// controller.quorum.bootstrap.servers (host:port,...).
absl::StatusOr<std::vector<ControllerAddress>> ParseControllerAddresses(const std::string& voters,
                                                                        const std::string& bootstrap_servers);

struct ControllerLinkOptions {
  int32_t broker_id = 1;
  std::string advertised_host;  // of the inter-broker listener
  int32_t advertised_port = 0;
  std::vector<metadata::BrokerEndpoint> endpoints;  // every advertised listener
  std::string rack;
  std::vector<ControllerAddress> controllers;
  rpc::ClientOptions rpc;  // TLS to the controllers
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
  // From now on a fence is final: the broker is going away (controlled shutdown).
  void BeginControlledShutdown() { shutting_down_ = true; }
  int64_t broker_epoch() const { return broker_epoch_.load(); }
  // The controllers' addresses (ids when configured), e.g. for DescribeQuorum's nodes.
  const std::vector<ControllerAddress>& controllers() const { return options_.controllers; }

  // Sends a request to the quorum leader; `done` runs on the link's event loop. While the call
  // fails with Unavailable (a controller restarting, an election, a voter that is not the
  // leader) it is retried, following the leader, until kAdminTimeoutMs. Thread-safe.
  template <class Req, class Resp>
  void Forward(metadata::Method method, const Req& request, std::function<void(absl::StatusOr<Resp>)> done) {
    ForwardUntil<Req, Resp>(method, request, std::chrono::steady_clock::now() + std::chrono::milliseconds(kAdminTimeoutMs),
                            /*idempotent=*/false, std::move(done));
  }

  static constexpr int kAdminTimeoutMs = 30000;

 private:
  using Deadline = std::chrono::steady_clock::time_point;
  struct Endpoint {
    ControllerAddress address;
    std::unique_ptr<rpc::Client> client;
  };

  // Unavailable (no leader here, or no connection) is retried for every request. Only an
  // `idempotent` one (heartbeat, registration) is also retried after an unanswered attempt,
  // which may have been carried out: its attempts are short, so a leader that stopped
  // answering is left in time.
  template <class Req, class Resp>
  void ForwardUntil(metadata::Method method, Req request, Deadline deadline, bool idempotent,
                    std::function<void(absl::StatusOr<Resp>)> done) {
    const size_t target = leader_.load();
    rpc::CallProto<Req, Resp>(
        *endpoints_[target].client, static_cast<uint16_t>(method), request, AttemptTimeoutMs(deadline, idempotent),
        [this, target, method, request, deadline, idempotent,
         done = std::move(done)](absl::StatusOr<Resp> response) mutable {
          if (response.ok() || !Retryable(response.status(), idempotent) || stopping_ ||
              std::chrono::steady_clock::now() >= deadline) {
            return done(std::move(response));
          }
          Retry(FollowLeader(target, response.status()),
                [this, method, request = std::move(request), deadline, idempotent, done = std::move(done)]() mutable {
                  ForwardUntil<Req, Resp>(method, std::move(request), deadline, idempotent, std::move(done));
                });
        });
  }
  template <class Req, class Resp>
  void SendIdempotent(metadata::Method method, const Req& request, std::function<void(absl::StatusOr<Resp>)> done) {
    ForwardUntil<Req, Resp>(method, request, std::chrono::steady_clock::now() + std::chrono::milliseconds(kAdminTimeoutMs),
                            /*idempotent=*/true, std::move(done));
  }

  static bool Retryable(const absl::Status& status, bool idempotent);
  int AttemptTimeoutMs(Deadline deadline, bool idempotent) const;
  // After `target` failed with `status`: moves to the hinted leader or the next controller.
  // Returns whether the next attempt goes to a newly learned leader (worth trying at once).
  bool FollowLeader(size_t target, const absl::Status& status);
  void Retry(bool now, std::function<void()> action);

  void Register();
  void ScheduleHeartbeat();
  void FetchMetadata();
  void ApplyFetched(const metadata::FetchMetadataResponse& response);

  asio::io_context& io_;
  ControllerLinkOptions options_;
  MetadataCache& cache_;
  PartitionManager& partitions_;
  std::vector<Endpoint> endpoints_;  // fixed after construction; calls pick one by index
  std::atomic<size_t> leader_{0};
  asio::steady_timer heartbeat_timer_;
  std::atomic<int64_t> broker_epoch_{-1};
  const uint64_t incarnation_id_;  // this process's, sent with every registration
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> shutting_down_{false};
  bool fetching_ = false;
  // The metadata long poll (event loop only): which call is current, and to which voter.
  uint64_t fetch_generation_ = 0;
  size_t fetch_target_ = 0;
  bool fetch_in_flight_ = false;
  std::shared_ptr<metadata::MetadataImage> image_;  // the link's working copy
};

}  // namespace sluice::broker
