#include "controller/service/controller_service.h"

#include <asio/post.hpp>

#include "common/absl_compat.h"
#include "common/log.h"
#include "protocol/rpc/proto_call.h"

namespace sluice::controller {

ControllerService::ControllerService(asio::io_context& network, asio::io_context& events, Controller& controller,
                                     std::string host, uint16_t port, int64_t lease_check_interval_ms)
    : events_(events),
      controller_(controller),
      server_(network, std::move(host), port),
      lease_check_interval_ms_(lease_check_interval_ms),
      lease_timer_(events) {
  Bind(metadata::REGISTER_BROKER, &Controller::RegisterBroker);
  Bind(metadata::BROKER_HEARTBEAT, &Controller::Heartbeat);
  Bind(metadata::CREATE_TOPICS, &Controller::CreateTopics);
  Bind(metadata::DELETE_TOPICS, &Controller::DeleteTopics);
  Bind(metadata::CREATE_PARTITIONS, &Controller::CreatePartitions);
  Bind(metadata::ALTER_CONFIGS, &Controller::AlterConfigs);
  Bind(metadata::ALLOCATE_PRODUCER_IDS, &Controller::AllocateProducerIds);
  rpc::RegisterProto<metadata::FetchMetadataRequest, metadata::FetchMetadataResponse>(
      server_, metadata::FETCH_METADATA, [this](const auto& request, auto reply) {
        asio::post(events_, [this, request, reply = std::move(reply)]() mutable { HandleFetch(request, std::move(reply)); });
      });
}

template <class Req, class Resp>
void ControllerService::Bind(metadata::Method method, absl::StatusOr<Resp> (Controller::*op)(const Req&)) {
  rpc::RegisterProto<Req, Resp>(server_, method, [this, op](const Req& request, auto reply) {
    asio::post(events_, [this, op, request, reply = std::move(reply)]() {
      const int64_t before = controller_.image().offset();
      absl::StatusOr<Resp> response = (controller_.*op)(request);
      if (!response.ok()) log::Warn("controller: {} failed: {}", Req::descriptor()->name(), response.status());
      reply(std::move(response));
      if (controller_.image().offset() != before) WakeParkedFetches();
    });
  });
}

void ControllerService::HandleFetch(const metadata::FetchMetadataRequest& request,
                                    std::function<void(absl::StatusOr<metadata::FetchMetadataResponse>)> reply) {
  auto response = controller_.FetchMetadata(request.after_offset());
  if (!response.ok() || response->entries_size() > 0 || request.max_wait_ms() <= 0) return reply(std::move(response));
  auto parked = std::make_shared<ParkedFetch>(
      ParkedFetch{request.after_offset(), std::move(reply), std::make_unique<asio::steady_timer>(events_)});
  parked_.push_back(parked);
  parked->deadline->expires_after(std::chrono::milliseconds(request.max_wait_ms()));
  // A deadline that fires after a commit already answered the fetch finds `reply` empty.
  parked->deadline->async_wait([this, parked](const asio::error_code&) {
    if (!parked->reply) return;
    std::exchange(parked->reply, nullptr)(controller_.FetchMetadata(parked->after_offset));
    parked_.remove(parked);
  });
}

void ControllerService::WakeParkedFetches() {
  for (auto& parked : parked_) {
    parked->deadline->cancel();
    std::exchange(parked->reply, nullptr)(controller_.FetchMetadata(parked->after_offset));
  }
  parked_.clear();
}

void ControllerService::ScheduleLeaseCheck() {
  lease_timer_.expires_after(std::chrono::milliseconds(lease_check_interval_ms_));
  lease_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec) return;
    const int64_t before = controller_.image().offset();
    if (absl::Status status = controller_.ExpireBrokerLeases(); !status.ok()) {
      log::Error("controller: lease expiry failed: {}", status);
    }
    if (controller_.image().offset() != before) WakeParkedFetches();
    ScheduleLeaseCheck();
  });
}

absl::Status ControllerService::Start() {
  absl::Status status = server_.Start();
  if (status.ok()) asio::post(events_, [this] { ScheduleLeaseCheck(); });
  return status;
}

void ControllerService::Stop() {
  server_.Stop();
  asio::post(events_, [this] {
    lease_timer_.cancel();
    for (auto& parked : parked_) parked->deadline->cancel();
    parked_.clear();
  });
}

}  // namespace sluice::controller
