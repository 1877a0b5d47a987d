#include <catch2/catch.hpp>

#include "test_quorum.h"

using namespace sluice;
using namespace sluice::controller::testing;
using kafka::ErrorCode;
using metadata::PartitionInfo;

namespace {

using Ids = std::vector<int32_t>;

// Three live brokers and topic "t" with the given replica lists.
struct Cluster : Fixture {
  explicit Cluster(std::vector<Ids> assignment, controller::ControllerOptions options = {},
                   std::map<std::string, std::string> configs = {})
      : Fixture(options) {
    for (int32_t id : {1, 2, 3, 4}) Register(id);
    REQUIRE(Create("t", -1, -1, configs, assignment).error_code() == 0);
    topic_id = metadata::FromTopicId(image().FindTopic("t")->id);
  }

  metadata::AlterPartitionResponse::Result AlterIsr(int32_t requester, int32_t partition, Ids new_isr,
                                                    std::optional<int32_t> leader_epoch = {},
                                                    std::optional<int32_t> partition_epoch = {},
                                                    std::vector<int64_t> epochs = {},
                                                    std::optional<int64_t> requester_epoch = {}) {
    const PartitionInfo p = Partition("t", partition);
    metadata::AlterPartitionRequest request;
    request.set_broker_id(requester);
    request.set_broker_epoch(requester_epoch.value_or(image().FindBroker(requester)->epoch));
    auto* change = request.add_changes();
    change->set_topic_id(topic_id);
    change->set_partition(partition);
    change->set_leader_epoch(leader_epoch.value_or(p.leader_epoch));
    change->set_partition_epoch(partition_epoch.value_or(p.partition_epoch));
    for (int32_t id : new_isr) change->add_new_isr(id);
    for (int64_t e : epochs) change->add_new_isr_broker_epochs(e);
    auto response = Run<metadata::AlterPartitionResponse>([&](auto r) { c().AlterPartition(request, r); });
    REQUIRE(response.ok());
    return response->results(0);
  }

  // Fences `broker` through a controlled shutdown; returns the entry that did it.
  metadata::MetadataEntry Shutdown(int32_t broker, int32_t* offline = nullptr) {
    metadata::ControlledShutdownRequest request;
    request.set_broker_id(broker);
    request.set_broker_epoch(image().FindBroker(broker)->epoch);
    Answer<metadata::ControlledShutdownResponse> answer;
    c().ControlledShutdown(request, answer.reply());
    metadata::MetadataEntry entry = quorum->PeekEntry();
    quorum->CommitAll();
    if (offline) *offline = answer.ok().remaining_leaderships();
    CHECK(answer.ok().metadata_offset() == image().offset());
    return entry;
  }

  metadata::ElectLeadersResponse Elect(int32_t type, std::vector<std::pair<std::string, int32_t>> partitions) {
    metadata::ElectLeadersRequest request;
    request.set_election_type(type);
    request.set_all_partitions(partitions.empty());
    for (const auto& [topic, partition] : partitions) {
      auto* tp = request.add_topic_partitions();
      tp->set_topic(topic);
      tp->add_partitions(partition);
    }
    auto response = Run<metadata::ElectLeadersResponse>([&](auto r) { c().ElectLeaders(request, r); });
    REQUIRE(response.ok());
    return *response;
  }

  metadata::AlterReassignmentsResponse Reassign(int32_t partition, std::optional<Ids> target) {
    metadata::AlterReassignmentsRequest request;
    auto* r = request.add_reassignments();
    r->set_topic("t");
    r->set_partition(partition);
    if (target) {
      for (int32_t id : *target) r->add_replicas(id);
    } else {
      r->set_cancel(true);
    }
    auto response = Run<metadata::AlterReassignmentsResponse>([&](auto reply) { c().AlterReassignments(request, reply); });
    REQUIRE(response.ok());
    return *response;
  }

  std::string topic_id;
};

}  // namespace

