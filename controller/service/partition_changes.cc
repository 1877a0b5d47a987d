#include "controller/service/partition_changes.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "controller/service/partition_rules.h"
#include "protocol/kafka/error_codes.h"

namespace sluice::controller {
namespace {

using kafka::ErrorCode;
using metadata::PartitionInfo;
using metadata::Record;

constexpr int32_t kPreferredElection = 0;
constexpr int32_t kUncleanElection = 1;

int32_t Code(ErrorCode code) { return static_cast<int32_t>(code); }

const PartitionInfo* FindPartition(const metadata::TopicInfo* topic, int32_t partition) {
  if (topic == nullptr || partition < 0 || static_cast<size_t>(partition) >= topic->partitions.size()) return nullptr;
  return &topic->partitions[partition];
}

void SetResult(metadata::PartitionResult* result, const std::string& topic, int32_t partition, ErrorCode code,
               std::string message = "") {
  result->set_topic(topic);
  result->set_partition(partition);
  result->set_error_code(Code(code));
  result->set_error_message(std::move(message));
}

// Calls `visit(topic name, topic (may be null), partition)` for every partition a request names,
// or every partition of the image when it names none.
template <class Visit>
void ForEachRequested(const metadata::MetadataImage& image, bool all,
                      const google::protobuf::RepeatedPtrField<metadata::TopicPartitions>& named, Visit visit) {
  if (all) {
    for (const auto& [name, topic] : image.topics()) {
      for (const PartitionInfo& p : topic->partitions) visit(name, topic.get(), p.partition);
    }
    return;
  }
  for (const auto& tp : named) {
    auto topic = image.FindTopic(tp.topic());
    for (int32_t partition : tp.partitions()) visit(tp.topic(), topic.get(), partition);
  }
}

// The Kafka error that refuses the ISR change in `change`, or NONE.
ErrorCode CheckIsrChange(const metadata::AlterPartitionRequest& request,
                         const metadata::AlterPartitionRequest::Change& change, const PartitionInfo& p,
                         const metadata::MetadataImage& image) {
  if (change.leader_epoch() != p.leader_epoch) return ErrorCode::kFencedLeaderEpoch;
  if (request.broker_id() != p.leader) return ErrorCode::kNotLeaderOrFollower;
  if (change.partition_epoch() != p.partition_epoch) return ErrorCode::kInvalidUpdateVersion;
  std::set<int32_t> distinct(change.new_isr().begin(), change.new_isr().end());
  if (distinct.size() != static_cast<size_t>(change.new_isr_size()) || !distinct.count(p.leader)) {
    return ErrorCode::kInvalidRequest;
  }
  for (int i = 0; i < change.new_isr_size(); ++i) {
    const int32_t id = change.new_isr(i);
    if (!Contains(p.replicas, id)) return ErrorCode::kIneligibleReplica;
    if (Contains(p.isr, id)) continue;
    const metadata::BrokerInfo* broker = image.FindBroker(id);
    const int64_t expected_epoch = i < change.new_isr_broker_epochs_size() ? change.new_isr_broker_epochs(i) : -1;
    if (broker == nullptr || broker->fenced || (expected_epoch != -1 && broker->epoch != expected_epoch)) {
      return ErrorCode::kIneligibleReplica;
    }
  }
  return ErrorCode::kNone;
}

void FillState(metadata::AlterPartitionResponse::Result* result, const PartitionInfo& p) {
  result->set_leader(p.leader);
  result->set_leader_epoch(p.leader_epoch);
  result->set_partition_epoch(p.partition_epoch);
  result->clear_isr();
  for (int32_t id : p.isr) result->add_isr(id);
}

std::vector<int32_t> Minus(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  std::vector<int32_t> out;
  for (int32_t id : a) {
    if (!Contains(b, id)) out.push_back(id);
  }
  return out;
}

// The partition's replicas before any ongoing reassignment.
std::vector<int32_t> OriginalReplicas(const PartitionInfo& p) { return Minus(p.replicas, p.adding_replicas); }

}  // namespace

metadata::AlterPartitionResponse PlanAlterPartition(const metadata::AlterPartitionRequest& request, PlanContext& ctx) {
  metadata::AlterPartitionResponse response;
  const metadata::BrokerInfo* requester = ctx.image.FindBroker(request.broker_id());
  const bool stale = requester == nullptr || requester->fenced || requester->epoch != request.broker_epoch();
  const Liveness live{.image = ctx.image};
  for (const auto& change : request.changes()) {
    auto* result = response.add_results();
    result->set_topic_id(change.topic_id());
    result->set_partition(change.partition());
    auto topic = ctx.image.FindTopicById(metadata::ToTopicId(change.topic_id()));
    const PartitionInfo* p = FindPartition(topic.get(), change.partition());
    ErrorCode code = stale ? ErrorCode::kStaleBrokerEpoch
                     : p == nullptr ? ErrorCode::kUnknownTopicOrPartition
                                    : CheckIsrChange(request, change, *p, ctx.image);
    result->set_error_code(Code(code));
    if (code != ErrorCode::kNone) continue;
    PartitionInfo after = *p;
    after.isr.assign(change.new_isr().begin(), change.new_isr().end());
    after = CompleteReassignmentIfDone(std::move(after), live);
    std::optional<PartitionInfo> changed = Bumped(*p, std::move(after));
    if (!changed) {
      FillState(result, *p);
      continue;
    }
    FillState(result, *changed);
    ctx.records.push_back(PartitionRecord(topic->id, *changed));
  }
  return response;
}

metadata::ElectLeadersResponse PlanElectLeaders(const metadata::ElectLeadersRequest& request, PlanContext& ctx) {
  metadata::ElectLeadersResponse response;
  const Liveness live{.image = ctx.image};
  if (request.election_type() != kPreferredElection && request.election_type() != kUncleanElection) {
    ForEachRequested(ctx.image, request.all_partitions(), request.topic_partitions(),
                     [&](const std::string& name, const metadata::TopicInfo*, int32_t partition) {
                       SetResult(response.add_results(), name, partition, ErrorCode::kInvalidRequest,
                                 fmt::format("unknown election type {}", request.election_type()));
                     });
    return response;
  }
  std::set<std::pair<std::string, int32_t>> seen;
  ForEachRequested(ctx.image, request.all_partitions(), request.topic_partitions(),
                   [&](const std::string& name, const metadata::TopicInfo* topic, int32_t partition) {
    if (!seen.emplace(name, partition).second) return;
    const PartitionInfo* p = FindPartition(topic, partition);
    if (p == nullptr) {
      SetResult(response.add_results(), name, partition, ErrorCode::kUnknownTopicOrPartition,
                "The partition does not exist.");
      return;
    }
    PartitionInfo after = *p;
    ErrorCode code = ErrorCode::kNone;
    std::string message;
    const bool has_leader = CanLead(*p, p->leader, live);
    if (request.election_type() == kPreferredElection) {
      const int32_t preferred = p->replicas.empty() ? -1 : p->replicas.front();
      if (p->leader == preferred && has_leader) {
        code = ErrorCode::kElectionNotNeeded;
        message = "The preferred replica is already the leader.";
      } else if (!CanLead(*p, preferred, live) || !Contains(p->isr, preferred)) {
        code = ErrorCode::kPreferredLeaderNotAvailable;
        message = fmt::format("The preferred replica {} is not live or not in the ISR.", preferred);
      } else {
        after.leader = preferred;
      }
    } else if (has_leader) {
      code = ErrorCode::kElectionNotNeeded;
      message = "The partition has a leader.";
    } else {
      after.leader = -1;
      after = ElectIfLeaderless(std::move(after), live, /*unclean=*/true);
      if (after.leader < 0) {
        code = ErrorCode::kEligibleLeadersNotAvailable;
        message = "No replica of the partition is live.";
      }
    }
    // Asked for every partition, Kafka leaves out those that needed no election.
    if (request.all_partitions() && code == ErrorCode::kElectionNotNeeded) return;
    SetResult(response.add_results(), name, partition, code, std::move(message));
    if (code != ErrorCode::kNone) return;
    if (auto changed = Bumped(*p, std::move(after))) ctx.records.push_back(PartitionRecord(topic->id, *changed));
  });
  return response;
}

metadata::AlterReassignmentsResponse PlanAlterReassignments(const metadata::AlterReassignmentsRequest& request,
                                                            PlanContext& ctx) {
  metadata::AlterReassignmentsResponse response;
  const Liveness live{.image = ctx.image};
  std::set<std::pair<std::string, int32_t>> seen;
  for (const auto& r : request.reassignments()) {
    auto* result = response.add_results();
    auto topic = ctx.image.FindTopic(r.topic());
    const PartitionInfo* p = FindPartition(topic.get(), r.partition());
    if (p == nullptr) {
      SetResult(result, r.topic(), r.partition(), ErrorCode::kUnknownTopicOrPartition, "The partition does not exist.");
      continue;
    }
    if (!seen.emplace(r.topic(), r.partition()).second) {
      SetResult(result, r.topic(), r.partition(), ErrorCode::kInvalidRequest, "The partition appears more than once.");
      continue;
    }
    const bool ongoing = !p->adding_replicas.empty() || !p->removing_replicas.empty();
    const std::vector<int32_t> original = OriginalReplicas(*p);
    std::vector<int32_t> target;
    if (r.cancel()) {
      if (!ongoing) {
        SetResult(result, r.topic(), r.partition(), ErrorCode::kNoReassignmentInProgress,
                  "No reassignment is in progress for this partition.");
        continue;
      }
      target = original;
    } else {
      target.assign(r.replicas().begin(), r.replicas().end());
      std::set<int32_t> distinct(target.begin(), target.end());
      std::string problem;
      if (target.empty()) problem = "The target replica list is empty.";
      if (distinct.size() != target.size()) problem = "The target replica list contains duplicates.";
      for (int32_t id : target) {
        if (problem.empty() && ctx.image.FindBroker(id) == nullptr) {
          problem = fmt::format("The target replica list names broker {}, which is not registered.", id);
        }
      }
      if (!problem.empty()) {
        SetResult(result, r.topic(), r.partition(), ErrorCode::kInvalidReplicaAssignment, std::move(problem));
        continue;
      }
    }
    SetResult(result, r.topic(), r.partition(), ErrorCode::kNone);
    // Replicas = target first, then the originals being removed; the new ones are adding until
    // the leader has them in the ISR.
    PartitionInfo after = *p;
    after.adding_replicas = Minus(target, original);
    after.removing_replicas = Minus(original, target);
    after.replicas = target;
    for (int32_t id : after.removing_replicas) after.replicas.push_back(id);
    std::vector<int32_t> isr;
    for (int32_t id : p->isr) {
      if (Contains(after.replicas, id)) isr.push_back(id);
    }
    if (isr.empty()) isr = {after.replicas.front()};
    after.isr = std::move(isr);
    if (!Contains(after.isr, after.leader)) after.leader = -1;
    after = CompleteReassignmentIfDone(std::move(after), live);
    after = ElectIfLeaderless(std::move(after), live, /*unclean=*/false);
    if (auto changed = Bumped(*p, std::move(after))) ctx.records.push_back(PartitionRecord(topic->id, *changed));
  }
  return response;
}

metadata::ListReassignmentsResponse ListReassignments(const metadata::ListReassignmentsRequest& request,
                                                      const metadata::MetadataImage& image) {
  metadata::ListReassignmentsResponse response;
  ForEachRequested(image, request.all_partitions(), request.topic_partitions(),
                   [&](const std::string& name, const metadata::TopicInfo* topic, int32_t partition) {
                     const PartitionInfo* p = FindPartition(topic, partition);
                     if (p == nullptr || (p->adding_replicas.empty() && p->removing_replicas.empty())) return;
                     auto* ongoing = response.add_reassignments();
                     ongoing->set_topic(name);
                     ongoing->set_partition(partition);
                     for (int32_t id : p->replicas) ongoing->add_replicas(id);
                     for (int32_t id : p->adding_replicas) ongoing->add_adding_replicas(id);
                     for (int32_t id : p->removing_replicas) ongoing->add_removing_replicas(id);
                   });
  return response;
}

void PlanLeaderRebalance(PlanContext& ctx) {
  const Liveness live{.image = ctx.image};
  std::map<int32_t, std::pair<int, int>> per_broker;  // preferred -> (partitions, not led by it)
  for (const auto& [name, topic] : ctx.image.topics()) {
    for (const PartitionInfo& p : topic->partitions) {
      if (p.replicas.empty()) continue;
      auto& [total, imbalanced] = per_broker[p.replicas.front()];
      ++total;
      if (p.leader != p.replicas.front()) ++imbalanced;
    }
  }
  for (const auto& [name, topic] : ctx.image.topics()) {
    for (const PartitionInfo& p : topic->partitions) {
      if (p.replicas.empty()) continue;
      const int32_t preferred = p.replicas.front();
      const auto [total, imbalanced] = per_broker[preferred];
      if (p.leader == preferred || imbalanced * 100 <= total * ctx.options.leader_imbalance_per_broker_percentage) {
        continue;
      }
      if (!CanLead(p, preferred, live) || !Contains(p.isr, preferred)) continue;
      PartitionInfo after = p;
      after.leader = preferred;
      if (auto changed = Bumped(p, std::move(after))) ctx.records.push_back(PartitionRecord(topic->id, *changed));
    }
  }
}

}  // namespace sluice::controller
