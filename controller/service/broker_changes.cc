#include "controller/service/broker_changes.h"

#include <fmt/format.h>

#include "controller/service/partition_rules.h"
#include "protocol/kafka/uuid.h"

namespace sluice::controller {

using metadata::Record;

absl::StatusOr<metadata::RegisterBrokerResponse> PlanRegisterBroker(const metadata::RegisterBrokerRequest& request,
                                                                    PlanContext& ctx) {
  if (request.broker_id() < 0) return absl::InvalidArgumentError("broker id must be non-negative");
  if (request.port() <= 0 || request.port() > 65535) return absl::InvalidArgumentError("broker port out of range");
  Record record;
  auto* r = record.mutable_broker_registration();
  r->set_broker_id(request.broker_id());
  r->set_broker_epoch(0);  // the offset of the entry that commits it
  r->set_host(request.host());
  r->set_port(request.port());
  r->set_rack(request.rack());
  ctx.records.push_back(std::move(record));
  const Liveness live{.image = ctx.image, .up = {request.broker_id()}};
  for (Record& election : ElectOfflineLeaders(ctx.image, live, ctx.options.unclean_leader_election)) {
    ctx.records.push_back(std::move(election));
  }
  return metadata::RegisterBrokerResponse();
}

void PlanFenceBrokers(const std::set<int32_t>& brokers, PlanContext& ctx) {
  for (Record& record : FenceBrokers(ctx.image, brokers, ctx.options.unclean_leader_election)) {
    ctx.records.push_back(std::move(record));
  }
}

absl::StatusOr<metadata::ControlledShutdownResponse> PlanControlledShutdown(
    const metadata::ControlledShutdownRequest& request, PlanContext& ctx) {
  const metadata::BrokerInfo* broker = ctx.image.FindBroker(request.broker_id());
  if (broker == nullptr || broker->epoch != request.broker_epoch()) {
    return absl::FailedPreconditionError(fmt::format("STALE_BROKER_EPOCH: broker {} epoch {} is not registered",
                                                     request.broker_id(), request.broker_epoch()));
  }
  const size_t first = ctx.records.size();
  PlanFenceBrokers({request.broker_id()}, ctx);
  metadata::ControlledShutdownResponse response;
  int32_t offline = 0;
  for (size_t i = first; i < ctx.records.size(); ++i) {
    const Record& record = ctx.records[i];
    if (!record.has_partition() || record.partition().leader() >= 0) continue;
    auto topic = ctx.image.FindTopicById(metadata::ToTopicId(record.partition().topic_id()));
    if (topic && topic->partitions[record.partition().partition()].leader == request.broker_id()) ++offline;
  }
  response.set_remaining_leaderships(offline);
  return response;
}

absl::StatusOr<metadata::AllocateProducerIdsResponse> PlanAllocateProducerIds(
    const metadata::AllocateProducerIdsRequest& request, PlanContext& ctx) {
  const metadata::BrokerInfo* broker = ctx.image.FindBroker(request.broker_id());
  if (broker == nullptr || broker->epoch != request.broker_epoch()) {
    return absl::FailedPreconditionError(
        fmt::format("broker {} epoch {} is not registered", request.broker_id(), request.broker_epoch()));
  }
  Record record;
  auto* r = record.mutable_producer_id_block();
  r->set_broker_id(request.broker_id());
  r->set_first_producer_id(ctx.image.next_producer_id());
  r->set_size(ctx.options.producer_id_block_size);
  metadata::AllocateProducerIdsResponse response;
  response.set_first_producer_id(r->first_producer_id());
  response.set_size(r->size());
  ctx.records.push_back(std::move(record));
  return response;
}

void PlanMintClusterId(PlanContext& ctx) {
  if (!ctx.image.cluster_id().empty()) return;
  // Kafka's form: 16 random bytes in URL-safe base64 without padding.
  kafka::Uuid uuid;
  for (auto& b : uuid.bytes) b = static_cast<uint8_t>(ctx.random());
  const std::string id = uuid.ToString();
  Record record;
  record.mutable_cluster_id()->set_cluster_id(id);
  ctx.records.push_back(std::move(record));
}

}  // namespace sluice::controller