TEST_CASE("fencing a broker shrinks every ISR and moves its leaderships in one entry") {
  Cluster f({{1, 2, 3}, {2, 1, 3}, {3, 2, 1}});
  int32_t offline = -1;
  const metadata::MetadataEntry entry = f.Shutdown(1, &offline);
  CHECK(offline == 0);
  int fences = 0, partitions = 0;
  for (const auto& record : entry.records()) {
    fences += record.has_broker_fenced() ? 1 : 0;
    partitions += record.has_partition() ? 1 : 0;
  }
  CHECK(fences == 1);
  CHECK(partitions == 3);
  CHECK(f.image().FindBroker(1)->fenced);
  const PartitionInfo p0 = f.Partition("t", 0);
  CHECK(p0.leader == 2);
  CHECK(p0.isr == Ids{2, 3});
  CHECK(p0.leader_epoch == 1);
  CHECK(p0.partition_epoch == 1);
  const PartitionInfo p1 = f.Partition("t", 1);
  CHECK(p1.leader == 2);
  CHECK(p1.isr == Ids{2, 3});
  CHECK(p1.leader_epoch == 0);  // the leader stayed: only the ISR changed
  CHECK(p1.partition_epoch == 1);
}

TEST_CASE("the last ISR member keeps the ISR when fenced and leads again when it returns") {
  Cluster f({{1, 2}});
  REQUIRE(f.AlterIsr(1, 0, {1}).error_code() == 0);
  int32_t offline = -1;
  f.Shutdown(1, &offline);
  CHECK(offline == 1);
  PartitionInfo p = f.Partition("t", 0);
  CHECK(p.leader == -1);
  CHECK(p.isr == Ids{1});  // unclean election is off: broker 2 is not in sync
  CHECK(p.leader_epoch == 1);
  f.Register(1);
  p = f.Partition("t", 0);
  CHECK(p.leader == 1);
  CHECK(p.isr == Ids{1});
  CHECK(p.leader_epoch == 2);
}

TEST_CASE("a broker registering again while its old registration lives rejoins as a fenced one would") {
  // Partition 2: broker 1 is the only in-sync replica, so nobody else can take it.
  Cluster f({{1, 2, 3}, {2, 1, 3}, {1, 3, 2}});
  REQUIRE(f.AlterIsr(1, 2, {1}).error_code() == 0);
  const int64_t first_epoch = f.image().FindBroker(1)->epoch;
  f.Register(1);
  CHECK(f.image().FindBroker(1)->epoch > first_epoch);
  CHECK_FALSE(f.image().FindBroker(1)->fenced);
  const PartitionInfo led = f.Partition("t", 0);
  CHECK(led.leader == 2);
  CHECK(led.isr == Ids{2, 3});
  CHECK(led.leader_epoch == 1);
  const PartitionInfo followed = f.Partition("t", 1);
  CHECK(followed.leader == 2);
  CHECK(followed.isr == Ids{2, 3});
  CHECK(followed.leader_epoch == 0);
  const PartitionInfo sole = f.Partition("t", 2);
  CHECK(sole.leader == 1);
  CHECK(sole.isr == Ids{1});

  // A registration after a fence changes nothing it does not have to: it is out of the ISRs.
  f.Shutdown(2);
  f.Register(2);
  CHECK(f.Partition("t", 0).isr == Ids{3});
  CHECK(f.Partition("t", 0).leader == 3);
}

