#include "controller/service/controller.h"

#include <chrono>

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "common/absl_compat.h"
#include "common/log.h"
#include "controller/service/acl_changes.h"
#include "controller/service/broker_changes.h"
#include "controller/service/partition_changes.h"
#include "controller/service/partition_rules.h"
#include "controller/service/scram_changes.h"
#include "controller/service/topic_changes.h"
#include "protocol/metadata/leader_hint.h"

namespace sluice::controller {
namespace {

constexpr size_t kMaxEntriesPerFetch = 1000;

// The answers that report where the change landed, so the broker can wait until it applied it.
template <class Resp>
void SetOffset(Resp& response, int64_t offset) {
  response.set_metadata_offset(offset);
}

}  // namespace

Controller::Controller(ControllerOptions options, std::map<int32_t, HostPort> voters, const Clock& clock)
    : options_(options),
      voters_(std::move(voters)),
      clock_(clock),
      state_(options.fetch_tail_entries),
      random_(std::random_device{}()) {}

void Controller::Apply(uint64_t index, const std::string& data) {
  state_.Apply(index, data);
  Changed();
}

absl::Status Controller::Restore(const std::string& data) {
  absl::Status status = state_.Restore(data);
  if (status.ok()) {
    log::Info("controller {}: restored the metadata image at offset {} from a snapshot", options_.node_id,
              state_.image().offset());
    Changed();
  }
  return status;
}

absl::Status Controller::NotLeader() const {
  auto it = voters_.find(leader_id_);
  if (leader_id_ < 0 || it == voters_.end()) return metadata::NotLeaderStatus(-1, "", 0);
  return metadata::NotLeaderStatus(leader_id_, it->second.host, it->second.port);
}

void Controller::OnQuorumChange(const QuorumStatus& status) {
  leader_id_ = status.leader_id;
  term_ = status.term;
  if (status.leader) {
    if (leading_ && leading_term_ == status.term) return;
    if (acting_) StopActing();
    leading_ = true;
    leading_term_ = status.term;
    log::Info("controller {}: elected quorum leader in term {}; catching up before acting", options_.node_id,
              status.term);
    StartBarrier(status.term);
  } else {
    if (leading_ || acting_) {
      log::Info("controller {}: no longer the quorum leader (term {}, leader {})", options_.node_id, status.term,
                status.leader_id);
    }
    leading_ = false;
    StopActing();
  }
  Changed();
}

void Controller::StartBarrier(uint64_t term) {
  quorum_->Barrier([this, term](absl::Status status) {
    if (!leading_ || leading_term_ != term) return;
    if (!status.ok()) {
      // Still the leader of this term (a lost leadership reports itself separately): retry.
      log::Warn("controller {}: leadership barrier failed ({}); retrying", options_.node_id, status);
      return StartBarrier(term);
    }
    BecomeActive();
  });
}

void Controller::BecomeActive() {
  acting_ = true;
  const int64_t now = clock_.MonotonicMs();
  // Leases are not replicated: every broker gets a full session from now to reach this leader.
  lease_deadline_ms_.clear();
  for (int32_t id : state_.image().LiveBrokerIds()) lease_deadline_ms_[id] = now + options_.broker_session_timeout_ms;
  next_rebalance_ms_ = now + options_.leader_imbalance_check_interval_ms;
  log::Info("controller {}: acting as leader in term {} at metadata offset {}", options_.node_id, leading_term_,
            state_.image().offset());
  // The bootstrap users go with the cluster id, which marks the metadata log as no longer new.
  EnqueueDuty([this](PlanContext& ctx) {
    PlanBootstrapScramCredentials(options_.scram_bootstrap, ctx);
    PlanMintClusterId(ctx);
  });
  EnqueueDuty([this](PlanContext& ctx) {
    for (metadata::Record& record :
         ElectOfflineLeaders(ctx.image, Liveness{.image = ctx.image}, options_.unclean_leader_election)) {
      ctx.records.push_back(std::move(record));
    }
  });
  Changed();
}

void Controller::StopActing() {
  acting_ = false;
  std::deque<Queued> queued;
  queued.swap(queue_);
  const absl::Status why = NotLeader();
  for (Queued& q : queued) q.reject(why);
  lease_deadline_ms_.clear();
  heartbeat_sessions_.clear();
  expiry_queued_ = false;
  observers_.clear();
}

template <class Resp, class Plan, class Finish>
void Controller::Enqueue(Plan plan, Finish finish, Reply<Resp> reply) {
  if (!acting_) return reply(NotLeader());
  queue_.push_back(Queued{
      [plan = std::move(plan), finish = std::move(finish), reply](PlanContext& ctx) mutable -> Completion {
        const size_t first = ctx.records.size();
        absl::StatusOr<Resp> planned = plan(ctx);
        if (!planned.ok()) ctx.records.resize(first);
        return [planned = std::move(planned), finish, reply](const absl::StatusOr<int64_t>& offset) mutable {
          if (!offset.ok()) return reply(offset.status());
          if (planned.ok()) finish(*planned, *offset);
          reply(std::move(planned));
        };
      },
      [reply](const absl::Status& why) { reply(why); }});
  MaybePropose();
}

void Controller::EnqueueDuty(std::function<void(PlanContext&)> plan) {
  queue_.push_back(Queued{[plan = std::move(plan)](PlanContext& ctx) -> Completion {
                            plan(ctx);
                            return [](const absl::StatusOr<int64_t>&) {};
                          },
                          [](const absl::Status&) {}});
  MaybePropose();
}

void Controller::MaybePropose() {
  while (acting_ && !proposal_in_flight_ && !queue_.empty()) {
    std::deque<Queued> batch;
    batch.swap(queue_);
    metadata::MetadataImage scratch = state_.image();
    std::vector<metadata::Record> records;
    std::vector<Completion> completions;
    for (Queued& q : batch) {
      const size_t first = records.size();
      PlanContext ctx{.image = scratch, .options = options_, .random = random_, .records = records};
      completions.push_back(q.plan(ctx));
      if (records.size() == first) continue;
      // Later requests of the batch validate against this request's effects. The offset is a
      // stand-in: the real one is the entry's index, known once it is appended.
      google::protobuf::RepeatedPtrField<metadata::Record> added(records.begin() + first, records.end());
      if (absl::Status status = scratch.ApplyEntry(added, scratch.offset() + 1); !status.ok()) {
        log::Error("controller {}: a planned record does not apply: {}", options_.node_id, status);
      }
    }
    if (records.empty()) {
      for (Completion& done : completions) done(state_.image().offset());
      continue;
    }
    metadata::MetadataEntry entry;
    for (metadata::Record& record : records) *entry.add_records() = std::move(record);
    proposal_in_flight_ = true;
    const auto proposed = std::chrono::steady_clock::now();
    quorum_->Propose(entry.SerializeAsString(), [this, proposed, completions = std::move(completions)](absl::Status status) {
      proposal_in_flight_ = false;
      absl::StatusOr<int64_t> outcome = state_.image().offset();
      if (!status.ok()) {
        log::Info("controller {}: proposal not committed: {}", options_.node_id, status);
        outcome = NotLeader();
      } else if (commit_latency_ != nullptr) {
        commit_latency_->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - proposed).count());
      }
      for (const Completion& done : completions) done(outcome);
      MaybePropose();
    });
  }
}

