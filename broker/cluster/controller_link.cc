#include "broker/cluster/controller_link.h"

#include <algorithm>
#include <random>

#include <asio/post.hpp>
#include <fmt/format.h>

#include "common/absl_compat.h"
#include "common/endpoint.h"
#include "common/log.h"
#include "protocol/metadata/leader_hint.h"
#include "protocol/metadata/quorum_voters.h"

namespace sluice::broker {
namespace {
constexpr int kFetchMaxWaitMs = 5000;
// A long-poll answers within max_wait; beyond this margin the controller is presumed gone.
constexpr int kFetchMarginMs = 2000;
// A heartbeat or registration unanswered for this long (at least) goes to another voter: a
// leader that stopped without closing its connections (paused, cut off) is left within a second.
constexpr int64_t kMinAttemptTimeoutMs = 1000;
constexpr int kRetryDelayMs = 200;

uint64_t NewIncarnationId() {
  std::random_device device;
  std::mt19937_64 random((static_cast<uint64_t>(device()) << 32) ^ device());
  uint64_t id = 0;
  while (id == 0) id = random();
  return id;
}
}  // namespace

absl::StatusOr<std::vector<ControllerAddress>> ParseControllerAddresses(const std::string& voters,
                                                                        const std::string& bootstrap_servers) {
  std::vector<ControllerAddress> out;
  if (!voters.empty()) {
    auto parsed = metadata::ParseQuorumVoters(voters);
    if (!parsed.ok()) return absl::InvalidArgumentError(fmt::format("controller.quorum.voters: {}", parsed.status().message()));
    for (const auto& [id, address] : *parsed) out.push_back({id, address.host, address.port});
    return out;
  }
  size_t start = 0;
  while (start < bootstrap_servers.size()) {
    size_t end = bootstrap_servers.find(',', start);
    if (end == std::string::npos) end = bootstrap_servers.size();
    const std::string item = bootstrap_servers.substr(start, end - start);
    start = end + 1;
    if (item.find_first_not_of(' ') == std::string::npos) continue;
    auto address = ParseEndpoint(item.substr(item.find_first_not_of(' ')));
    if (!address.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("controller.quorum.bootstrap.servers: {}", address.status().message()));
    }
    out.push_back({-1, address->host, address->port});
  }
  if (out.empty()) return absl::InvalidArgumentError("no controller given: set controller.quorum.voters");
  return out;
}

ControllerLink::ControllerLink(asio::io_context& io, ControllerLinkOptions options, MetadataCache& cache,
                               PartitionManager& partitions)
    : io_(io),
      options_(std::move(options)),
      cache_(cache),
      partitions_(partitions),
      heartbeat_timer_(io),
      incarnation_id_(NewIncarnationId()),
      image_(std::make_shared<metadata::MetadataImage>()) {
  for (const ControllerAddress& address : options_.controllers) {
    endpoints_.push_back({address, std::make_unique<rpc::Client>(io, address.host, address.port, options_.rpc)});
  }
}

void ControllerLink::Start() {
  asio::post(io_, [this] { Register(); });
}

void ControllerLink::Stop() {
  stopping_ = true;
  asio::post(io_, [this] {
    heartbeat_timer_.cancel();
    for (Endpoint& endpoint : endpoints_) endpoint.client->Close();
  });
}

bool ControllerLink::Retryable(const absl::Status& status, bool idempotent) {
  return status.code() == absl::StatusCode::kUnavailable ||
         (idempotent && status.code() == absl::StatusCode::kDeadlineExceeded);
}

int ControllerLink::AttemptTimeoutMs(Deadline deadline, bool idempotent) const {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
  const int64_t attempt = std::max(kMinAttemptTimeoutMs, 2 * options_.heartbeat_interval_ms);
  return static_cast<int>(std::max<int64_t>(1, idempotent ? std::min<int64_t>(left, attempt) : left));
}

bool ControllerLink::FollowLeader(size_t target, const absl::Status& status) {
  size_t next = (target + 1) % endpoints_.size();
  bool learned = false;
  if (auto hint = metadata::ParseLeaderHint(status)) {
    for (size_t i = 0; i < endpoints_.size(); ++i) {
      const ControllerAddress& a = endpoints_[i].address;
      if (a.id == hint->leader_id || (a.host == hint->host && a.port == hint->port)) {
        next = i;
        learned = i != target;
        break;
      }
    }
  }
  // Another call may have found the leader meanwhile; it wins.
  size_t expected = target;
  if (leader_.compare_exchange_strong(expected, next) && next != target) {
    const ControllerAddress& a = endpoints_[next].address;
    log::Info("broker {}: controller {}:{} answered '{}'; trying {}:{}", options_.broker_id,
              endpoints_[target].address.host, endpoints_[target].address.port, status.message(), a.host, a.port);
    // The metadata long poll may still wait on the voter just left: ask the new one now.
    asio::post(io_, [this] {
      if (!stopping_ && fetch_in_flight_ && fetch_target_ != leader_.load()) FetchMetadata();
    });
  }
  return learned || expected != target;
}

void ControllerLink::Retry(bool now, std::function<void()> action) {
  if (stopping_) return;
  if (now) {
    asio::post(io_, [this, action = std::move(action)] {
      if (!stopping_) action();
    });
    return;
  }
  // One timer per retry: registration, metadata fetches and admin calls retry independently.
  auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(kRetryDelayMs));
  timer->async_wait([this, timer, action = std::move(action)](const asio::error_code& ec) {
    if (!ec && !stopping_) action();
  });
}