TEST_CASE("a retried registration of the same incarnation keeps the epoch and every ISR") {
  Cluster f({{1, 2, 3}});
  auto register_as = [&](uint64_t incarnation) {
    metadata::RegisterBrokerRequest request;
    request.set_broker_id(1);
    request.set_host("127.0.0.1");
    request.set_port(9001);
    request.set_incarnation_id(incarnation);
    auto response = f.Run<metadata::RegisterBrokerResponse>([&](auto reply) { f.c().RegisterBroker(1, request, reply); });
    REQUIRE(response.ok());
    return response->broker_epoch();
  };
  const int64_t epoch = register_as(7);
  CHECK(f.image().FindBroker(1)->epoch == epoch);
  REQUIRE(f.Partition("t", 0).isr == Ids{2, 3});  // the fixture's registration was another process
  REQUIRE(f.AlterIsr(2, 0, {2, 3, 1}).error_code() == 0);
  CHECK(register_as(7) == epoch);
  CHECK(f.image().FindBroker(1)->epoch == epoch);
  CHECK(f.Partition("t", 0).isr == Ids{2, 3, 1});
  CHECK(register_as(8) > epoch);  // a restart: out of the ISR again
  CHECK(f.Partition("t", 0).isr == Ids{2, 3});
}

TEST_CASE("unclean leader election elects a live replica outside the ISR when enabled") {
  SECTION("per topic") {
    Cluster f({{1, 2}}, {}, {{"unclean.leader.election.enable", "true"}});
    REQUIRE(f.AlterIsr(1, 0, {1}).error_code() == 0);
    f.Shutdown(1);
    const PartitionInfo p = f.Partition("t", 0);
    CHECK(p.leader == 2);
    CHECK(p.isr == Ids{2});
  }
  SECTION("as the cluster default, which a topic can turn off") {
    Cluster f({{1, 2}}, controller::ControllerOptions{.unclean_leader_election = true});
    REQUIRE(f.Create("strict", -1, -1, {{"unclean.leader.election.enable", "false"}}, {{1, 2}}).error_code() == 0);
    const auto strict_id = metadata::FromTopicId(f.image().FindTopic("strict")->id);
    REQUIRE(f.AlterIsr(1, 0, {1}).error_code() == 0);
    f.topic_id = strict_id;
    metadata::AlterPartitionRequest request;
    request.set_broker_id(1);
    request.set_broker_epoch(f.image().FindBroker(1)->epoch);
    auto* change = request.add_changes();
    change->set_topic_id(strict_id);
    change->set_partition(0);
    change->set_leader_epoch(0);
    change->set_partition_epoch(0);
    change->add_new_isr(1);
    REQUIRE(f.Run<metadata::AlterPartitionResponse>([&](auto r) { f.c().AlterPartition(request, r); })
                ->results(0)
                .error_code() == 0);
    f.Shutdown(1);
    CHECK(f.Partition("t", 0).leader == 2);
    CHECK(f.image().FindTopic("strict")->partitions[0].leader == -1);
  }
}

TEST_CASE("AlterPartition commits a leader's ISR change and refuses with Kafka's codes") {
  Cluster f({{1, 2, 3}, {2, 3, 1}});
  SECTION("shrink then expand") {
    auto shrunk = f.AlterIsr(1, 0, {1, 2});
    CHECK(shrunk.error_code() == 0);
    CHECK(Ids(shrunk.isr().begin(), shrunk.isr().end()) == Ids{1, 2});
    CHECK(shrunk.partition_epoch() == 1);
    CHECK(shrunk.leader_epoch() == 0);
    CHECK(f.Partition("t", 0).isr == Ids{1, 2});
    auto grown = f.AlterIsr(1, 0, {1, 2, 3}, {}, {}, {-1, -1, f.image().FindBroker(3)->epoch});
    CHECK(grown.error_code() == 0);
    CHECK(f.Partition("t", 0).partition_epoch == 2);
  }
  SECTION("refusals") {
    CHECK(f.AlterIsr(1, 0, {1, 2}, {}, {}, {}, 999).error_code() == Code(ErrorCode::kStaleBrokerEpoch));
    CHECK(f.AlterIsr(2, 0, {2, 3}).error_code() == Code(ErrorCode::kNotLeaderOrFollower));
    CHECK(f.AlterIsr(1, 0, {1, 2}, 5).error_code() == Code(ErrorCode::kFencedLeaderEpoch));
    CHECK(f.AlterIsr(1, 0, {1, 2}, {}, 5).error_code() == Code(ErrorCode::kInvalidUpdateVersion));
    CHECK(f.AlterIsr(1, 0, {1, 4}).error_code() == Code(ErrorCode::kIneligibleReplica));  // not a replica
    CHECK(f.AlterIsr(1, 0, {2, 3}).error_code() == Code(ErrorCode::kInvalidRequest));     // leader left out
    REQUIRE(f.AlterIsr(1, 0, {1, 2}).error_code() == 0);
    // Adding back a replica with the wrong broker epoch, then a fenced one.
    CHECK(f.AlterIsr(1, 0, {1, 2, 3}, {}, {}, {-1, -1, 12345}).error_code() == Code(ErrorCode::kIneligibleReplica));
    f.Shutdown(3);
    CHECK(f.AlterIsr(1, 0, {1, 2, 3}).error_code() == Code(ErrorCode::kIneligibleReplica));
    metadata::AlterPartitionRequest unknown;
    unknown.set_broker_id(1);
    unknown.set_broker_epoch(f.image().FindBroker(1)->epoch);
    unknown.add_changes()->set_topic_id(std::string(16, 'z'));
    auto response = f.Run<metadata::AlterPartitionResponse>([&](auto r) { f.c().AlterPartition(unknown, r); });
    CHECK(response->results(0).error_code() == Code(ErrorCode::kUnknownTopicOrPartition));
    CHECK(f.Partition("t", 0).isr == Ids{1, 2});
  }
}

