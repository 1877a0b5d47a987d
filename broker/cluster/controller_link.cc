#include "broker/cluster/controller_link.h"

#include <asio/post.hpp>

#include "common/absl_compat.h"
#include "common/log.h"

namespace sluice::broker {
namespace {
constexpr int kFetchMaxWaitMs = 5000;
constexpr int kRetryDelayMs = 500;
}  // namespace

ControllerLink::ControllerLink(asio::io_context& io, ControllerLinkOptions options, MetadataCache& cache,
                               PartitionManager& partitions)
    : io_(io),
      options_(std::move(options)),
      cache_(cache),
      partitions_(partitions),
      client_(io, options_.controller_host, options_.controller_port),
      heartbeat_timer_(io),
      image_(std::make_shared<metadata::MetadataImage>()) {}

void ControllerLink::Start() {
  asio::post(io_, [this] { Register(); });
}

void ControllerLink::Stop() {
  stopping_ = true;
  asio::post(io_, [this] {
    heartbeat_timer_.cancel();
    client_.Close();
  });
}

void ControllerLink::RetryLater(std::function<void()> action) {
  if (stopping_) return;
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
  request.set_rack(options_.rack);
  Forward<metadata::RegisterBrokerRequest, metadata::RegisterBrokerResponse>(
      metadata::REGISTER_BROKER, request, [this](absl::StatusOr<metadata::RegisterBrokerResponse> response) {
        if (stopping_) return;
        if (!response.ok()) {
          log::Warn("broker {}: registration with controller {}:{} failed ({}); retrying", options_.broker_id,
                    options_.controller_host, options_.controller_port, response.status());
          return RetryLater([this] { Register(); });
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
    Forward<metadata::BrokerHeartbeatRequest, metadata::BrokerHeartbeatResponse>(
        metadata::BROKER_HEARTBEAT, request, [this](absl::StatusOr<metadata::BrokerHeartbeatResponse> response) {
          if (stopping_) return;
          if (response.ok() && response->fenced()) {
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
  rpc::CallProto<metadata::FetchMetadataRequest, metadata::FetchMetadataResponse>(
      client_, metadata::FETCH_METADATA, request, kFetchMaxWaitMs + 5000,
      [this](absl::StatusOr<metadata::FetchMetadataResponse> response) {
        if (stopping_) return;
        if (!response.ok()) {
          log::Warn("broker {}: metadata fetch failed: {}", options_.broker_id, response.status());
          return RetryLater([this] { FetchMetadata(); });
        }
        if (response->entries_size() > 0) {
          auto next = std::make_shared<metadata::MetadataImage>(*image_);
          for (const auto& entry : response->entries()) {
            for (const auto& record : entry.records()) {
              if (absl::Status status = next->Apply(record, entry.offset()); !status.ok()) {
                log::Error("broker {}: cannot apply metadata record {}: {}", options_.broker_id, entry.offset(), status);
                return RetryLater([this] { FetchMetadata(); });
              }
            }
          }
          image_ = next;
        }
        const bool caught_up = image_->offset() >= response->committed_offset();
        if (response->entries_size() > 0 || (caught_up && !ready_)) {
          // Published first: replicas taking a new role consult the image.
          cache_.Publish(image_);
          partitions_.Apply(*image_, caught_up);
        }
        if (caught_up && !ready_) {
          ready_ = true;
          log::Info("broker {}: metadata caught up at offset {}", options_.broker_id, image_->offset());
        }
        FetchMetadata();
      });
}

}  // namespace sluice::broker
