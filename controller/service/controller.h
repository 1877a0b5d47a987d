#pragma once
// The controller: the metadata state machine plus, while this node leads the quorum, the one
// pipeline through which every change is made. Requests queue; whenever no proposal is in
// flight the whole queue is planned against a scratch copy of the committed image (each
// request seeing the records of those before it), proposed as ONE Raft entry, and each
// request is answered once that entry is applied, or failed with Unavailable naming the leader
// when it never will be. A new leader acts only after a barrier shows it has applied
// everything committed before its term; its broker leases start afresh then.
//
// Not thread-safe: every call, including the Quorum's callbacks, runs on the controller's one
// event thread.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/endpoint.h"
#include "common/metrics/registry.h"
#include "controller/service/metadata_state_machine.h"
#include "controller/service/plan_context.h"
#include "controller/service/quorum.h"
#include "protocol/metadata/controller_api.pb.h"

namespace sluice::controller {

class Controller {
 public:
  template <class Resp>
  using Reply = std::function<void(absl::StatusOr<Resp>)>;

  // `voters`: every voter's node id and address, for the leader hints non-leaders answer with.
  Controller(ControllerOptions options, std::map<int32_t, HostPort> voters, const Clock& clock);

  void Attach(Quorum* quorum) { quorum_ = quorum; }
  // The Raft role, term or leader changed.
  void OnQuorumChange(const QuorumStatus& status);
  // Runs after every applied entry and every change of who acts, e.g. to wake long polls.
  void set_on_change(std::function<void()> on_change) { on_change_ = std::move(on_change); }

  // The replicated state (called by the Raft node in log order).
  void Apply(uint64_t index, const std::string& data);
  std::string TakeSnapshot() const { return state_.TakeSnapshot(); }
  absl::Status Restore(const std::string& data);

  // Broker and admin methods. Unavailable (with the leader hint) unless this node acts as leader.
  void RegisterBroker(uint64_t session, const metadata::RegisterBrokerRequest& request,
                      Reply<metadata::RegisterBrokerResponse> reply);
  // `session`: the connection it came on; its closing is the broker's likely death.
  void Heartbeat(uint64_t session, const metadata::BrokerHeartbeatRequest& request,
                 Reply<metadata::BrokerHeartbeatResponse> reply);
  void OnSessionClosed(uint64_t session);
  // The connection a broker's heartbeats (or registration) come on; see OnSessionClosed.
  void WatchSession(int32_t broker, uint64_t session, int64_t heartbeat_interval_ms);
  void CreateTopics(const metadata::CreateTopicsRequest& request, Reply<metadata::CreateTopicsResponse> reply);
  void DeleteTopics(const metadata::DeleteTopicsRequest& request, Reply<metadata::DeleteTopicsResponse> reply);
  void CreatePartitions(const metadata::CreatePartitionsRequest& request,
                        Reply<metadata::CreatePartitionsResponse> reply);
  void AlterConfigs(const metadata::AlterConfigsRequest& request, Reply<metadata::AlterConfigsResponse> reply);
  void AllocateProducerIds(const metadata::AllocateProducerIdsRequest& request,
                           Reply<metadata::AllocateProducerIdsResponse> reply);
  void AlterPartition(const metadata::AlterPartitionRequest& request, Reply<metadata::AlterPartitionResponse> reply);
  void ControlledShutdown(const metadata::ControlledShutdownRequest& request,
                          Reply<metadata::ControlledShutdownResponse> reply);
  void ReportReplicas(const metadata::ReportReplicasRequest& request, Reply<metadata::ReportReplicasResponse> reply);
  void ElectLeaders(const metadata::ElectLeadersRequest& request, Reply<metadata::ElectLeadersResponse> reply);
  void AlterReassignments(const metadata::AlterReassignmentsRequest& request,
                          Reply<metadata::AlterReassignmentsResponse> reply);
  void ListReassignments(const metadata::ListReassignmentsRequest& request,
                         Reply<metadata::ListReassignmentsResponse> reply);
  void DescribeQuorum(Reply<metadata::DescribeQuorumResponse> reply);
  void CreateAcls(const metadata::CreateAclsRequest& request, Reply<metadata::CreateAclsResponse> reply);
  void DeleteAcls(const metadata::DeleteAclsRequest& request, Reply<metadata::DeleteAclsResponse> reply);
  void AlterUserScramCredentials(const metadata::AlterUserScramCredentialsRequest& request,
                                 Reply<metadata::AlterUserScramCredentialsResponse> reply);
  // Answers at once; an empty answer means nothing is newer (the caller may long-poll).
  absl::StatusOr<metadata::FetchMetadataResponse> FetchMetadata(const metadata::FetchMetadataRequest& request);

  // Leader duties on a timer: fence brokers whose lease lapsed, rebalance preferred leaders.
  void Tick();

  bool acting() const { return acting_; }
  // The term of the last quorum change seen (for /metrics).
  uint64_t term() const { return term_; }
  int32_t leader_id() const { return leader_id_; }  // -1 while unknown
  const metadata::MetadataImage& image() const { return state_.image(); }
  // The metadata offset each registered broker last fetched from, while this controller acts.
  std::map<int32_t, int64_t> BrokerMetadataOffsets() const;
  // Observes, for every committed proposal, the time from proposing it to its commit.
  void set_commit_latency(metrics::Histogram* histogram) { commit_latency_ = histogram; }

 private:
  using Completion = std::function<void(const absl::StatusOr<int64_t>& committed_offset)>;
  struct Queued {
    std::function<Completion(PlanContext&)> plan;
    std::function<void(const absl::Status&)> reject;
  };
  struct Observer {
    int64_t after_offset = -1;
    int64_t fetch_wall_ms = -1;
    int64_t caught_up_wall_ms = -1;
  };

  // Queues a request: `plan(ctx)` -> StatusOr<Resp>; `finish(resp, offset)` completes the
  // answer once the entry at `offset` is applied.
  template <class Resp, class Plan, class Finish>
  void Enqueue(Plan plan, Finish finish, Reply<Resp> reply);
  // A leader duty with nobody to answer.
  void EnqueueDuty(std::function<void(PlanContext&)> plan);
  void MaybePropose();
  void StartBarrier(uint64_t term);
  void BecomeActive();
  void StopActing();
  absl::Status NotLeader() const;
  void Changed() {
    if (on_change_) on_change_();
  }

  ControllerOptions options_;
  std::map<int32_t, HostPort> voters_;
  const Clock& clock_;
  Quorum* quorum_ = nullptr;
  std::function<void()> on_change_;
  MetadataStateMachine state_;
  std::mt19937_64 random_;

  int32_t leader_id_ = -1;
  bool leading_ = false;  // Raft leader of leading_term_
  uint64_t term_ = 0;
  uint64_t leading_term_ = 0;
  bool acting_ = false;  // leading and the barrier passed
  bool proposal_in_flight_ = false;
  std::deque<Queued> queue_;

  std::map<int32_t, int64_t> lease_deadline_ms_;  // broker id -> monotonic deadline
  struct HeartbeatSession {
    uint64_t session;
    int64_t interval_ms;
  };
  std::map<int32_t, HeartbeatSession> heartbeat_sessions_;  // broker id -> its last heartbeat's
  bool expiry_queued_ = false;
  int64_t next_rebalance_ms_ = 0;
  std::map<int32_t, Observer> observers_;  // brokers by their metadata fetches
  metrics::Histogram* commit_latency_ = nullptr;
};

}  // namespace sluice::controller