TEST_CASE("ElectLeaders answers with Kafka's codes") {
  Cluster f({{1, 2, 3}, {2, 3, 1}, {3, 1, 2}});
  constexpr int32_t kPreferred = 0, kUnclean = 1;
  // Broker 1 shuts down and returns: its partitions are led elsewhere and it is out of the ISR.
  f.Shutdown(1);
  f.Register(1);
  auto r = f.Elect(kPreferred, {{"t", 0}, {"t", 1}, {"missing", 0}, {"t", 9}});
  CHECK(r.results(0).error_code() == Code(ErrorCode::kPreferredLeaderNotAvailable));  // 1 is not in sync
  CHECK(r.results(1).error_code() == Code(ErrorCode::kElectionNotNeeded));
  CHECK(r.results(2).error_code() == Code(ErrorCode::kUnknownTopicOrPartition));
  CHECK(r.results(3).error_code() == Code(ErrorCode::kUnknownTopicOrPartition));
  // Back in the ISR, the preferred election moves leadership to it.
  REQUIRE(f.AlterIsr(2, 0, {2, 3, 1}, {}, {}, {-1, -1, f.image().FindBroker(1)->epoch}).error_code() == 0);
  r = f.Elect(kPreferred, {{"t", 0}});
  CHECK(r.results(0).error_code() == 0);
  CHECK(f.Partition("t", 0).leader == 1);
  CHECK(f.Elect(kPreferred, {}).results_size() == 0);  // all partitions: none needed one

  CHECK(f.Elect(kUnclean, {{"t", 0}}).results(0).error_code() == Code(ErrorCode::kElectionNotNeeded));
  // Partition 1 with ISR [2]: fence 2 (leader -1, unclean off), then elect uncleanly.
  REQUIRE(f.AlterIsr(2, 1, {2}).error_code() == 0);
  f.Shutdown(2);
  REQUIRE(f.Partition("t", 1).leader == -1);
  CHECK(f.Elect(kPreferred, {{"t", 1}}).results(0).error_code() == Code(ErrorCode::kPreferredLeaderNotAvailable));
  r = f.Elect(kUnclean, {{"t", 1}});
  CHECK(r.results(0).error_code() == 0);
  const PartitionInfo p1 = f.Partition("t", 1);
  CHECK(p1.leader == 3);
  CHECK(p1.isr == Ids{3});
  // No replica live at all.
  REQUIRE(f.Create("lonely", -1, -1, {}, {{4}}).error_code() == 0);
  f.Shutdown(4);
  r = f.Elect(kUnclean, {{"lonely", 0}});
  CHECK(r.results(0).error_code() == Code(ErrorCode::kEligibleLeadersNotAvailable));
}

