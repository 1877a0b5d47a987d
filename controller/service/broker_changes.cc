#include "controller/service/broker_changes.h"

#include <fmt/format.h>

#include "controller/service/partition_rules.h"
#include "protocol/kafka/uuid.h"

namespace sluice::controller {

using metadata::PartitionInfo;
using metadata::Record;

absl::StatusOr<metadata::RegisterBrokerResponse> PlanRegisterBroker(const metadata::RegisterBrokerRequest& request,
                                                                    PlanContext& ctx) {
  if (request.broker_id() < 0) return absl::InvalidArgumentError("broker id must be non-negative");
  if (request.port() <= 0 || request.port() > 65535) return absl::InvalidArgumentError("broker port out of range");
  for (const metadata::BrokerEndpoint& endpoint : request.endpoints()) {
    if (endpoint.name().empty() || endpoint.host().empty() || endpoint.port() <= 0 || endpoint.port() > 65535) {
      return absl::InvalidArgumentError("broker endpoint needs a listener name, a host and a port in range");
    }
  }
  const metadata::BrokerInfo* previous = ctx.image.FindBroker(request.broker_id());
  const bool replaces_live = previous != nullptr && !previous->fenced;
  if (replaces_live && request.incarnation_id() != 0 && previous->incarnation_id == request.incarnation_id()) {
    // A retry of a registration that committed (its answer was lost): the same process, the
    // same epoch, nothing to change.
    metadata::RegisterBrokerResponse response;
    response.set_broker_epoch(previous->epoch);
    return response;
  }
  Record record;
  auto* r = record.mutable_broker_registration();
  r->set_broker_id(request.broker_id());
  r->set_broker_epoch(0);  // the offset of the entry that commits it
  r->set_host(request.host());
  r->set_port(request.port());
  r->set_rack(request.rack());
  r->set_incarnation_id(request.incarnation_id());
  *r->mutable_endpoints() = request.endpoints();
  ctx.records.push_back(std::move(record));
  for (Record& change :
       RejoinBroker(ctx.image, request.broker_id(), replaces_live, ctx.options.unclean_leader_election)) {
    ctx.records.push_back(std::move(change));
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

absl::StatusOr<metadata::ReportReplicasResponse> PlanReportReplicas(const metadata::ReportReplicasRequest& request,
                                                                    PlanContext& ctx) {
  const int32_t broker_id = request.broker_id();
  const metadata::BrokerInfo* broker = ctx.image.FindBroker(broker_id);
  if (broker == nullptr || broker->epoch != request.broker_epoch()) {
    return absl::FailedPreconditionError(
        fmt::format("STALE_BROKER_EPOCH: broker {} epoch {} is not registered", broker_id, request.broker_epoch()));
  }
  const Liveness live{.image = ctx.image};
  std::set<std::pair<metadata::TopicId, int32_t>> planned;  // one record per partition
  auto change = [&](const metadata::ReplicaRef& ref, bool offline) {
    const metadata::TopicId id = metadata::ToTopicId(ref.topic_id());
    auto topic = ctx.image.FindTopicById(id);
    if (!topic || ref.partition() < 0 || static_cast<size_t>(ref.partition()) >= topic->partitions.size()) return;
    if (!planned.emplace(id, ref.partition()).second) return;
    const PartitionInfo& p = topic->partitions[ref.partition()];
    if (!Contains(p.replicas, broker_id) || Contains(p.offline_replicas, broker_id) == offline) return;
    PartitionInfo after = p;
    if (offline) {
      after.offline_replicas.push_back(broker_id);
      // Out of the ISR, as a fenced broker is: it holds nothing it can serve.
      if (after.isr.size() > 1) std::erase(after.isr, broker_id);
      if (after.leader == broker_id) after.leader = -1;
    } else {
      std::erase(after.offline_replicas, broker_id);
    }
    after = ElectIfLeaderless(std::move(after), live, UncleanElectionAllowed(*topic, ctx.options.unclean_leader_election));
    if (auto bumped = Bumped(p, std::move(after))) ctx.records.push_back(PartitionRecord(topic->id, *bumped));
  };
  for (const auto& ref : request.offline()) change(ref, true);
  for (const auto& ref : request.online()) change(ref, false);
  return metadata::ReportReplicasResponse();
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