void Controller::RegisterBroker(uint64_t session, const metadata::RegisterBrokerRequest& request,
                                Reply<metadata::RegisterBrokerResponse> reply) {
  Enqueue<metadata::RegisterBrokerResponse>(
      [this, request](PlanContext& ctx) {
        // The lease starts now, so a lease check planned in the same batch does not fence it.
        lease_deadline_ms_[request.broker_id()] = clock_.MonotonicMs() + options_.broker_session_timeout_ms;
        return PlanRegisterBroker(request, ctx);
      },
      [this, session, request](metadata::RegisterBrokerResponse& response, int64_t offset) {
        if (response.broker_epoch() == 0) response.set_broker_epoch(offset);  // else a retry's, planned
        response.set_metadata_offset(offset);
        lease_deadline_ms_[request.broker_id()] = clock_.MonotonicMs() + options_.broker_session_timeout_ms;
        WatchSession(request.broker_id(), session, request.heartbeat_interval_ms());
        log::Info("controller {}: registered broker {} at {}:{} (epoch {})", options_.node_id, request.broker_id(),
                  request.host(), request.port(), offset);
      },
      std::move(reply));
}

void Controller::Heartbeat(uint64_t session, const metadata::BrokerHeartbeatRequest& request,
                           Reply<metadata::BrokerHeartbeatResponse> reply) {
  if (!acting_) return reply(NotLeader());
  metadata::BrokerHeartbeatResponse response;
  const metadata::BrokerInfo* broker = state_.image().FindBroker(request.broker_id());
  if (broker == nullptr || broker->epoch != request.broker_epoch() || broker->fenced) {
    response.set_fenced(true);
    return reply(std::move(response));
  }
  lease_deadline_ms_[request.broker_id()] = clock_.MonotonicMs() + options_.broker_session_timeout_ms;
  WatchSession(request.broker_id(), session, request.heartbeat_interval_ms());
  reply(std::move(response));
}