TEST_CASE("reassignment adds replicas, completes when the ISR has the target, and can be cancelled") {
  Cluster f({{1, 2}, {1, 2}});
  SECTION("add, list and complete through AlterPartition") {
    auto r = f.Reassign(0, Ids{3, 2});
    REQUIRE(r.results(0).error_code() == 0);
    PartitionInfo p = f.Partition("t", 0);
    CHECK(p.replicas == Ids{3, 2, 1});
    CHECK(p.adding_replicas == Ids{3});
    CHECK(p.removing_replicas == Ids{1});
    CHECK(p.leader == 1);
    metadata::ListReassignmentsRequest list;
    list.set_all_partitions(true);
    auto listed = f.Run<metadata::ListReassignmentsResponse>([&](auto reply) { f.c().ListReassignments(list, reply); });
    REQUIRE(listed->reassignments_size() == 1);
    CHECK(listed->reassignments(0).adding_replicas(0) == 3);
    // The leader adds the caught-up replica to the ISR: the same entry completes the move.
    auto grown = f.AlterIsr(1, 0, {1, 2, 3});
    REQUIRE(grown.error_code() == 0);
    p = f.Partition("t", 0);
    CHECK(p.replicas == Ids{3, 2});
    CHECK(p.isr == Ids{2, 3});
    CHECK(p.adding_replicas.empty());
    CHECK(p.removing_replicas.empty());
    CHECK(p.leader == 3);  // the removed leader handed over to the first in-sync target replica
    CHECK(grown.leader() == 3);
    listed = f.Run<metadata::ListReassignmentsResponse>([&](auto reply) { f.c().ListReassignments(list, reply); });
    CHECK(listed->reassignments_size() == 0);
  }
  SECTION("cancel reverts, and a second cancel has nothing to cancel") {
    REQUIRE(f.Reassign(1, Ids{1, 2, 3}).results(0).error_code() == 0);
    CHECK(f.Partition("t", 1).adding_replicas == Ids{3});
    REQUIRE(f.Reassign(1, std::nullopt).results(0).error_code() == 0);
    const PartitionInfo p = f.Partition("t", 1);
    CHECK(p.replicas == Ids{1, 2});
    CHECK(p.adding_replicas.empty());
    CHECK(p.isr == Ids{1, 2});
    CHECK(f.Reassign(1, std::nullopt).results(0).error_code() == Code(ErrorCode::kNoReassignmentInProgress));
  }
  SECTION("a target already in sync completes at once; bad targets are refused") {
    REQUIRE(f.Reassign(0, Ids{2}).results(0).error_code() == 0);
    const PartitionInfo p = f.Partition("t", 0);
    CHECK(p.replicas == Ids{2});
    CHECK(p.leader == 2);
    CHECK(f.Reassign(1, Ids{1, 1}).results(0).error_code() == Code(ErrorCode::kInvalidReplicaAssignment));
    CHECK(f.Reassign(1, Ids{}).results(0).error_code() == Code(ErrorCode::kInvalidReplicaAssignment));
    CHECK(f.Reassign(1, Ids{1, 77}).results(0).error_code() == Code(ErrorCode::kInvalidReplicaAssignment));
    CHECK(f.Reassign(5, Ids{1}).results(0).error_code() == Code(ErrorCode::kUnknownTopicOrPartition));
  }
}