void ControllerLink::Register() {
  metadata::RegisterBrokerRequest request;
  request.set_broker_id(options_.broker_id);
  request.set_host(options_.advertised_host);
  request.set_port(options_.advertised_port);
  for (const metadata::BrokerEndpoint& endpoint : options_.endpoints) *request.add_endpoints() = endpoint;
  request.set_rack(options_.rack);
  request.set_heartbeat_interval_ms(options_.heartbeat_interval_ms);
  request.set_incarnation_id(incarnation_id_);
  SendIdempotent<metadata::RegisterBrokerRequest, metadata::RegisterBrokerResponse>(
      metadata::REGISTER_BROKER, request, [this](absl::StatusOr<metadata::RegisterBrokerResponse> response) {
        if (stopping_) return;
        if (!response.ok()) {
          log::Warn("broker {}: registration with the controller quorum failed ({}); retrying", options_.broker_id,
                    response.status());
          return Retry(false, [this] { Register(); });
        }
        log::Info("broker {}: registered with epoch {}", options_.broker_id, response->broker_epoch());
        broker_epoch_ = response->broker_epoch();
        ScheduleHeartbeat();
        if (!fetching_) {
          fetching_ = true;
          FetchMetadata();
        }
      });
}

void ControllerLink::ScheduleHeartbeat() {
  heartbeat_timer_.expires_after(std::chrono::milliseconds(options_.heartbeat_interval_ms));
  heartbeat_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopping_) return;
    metadata::BrokerHeartbeatRequest request;
    request.set_broker_id(options_.broker_id);
    request.set_broker_epoch(broker_epoch_);
    request.set_heartbeat_interval_ms(options_.heartbeat_interval_ms);
    SendIdempotent<metadata::BrokerHeartbeatRequest, metadata::BrokerHeartbeatResponse>(
        metadata::BROKER_HEARTBEAT, request, [this](absl::StatusOr<metadata::BrokerHeartbeatResponse> response) {
          if (stopping_) return;
          if (response.ok() && response->fenced()) {
            if (shutting_down_) {
              // The controlled shutdown fenced this broker on purpose; it stays fenced.
              log::Info("broker {}: fenced for the controlled shutdown", options_.broker_id);
              return;
            }
            log::Warn("broker {}: the controller fenced epoch {}; registering again", options_.broker_id,
                      broker_epoch_.load());
            return Register();
          }
          if (!response.ok()) log::Warn("broker {}: heartbeat failed: {}", options_.broker_id, response.status());
          ScheduleHeartbeat();
        });
  });
}

void ControllerLink::FetchMetadata() {
  metadata::FetchMetadataRequest request;
  request.set_after_offset(image_->offset());
  request.set_max_wait_ms(ready_ ? kFetchMaxWaitMs : 0);
  request.set_broker_id(options_.broker_id);
  const size_t target = leader_.load();
  // A fetch started anew (the leader moved) supersedes the one in flight: its answer is dropped.
  const uint64_t generation = ++fetch_generation_;
  fetch_target_ = target;
  fetch_in_flight_ = true;
  rpc::CallProto<metadata::FetchMetadataRequest, metadata::FetchMetadataResponse>(
      *endpoints_[target].client, metadata::FETCH_METADATA, request, request.max_wait_ms() + kFetchMarginMs,
      [this, target, generation](absl::StatusOr<metadata::FetchMetadataResponse> response) {
        if (stopping_ || generation != fetch_generation_) return;
        fetch_in_flight_ = false;
        if (!response.ok()) {
          log::Warn("broker {}: metadata fetch failed: {}", options_.broker_id, response.status());
          return Retry(Retryable(response.status(), /*idempotent=*/true) && FollowLeader(target, response.status()),
                       [this] { FetchMetadata(); });
        }
        ApplyFetched(*response);
        FetchMetadata();
      });
}

void ControllerLink::ApplyFetched(const metadata::FetchMetadataResponse& response) {
  const bool changed = response.has_snapshot() || response.entries_size() > 0;
  if (response.has_snapshot()) {
    absl::StatusOr<metadata::MetadataImage> restored = metadata::FromSnapshot(response.snapshot());
    if (!restored.ok()) {
      log::Error("broker {}: cannot load the metadata snapshot at {}: {}", options_.broker_id,
                 response.snapshot().offset(), restored.status());
      return;
    }
    log::Info("broker {}: loaded the metadata image at offset {} from a snapshot", options_.broker_id,
              response.snapshot().offset());
    image_ = std::make_shared<metadata::MetadataImage>(std::move(*restored));
  }
  if (response.entries_size() > 0) {
    auto next = std::make_shared<metadata::MetadataImage>(*image_);
    for (const auto& entry : response.entries()) {
      // The controllers skipped the same record; skipping keeps this image equal to theirs.
      if (absl::Status status = next->ApplyEntry(entry.records(), entry.offset()); !status.ok()) {
        log::Error("broker {}: a record of metadata entry {} did not apply and was skipped: {}", options_.broker_id,
                   entry.offset(), status);
      }
    }
    image_ = next;
  }
  const bool caught_up = image_->offset() >= response.committed_offset();
  if (changed || (caught_up && !ready_)) {
    // Published first: replicas taking a new role consult the image.
    cache_.Publish(image_);
    partitions_.Apply(*image_, caught_up);
  }
  if (caught_up && !ready_) {
    ready_ = true;
    log::Info("broker {}: metadata caught up at offset {}", options_.broker_id, image_->offset());
  }
}

}  // namespace sluice::broker