void Controller::WatchSession(int32_t broker, uint64_t session, int64_t heartbeat_interval_ms) {
  if (heartbeat_interval_ms > 0) heartbeat_sessions_[broker] = HeartbeatSession{session, heartbeat_interval_ms};
}

void Controller::OnSessionClosed(uint64_t session) {
  for (auto it = heartbeat_sessions_.begin(); it != heartbeat_sessions_.end(); ++it) {
    if (it->second.session != session) continue;
    // A process that dies closes its connections: the broker gets two heartbeat intervals to
    // come back on a new one before its lease lapses.
    auto lease = lease_deadline_ms_.find(it->first);
    if (lease != lease_deadline_ms_.end()) {
      lease->second = std::min(lease->second, clock_.MonotonicMs() + 2 * it->second.interval_ms);
      log::Info("controller {}: broker {} closed its connection; its lease now ends in {} ms", options_.node_id,
                it->first, lease->second - clock_.MonotonicMs());
    }
    heartbeat_sessions_.erase(it);
    return;
  }
}

void Controller::CreateTopics(const metadata::CreateTopicsRequest& request,
                              Reply<metadata::CreateTopicsResponse> reply) {
  Enqueue<metadata::CreateTopicsResponse>(
      [request](PlanContext& ctx) { return PlanCreateTopics(request, ctx); },
      SetOffset<metadata::CreateTopicsResponse>, std::move(reply));
}

void Controller::DeleteTopics(const metadata::DeleteTopicsRequest& request,
                              Reply<metadata::DeleteTopicsResponse> reply) {
  Enqueue<metadata::DeleteTopicsResponse>(
      [request](PlanContext& ctx) { return PlanDeleteTopics(request, ctx); },
      SetOffset<metadata::DeleteTopicsResponse>, std::move(reply));
}

void Controller::CreatePartitions(const metadata::CreatePartitionsRequest& request,
                                  Reply<metadata::CreatePartitionsResponse> reply) {
  Enqueue<metadata::CreatePartitionsResponse>(
      [request](PlanContext& ctx) { return PlanCreatePartitions(request, ctx); },
      SetOffset<metadata::CreatePartitionsResponse>, std::move(reply));
}

void Controller::AlterConfigs(const metadata::AlterConfigsRequest& request,
                              Reply<metadata::AlterConfigsResponse> reply) {
  Enqueue<metadata::AlterConfigsResponse>(
      [request](PlanContext& ctx) { return PlanAlterConfigs(request, ctx); },
      SetOffset<metadata::AlterConfigsResponse>, std::move(reply));
}

void Controller::AllocateProducerIds(const metadata::AllocateProducerIdsRequest& request,
                                     Reply<metadata::AllocateProducerIdsResponse> reply) {
  Enqueue<metadata::AllocateProducerIdsResponse>(
      [request](PlanContext& ctx) { return PlanAllocateProducerIds(request, ctx); },
      [](metadata::AllocateProducerIdsResponse&, int64_t) {}, std::move(reply));
}