TEST_CASE("the leader rebalance moves leadership back to preferred replicas") {
  Cluster f({{1, 2}, {1, 2}, {2, 1}},
            controller::ControllerOptions{.leader_imbalance_check_interval_ms = 1000,
                                          .leader_imbalance_per_broker_percentage = 10});
  f.Shutdown(1);
  f.Register(1);
  for (int32_t partition : {0, 1}) {
    REQUIRE(f.AlterIsr(2, partition, {2, 1}, {}, {}, {-1, f.image().FindBroker(1)->epoch}).error_code() == 0);
  }
  CHECK(f.Partition("t", 0).leader == 2);
  f.clock.AdvanceMs(1000);
  for (int32_t id : {1, 2, 3, 4}) f.Heartbeat(id);
  f.c().Tick();
  f.quorum->CommitAll();
  CHECK(f.Partition("t", 0).leader == 1);
  CHECK(f.Partition("t", 1).leader == 1);
  CHECK(f.Partition("t", 2).leader == 2);
}

namespace {

metadata::ReportReplicasRequest ReplicaReport(Cluster& f, int32_t broker, Ids offline, Ids online) {
  metadata::ReportReplicasRequest request;
  request.set_broker_id(broker);
  request.set_broker_epoch(f.image().FindBroker(broker)->epoch);
  for (int32_t partition : offline) {
    auto* ref = request.add_offline();
    ref->set_topic_id(f.topic_id);
    ref->set_partition(partition);
  }
  for (int32_t partition : online) {
    auto* ref = request.add_online();
    ref->set_topic_id(f.topic_id);
    ref->set_partition(partition);
  }
  return request;
}

}  // namespace

TEST_CASE("a replica reported offline loses leadership and ISR membership until reported online") {
  Cluster f({{1, 2, 3}, {2, 1, 3}, {1, 2, 3}});
  REQUIRE(f.AlterIsr(1, 2, {1}).error_code() == 0);  // broker 1 alone in sync
  auto report = [&](Ids offline, Ids online) {
    auto request = ReplicaReport(f, 1, offline, online);
    auto response = f.Run<metadata::ReportReplicasResponse>([&](auto r) { f.c().ReportReplicas(request, r); });
    REQUIRE(response.ok());
    CHECK(response->metadata_offset() == f.image().offset());
  };
  report({0, 1, 2}, {});
  const PartitionInfo p0 = f.Partition("t", 0);
  CHECK(p0.leader == 2);  // moved to the next in-sync replica
  CHECK(p0.isr == Ids{2, 3});
  CHECK(p0.offline_replicas == Ids{1});
  CHECK(p0.leader_epoch == 1);
  const PartitionInfo p1 = f.Partition("t", 1);
  CHECK(p1.leader == 2);
  CHECK(p1.isr == Ids{2, 3});
  CHECK(p1.leader_epoch == 0);
  // The only in-sync replica: the partition is offline, and the ISR keeps its last member.
  const PartitionInfo p2 = f.Partition("t", 2);
  CHECK(p2.leader == -1);
  CHECK(p2.isr == Ids{1});

  // Neither elections nor the broker's return make an offline replica a leader.
  constexpr int32_t kPreferred = 0;
  for (int32_t partition : {0, 2}) {
    CHECK(f.Elect(kPreferred, {{"t", partition}}).results(0).error_code() ==
          static_cast<int32_t>(ErrorCode::kPreferredLeaderNotAvailable));
  }
  f.Shutdown(2);
  CHECK(f.Partition("t", 0).leader == 3);
  CHECK(f.Partition("t", 2).leader == -1);

  // Reported open again: the sole in-sync replica leads again; the others rejoin the ISR as
  // followers that catch up (AlterPartition), not by this report.
  report({}, {0, 2});
  CHECK(f.Partition("t", 2).leader == 1);
  CHECK(f.Partition("t", 2).offline_replicas.empty());
  CHECK(f.Partition("t", 0).offline_replicas.empty());
  CHECK(f.Partition("t", 0).leader == 3);
  CHECK(f.Partition("t", 1).offline_replicas == Ids{1});

  // A stale broker epoch is refused.
  auto stale = ReplicaReport(f, 1, {1}, {});
  stale.set_broker_epoch(stale.broker_epoch() - 1);
  auto refused = f.Run<metadata::ReportReplicasResponse>([&](auto r) { f.c().ReportReplicas(stale, r); });
  CHECK_FALSE(refused.ok());
}
