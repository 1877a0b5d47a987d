#include "controller/service/controller_service.h"

#include <asio/post.hpp>

#include "protocol/rpc/proto_call.h"

namespace sluice::controller {
namespace {

bool HasNews(const absl::StatusOr<metadata::FetchMetadataResponse>& response) {
  return !response.ok() || response->entries_size() > 0 || response->has_snapshot();
}

}  // namespace

template <class Req, class Resp>
void ControllerService::Bind(rpc::Server& server, metadata::Method method,
                             void (Controller::*op)(const Req&, std::function<void(absl::StatusOr<Resp>)>)) {
  rpc::RegisterProto<Req, Resp>(server, method, [this, op](const Req& request, auto reply) {
    asio::post(events_, [this, op, request, reply = std::move(reply)]() mutable {
      (controller_.*op)(request, std::move(reply));
    });
  });
}

ControllerService::ControllerService(rpc::Server& server, asio::io_context& events, Controller& controller,
                                     int64_t tick_interval_ms)
    : events_(events), controller_(controller), tick_interval_ms_(tick_interval_ms), tick_timer_(events) {
  rpc::RegisterProtoWithSession<metadata::RegisterBrokerRequest, metadata::RegisterBrokerResponse>(
      server, metadata::REGISTER_BROKER, [this](rpc::Server::SessionId session, const auto& request, auto reply) {
        asio::post(events_, [this, session, request, reply = std::move(reply)]() mutable {
          controller_.RegisterBroker(session, request, std::move(reply));
        });
      });
  rpc::RegisterProtoWithSession<metadata::BrokerHeartbeatRequest, metadata::BrokerHeartbeatResponse>(
      server, metadata::BROKER_HEARTBEAT, [this](rpc::Server::SessionId session, const auto& request, auto reply) {
        asio::post(events_, [this, session, request, reply = std::move(reply)]() mutable {
          controller_.Heartbeat(session, request, std::move(reply));
        });
      });
  server.OnSessionClosed([this](rpc::Server::SessionId session) {
    asio::post(events_, [this, session] { controller_.OnSessionClosed(session); });
  });
  Bind(server, metadata::CREATE_TOPICS, &Controller::CreateTopics);
  Bind(server, metadata::DELETE_TOPICS, &Controller::DeleteTopics);
  Bind(server, metadata::CREATE_PARTITIONS, &Controller::CreatePartitions);
  Bind(server, metadata::ALTER_CONFIGS, &Controller::AlterConfigs);
  Bind(server, metadata::ALLOCATE_PRODUCER_IDS, &Controller::AllocateProducerIds);
  Bind(server, metadata::ALTER_PARTITION, &Controller::AlterPartition);
  Bind(server, metadata::CONTROLLED_SHUTDOWN, &Controller::ControlledShutdown);
  Bind(server, metadata::REPORT_REPLICAS, &Controller::ReportReplicas);
  Bind(server, metadata::ELECT_LEADERS, &Controller::ElectLeaders);
  Bind(server, metadata::ALTER_REASSIGNMENTS, &Controller::AlterReassignments);
  Bind(server, metadata::LIST_REASSIGNMENTS, &Controller::ListReassignments);
  Bind(server, metadata::CREATE_ACLS, &Controller::CreateAcls);
  Bind(server, metadata::DELETE_ACLS, &Controller::DeleteAcls);
  Bind(server, metadata::ALTER_USER_SCRAM_CREDENTIALS, &Controller::AlterUserScramCredentials);
  rpc::RegisterProto<metadata::DescribeQuorumRequest, metadata::DescribeQuorumResponse>(
      server, metadata::DESCRIBE_QUORUM, [this](const auto&, auto reply) {
        asio::post(events_, [this, reply = std::move(reply)]() mutable { controller_.DescribeQuorum(std::move(reply)); });
      });
  rpc::RegisterProto<metadata::FetchMetadataRequest, metadata::FetchMetadataResponse>(
      server, metadata::FETCH_METADATA, [this](const auto& request, auto reply) {
        asio::post(events_, [this, request, reply = std::move(reply)]() mutable { HandleFetch(request, std::move(reply)); });
      });
  controller_.set_on_change([this] { WakeParkedFetches(); });
}

void ControllerService::HandleFetch(const metadata::FetchMetadataRequest& request,
                                    std::function<void(absl::StatusOr<metadata::FetchMetadataResponse>)> reply) {
  auto response = controller_.FetchMetadata(request);
  if (HasNews(response) || request.max_wait_ms() <= 0) return reply(std::move(response));
  auto parked = std::make_shared<ParkedFetch>(
      ParkedFetch{request, std::move(reply), std::make_unique<asio::steady_timer>(events_)});
  parked_.push_back(parked);
  parked->deadline->expires_after(std::chrono::milliseconds(request.max_wait_ms()));
  // A deadline that fires after a change already answered the fetch finds `reply` empty.
  parked->deadline->async_wait([this, parked](const asio::error_code&) {
    if (!parked->reply) return;
    std::exchange(parked->reply, nullptr)(controller_.FetchMetadata(parked->request));
    parked_.remove(parked);
  });
}

void ControllerService::WakeParkedFetches() {
  for (auto it = parked_.begin(); it != parked_.end();) {
    auto response = controller_.FetchMetadata((*it)->request);
    if (!HasNews(response)) {
      ++it;
      continue;
    }
    (*it)->deadline->cancel();
    std::exchange((*it)->reply, nullptr)(std::move(response));
    it = parked_.erase(it);
  }
}

void ControllerService::ScheduleTick() {
  tick_timer_.expires_after(std::chrono::milliseconds(tick_interval_ms_));
  tick_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec) return;
    controller_.Tick();
    ScheduleTick();
  });
}

void ControllerService::Start() {
  asio::post(events_, [this] { ScheduleTick(); });
}

void ControllerService::Stop() {
  asio::post(events_, [this] {
    tick_timer_.cancel();
    for (auto& parked : parked_) {
      parked->deadline->cancel();
      if (parked->reply) std::exchange(parked->reply, nullptr)(absl::UnavailableError("controller stopping"));
    }
    parked_.clear();
  });
}

}  // namespace sluice::controller