void Controller::AlterPartition(const metadata::AlterPartitionRequest& request,
                                Reply<metadata::AlterPartitionResponse> reply) {
  Enqueue<metadata::AlterPartitionResponse>(
      [request](PlanContext& ctx) { return PlanAlterPartition(request, ctx); },
      SetOffset<metadata::AlterPartitionResponse>, std::move(reply));
}

void Controller::ControlledShutdown(const metadata::ControlledShutdownRequest& request,
                                    Reply<metadata::ControlledShutdownResponse> reply) {
  Enqueue<metadata::ControlledShutdownResponse>(
      [request](PlanContext& ctx) { return PlanControlledShutdown(request, ctx); },
      [this, request](metadata::ControlledShutdownResponse& response, int64_t offset) {
        response.set_metadata_offset(offset);
        lease_deadline_ms_.erase(request.broker_id());
        log::Info("controller {}: broker {} shut down; {} partitions it led are offline", options_.node_id,
                  request.broker_id(), response.remaining_leaderships());
      },
      std::move(reply));
}

void Controller::ReportReplicas(const metadata::ReportReplicasRequest& request,
                                Reply<metadata::ReportReplicasResponse> reply) {
  Enqueue<metadata::ReportReplicasResponse>(
      [request](PlanContext& ctx) { return PlanReportReplicas(request, ctx); },
      SetOffset<metadata::ReportReplicasResponse>, std::move(reply));
}

void Controller::ElectLeaders(const metadata::ElectLeadersRequest& request,
                              Reply<metadata::ElectLeadersResponse> reply) {
  Enqueue<metadata::ElectLeadersResponse>(
      [request](PlanContext& ctx) { return PlanElectLeaders(request, ctx); },
      SetOffset<metadata::ElectLeadersResponse>, std::move(reply));
}

void Controller::AlterReassignments(const metadata::AlterReassignmentsRequest& request,
                                    Reply<metadata::AlterReassignmentsResponse> reply) {
  Enqueue<metadata::AlterReassignmentsResponse>(
      [request](PlanContext& ctx) { return PlanAlterReassignments(request, ctx); },
      SetOffset<metadata::AlterReassignmentsResponse>, std::move(reply));
}

void Controller::AlterUserScramCredentials(const metadata::AlterUserScramCredentialsRequest& request,
                                           Reply<metadata::AlterUserScramCredentialsResponse> reply) {
  Enqueue<metadata::AlterUserScramCredentialsResponse>(
      [request](PlanContext& ctx) { return PlanAlterUserScramCredentials(request, ctx); },
      SetOffset<metadata::AlterUserScramCredentialsResponse>, std::move(reply));
}

void Controller::CreateAcls(const metadata::CreateAclsRequest& request, Reply<metadata::CreateAclsResponse> reply) {
  Enqueue<metadata::CreateAclsResponse>([request](PlanContext& ctx) { return PlanCreateAcls(request, ctx); },
                                        SetOffset<metadata::CreateAclsResponse>, std::move(reply));
}

void Controller::DeleteAcls(const metadata::DeleteAclsRequest& request, Reply<metadata::DeleteAclsResponse> reply) {
  Enqueue<metadata::DeleteAclsResponse>([request](PlanContext& ctx) { return PlanDeleteAcls(request, ctx); },
                                        SetOffset<metadata::DeleteAclsResponse>, std::move(reply));
}

void Controller::ListReassignments(const metadata::ListReassignmentsRequest& request,
                                   Reply<metadata::ListReassignmentsResponse> reply) {
  if (!acting_) return reply(NotLeader());
  reply(controller::ListReassignments(request, state_.image()));
}

void Controller::DescribeQuorum(Reply<metadata::DescribeQuorumResponse> reply) {
  if (!acting_) return reply(NotLeader());
  quorum_->Status([this, reply = std::move(reply)](QuorumStatus status) {
    if (!acting_ || !status.leader) return reply(NotLeader());
    metadata::DescribeQuorumResponse response;
    response.set_leader_id(options_.node_id);
    response.set_leader_epoch(static_cast<int32_t>(status.term));
    response.set_high_watermark(status.commit_index);
    auto add_voter = [&](const VoterProgress& progress) {
      auto* voter = response.add_voters();
      voter->set_replica_id(progress.node_id);
      voter->set_log_end_offset(progress.log_end_offset);
      voter->set_last_fetch_timestamp(progress.last_fetch_wall_ms);
      voter->set_last_caught_up_timestamp(progress.last_caught_up_wall_ms);
      if (auto it = voters_.find(progress.node_id); it != voters_.end()) {
        voter->set_host(it->second.host);
        voter->set_port(it->second.port);
      }
    };
    const int64_t now = clock_.NowMs();
    add_voter(VoterProgress{.node_id = options_.node_id, .log_end_offset = status.last_index,
                            .last_fetch_wall_ms = now, .last_caught_up_wall_ms = now});
    for (const VoterProgress& follower : status.followers) add_voter(follower);
    for (const auto& [id, observer] : observers_) {
      auto* replica = response.add_observers();
      replica->set_replica_id(id);
      replica->set_log_end_offset(observer.after_offset);
      replica->set_last_fetch_timestamp(observer.fetch_wall_ms);
      replica->set_last_caught_up_timestamp(observer.caught_up_wall_ms);
      if (const metadata::BrokerInfo* broker = state_.image().FindBroker(id)) {
        replica->set_host(broker->host);
        replica->set_port(broker->port);
      }
    }
    reply(std::move(response));
  });
}

std::map<int32_t, int64_t> Controller::BrokerMetadataOffsets() const {
  std::map<int32_t, int64_t> offsets;
  if (!acting_) return offsets;
  for (const auto& [id, observer] : observers_) {
    if (state_.image().FindBroker(id)) offsets[id] = observer.after_offset;
  }
  return offsets;
}

absl::StatusOr<metadata::FetchMetadataResponse> Controller::FetchMetadata(
    const metadata::FetchMetadataRequest& request) {
  if (!acting_) return NotLeader();
  if (request.broker_id() >= 0 && state_.image().FindBroker(request.broker_id())) {
    Observer& observer = observers_[request.broker_id()];
    observer.after_offset = request.after_offset();
    observer.fetch_wall_ms = clock_.NowMs();
    if (request.after_offset() >= state_.image().offset()) observer.caught_up_wall_ms = observer.fetch_wall_ms;
  }
  return state_.Fetch(request.after_offset(), kMaxEntriesPerFetch);
}

void Controller::Tick() {
  if (!acting_) return;
  const int64_t now = clock_.MonotonicMs();
  if (!expiry_queued_) {
    for (int32_t id : state_.image().LiveBrokerIds()) {
      auto [it, inserted] = lease_deadline_ms_.emplace(id, now + options_.broker_session_timeout_ms);
      if (inserted || it->second > now) continue;
      expiry_queued_ = true;
      EnqueueDuty([this](PlanContext& ctx) {
        expiry_queued_ = false;
        const int64_t at = clock_.MonotonicMs();
        std::set<int32_t> lapsed;
        for (int32_t live : ctx.image.LiveBrokerIds()) {
          auto lease = lease_deadline_ms_.find(live);
          if (lease != lease_deadline_ms_.end() && lease->second <= at) lapsed.insert(live);
        }
        for (int32_t broker : lapsed) {
          log::Warn("controller {}: broker {} missed its heartbeat lease; proposing to fence it", options_.node_id, broker);
          lease_deadline_ms_.erase(broker);
        }
        PlanFenceBrokers(lapsed, ctx);
      });
      break;
    }
  }
  if (options_.auto_leader_rebalance && now >= next_rebalance_ms_) {
    next_rebalance_ms_ = now + options_.leader_imbalance_check_interval_ms;
    EnqueueDuty(PlanLeaderRebalance);
  }
}

}  // namespace sluice::controller
