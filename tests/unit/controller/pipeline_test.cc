#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "protocol/metadata/leader_hint.h"
#include "test_quorum.h"

using namespace sluice;
using namespace sluice::controller::testing;
using kafka::ErrorCode;

TEST_CASE("a new leader mints the cluster id once, after its barrier") {
  Fixture f;
  const std::string id = f.image().cluster_id();
  CHECK(id.size() == 22);
  CHECK(id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos);
  f.quorum->Follow(2, 3001);
  f.quorum->Lead(3, 3000);
  CHECK(f.image().cluster_id() == id);
  CHECK(f.quorum->pending() == 0);
}

TEST_CASE("requests queued behind a proposal share one entry and see each other's records") {
  Fixture f;
  f.Register(1);
  // The first request occupies the pipeline; the next two queue and are planned together.
  Answer<metadata::CreateTopicsResponse> first, second, third;
  auto request = [](const std::string& name) {
    metadata::CreateTopicsRequest r;
    auto* t = r.add_topics();
    t->set_name(name);
    t->set_num_partitions(2);
    t->set_replication_factor(1);
    return r;
  };
  f.c().CreateTopics(request("a"), first.reply());
  REQUIRE(f.quorum->pending() == 1);
  f.c().CreateTopics(request("b"), second.reply());
  f.c().CreateTopics(request("b"), third.reply());
  REQUIRE(f.quorum->pending() == 1);
  f.quorum->CommitNext();
  CHECK(first.ok().results(0).error_code() == 0);
  CHECK(!second.value.has_value());  // answered only once its entry is applied
  REQUIRE(f.quorum->pending() == 1);
  const metadata::MetadataEntry entry = f.quorum->PeekEntry();
  int topics = 0;
  for (const auto& record : entry.records()) topics += record.has_topic() ? 1 : 0;
  CHECK(topics == 1);
  CHECK(entry.records_size() == 3);  // the topic and its two partitions
  f.quorum->CommitNext();
  CHECK(second.ok().results(0).error_code() == 0);
  CHECK(third.ok().results(0).error_code() == Code(ErrorCode::kTopicAlreadyExists));
  CHECK(second.ok().metadata_offset() == third.ok().metadata_offset());
  CHECK(second.ok().metadata_offset() == f.image().offset());
}

TEST_CASE("a non-leader refuses with the leader's address, and lost leadership fails what waited") {
  Fixture f;
  f.Register(1);
  Answer<metadata::CreateTopicsResponse> in_flight, queued;
  metadata::CreateTopicsRequest request;
  request.add_topics()->set_name("x");
  request.mutable_topics(0)->set_num_partitions(1);
  request.mutable_topics(0)->set_replication_factor(1);
  f.c().CreateTopics(request, in_flight.reply());
  request.mutable_topics(0)->set_name("y");
  f.c().CreateTopics(request, queued.reply());
  f.quorum->Follow(2, 3001);
  REQUIRE(queued.value.has_value());
  CHECK(queued.value->status().code() == absl::StatusCode::kUnavailable);
  // The entry in flight was replaced by the new leader's log.
  f.quorum->FailNext(absl::AbortedError("entry was replaced by a newer leader"));
  REQUIRE(in_flight.value.has_value());
  auto hint = metadata::ParseLeaderHint(in_flight.value->status());
  REQUIRE(hint.has_value());
  CHECK(hint->leader_id == 3001);
  CHECK(hint->port == 9094);

  Answer<metadata::BrokerHeartbeatResponse> heartbeat;
  f.c().Heartbeat(/*session=*/1, metadata::BrokerHeartbeatRequest(), heartbeat.reply());
  REQUIRE(heartbeat.value.has_value());
  CHECK(metadata::ParseLeaderHint(heartbeat.value->status())->host == "127.0.0.1");
  CHECK(!f.c().FetchMetadata(metadata::FetchMetadataRequest()).ok());

  f.quorum->Follow(3, -1);  // election under way: no hint
  Answer<metadata::DescribeQuorumResponse> describe;
  f.c().DescribeQuorum(describe.reply());
  CHECK(describe.value->status().code() == absl::StatusCode::kUnavailable);
  CHECK(!metadata::ParseLeaderHint(describe.value->status()).has_value());
}

TEST_CASE("topic creation validates names, counts, replication and configs") {
  Fixture f;
  f.Register(1);
  CHECK(f.Create("ok", 3, 1).error_code() == 0);
  CHECK(f.Create("ok", 3, 1).error_code() == Code(ErrorCode::kTopicAlreadyExists));
  CHECK(f.Create("bad name", 1, 1).error_code() == Code(ErrorCode::kInvalidTopicException));
  CHECK(f.Create(std::string(250, 'x'), 1, 1).error_code() == Code(ErrorCode::kInvalidTopicException));
  CHECK(f.Create("..", 1, 1).error_code() == Code(ErrorCode::kInvalidTopicException));
  CHECK(f.Create("zero", 0, 1).error_code() == Code(ErrorCode::kInvalidPartitions));
  CHECK(f.Create("rf", 1, 2).error_code() == Code(ErrorCode::kInvalidReplicationFactor));
  CHECK(f.Create("cfg", 1, 1, {{"retention.ms", "abc"}}).error_code() == Code(ErrorCode::kInvalidConfig));
  CHECK(f.Create("cfg2", 1, 1, {{"cleanup.policy", "shred"}}).error_code() == Code(ErrorCode::kInvalidConfig));
  CHECK(f.Create("compacted", 1, 1, {{"cleanup.policy", "compact,delete"}}).error_code() == 0);
  CHECK(f.Create("defaults", -1, -1).num_partitions() == 1);
  CHECK(f.Create("assigned", -1, -1, {}, {{1}, {7}}).error_code() == Code(ErrorCode::kInvalidReplicaAssignment));
  auto topic = f.image().FindTopic("ok");
  REQUIRE(topic);
  REQUIRE(topic->partitions.size() == 3);
  for (const auto& p : topic->partitions) CHECK(p.leader == 1);
  CHECK(f.image().FindTopic("compacted")->configs.at("cleanup.policy") == "compact,delete");
}

TEST_CASE("a request for more than 10,000 partitions is refused before anything is allocated") {
  // Found by a wire fuzzer: 100,000 partitions hung the controller, and validate_only with
  // 2,147,483,647 partitions grew it to 2.4 GB. Kafka refuses more than 10,000 partitions per
  // request with POLICY_VIOLATION for every topic of it.
  Fixture f;
  f.Register(1);
  auto create = [&](std::vector<int32_t> counts, bool validate_only) {
    metadata::CreateTopicsRequest request;
    request.set_validate_only(validate_only);
    request.set_default_num_partitions(1);
    request.set_default_replication_factor(1);
    for (size_t i = 0; i < counts.size(); ++i) {
      auto* topic = request.add_topics();
      topic->set_name(fmt::format("t{}", i));
      topic->set_num_partitions(counts[i]);
      topic->set_replication_factor(1);
    }
    auto response = f.Run<metadata::CreateTopicsResponse>([&](auto r) { f.c().CreateTopics(request, r); });
    REQUIRE(response.ok());
    return *response;
  };
  for (bool validate_only : {false, true}) {
    for (const auto& counts : std::vector<std::vector<int32_t>>{{100'000}, {INT32_MAX}, {5'000, 5'001}, {INT32_MAX, INT32_MAX}}) {
      const auto response = create(counts, validate_only);
      REQUIRE(response.results_size() == static_cast<int>(counts.size()));
      for (const auto& result : response.results()) {
        CHECK(result.error_code() == Code(ErrorCode::kPolicyViolation));
        CHECK(result.error_message() == "Excessively large number of partitions per request.");
      }
    }
  }
  CHECK(f.image().topics().empty());
  CHECK(create({10'000}, /*validate_only=*/true).results(0).error_code() == 0);
  CHECK(f.image().topics().empty());
  REQUIRE(create({10'000}, /*validate_only=*/false).results(0).error_code() == 0);
  CHECK(f.image().FindTopic("t0")->partitions.size() == 10'000);

  metadata::CreatePartitionsRequest more;
  more.set_validate_only(true);
  more.add_topics()->set_name("t0");
  more.mutable_topics(0)->set_count(INT32_MAX);
  auto added = f.Run<metadata::CreatePartitionsResponse>([&](auto r) { f.c().CreatePartitions(more, r); });
  CHECK(added->results(0).error_code() == Code(ErrorCode::kPolicyViolation));
  more.set_validate_only(false);
  more.mutable_topics(0)->set_count(20'001);
  added = f.Run<metadata::CreatePartitionsResponse>([&](auto r) { f.c().CreatePartitions(more, r); });
  CHECK(added->results(0).error_code() == Code(ErrorCode::kPolicyViolation));
  more.mutable_topics(0)->set_count(20'000);
  added = f.Run<metadata::CreatePartitionsResponse>([&](auto r) { f.c().CreatePartitions(more, r); });
  CHECK(added->results(0).error_code() == 0);
  CHECK(f.image().FindTopic("t0")->partitions.size() == 20'000);
}

TEST_CASE("replication factors and replica lists are checked against the brokers before placement") {
  Fixture f;
  f.Register(1);
  CHECK(f.Create("rf", 1, 32'767).error_code() == Code(ErrorCode::kInvalidReplicationFactor));
  // A replica list longer than the brokers there are is refused without building it.
  std::vector<int32_t> huge(1'000'000, 1);
  CHECK(f.Create("list", -1, -1, {}, {huge}).error_code() == Code(ErrorCode::kInvalidReplicaAssignment));
  REQUIRE(f.Create("t", 1, 1).error_code() == 0);
  metadata::CreatePartitionsRequest more;
  more.add_topics()->set_name("t");
  more.mutable_topics(0)->set_count(2);
  auto* assignment = more.mutable_topics(0)->add_assignments();
  for (int32_t id : huge) assignment->add_broker_ids(id);
  auto added = f.Run<metadata::CreatePartitionsResponse>([&](auto r) { f.c().CreatePartitions(more, r); });
  CHECK(added->results(0).error_code() == Code(ErrorCode::kInvalidReplicaAssignment));
  CHECK(f.image().FindTopic("t")->partitions.size() == 1);
}

TEST_CASE("names and config bytes that are not UTF-8 parse and are refused with Kafka's codes") {
  // Found by a wire fuzzer: a topic name that is not UTF-8 made the controller's request fail
  // to parse (protobuf strings must be UTF-8), so the client waited for REQUEST_TIMED_OUT.
  Fixture f;
  f.Register(1);
  REQUIRE(f.Create("t", 1, 1).error_code() == 0);
  const std::string bad = "bad\xff\xfe";
  const std::string not_utf8 = bad.substr(3, 1);
  auto reparsed = [](const auto& message) {
    std::decay_t<decltype(message)> copy;
    REQUIRE(copy.ParseFromString(message.SerializeAsString()));
    return copy;
  };
  metadata::CreateTopicsRequest create;
  auto* topic = create.add_topics();
  topic->set_name(bad);
  topic->set_num_partitions(1);
  topic->set_replication_factor(1);
  (*topic->mutable_configs())["retention.ms"] = not_utf8;
  auto created = f.Run<metadata::CreateTopicsResponse>([&](auto r) { f.c().CreateTopics(reparsed(create), r); });
  CHECK(reparsed(*created).results(0).error_code() == Code(ErrorCode::kInvalidTopicException));

  metadata::DeleteTopicsRequest remove;
  remove.add_names(bad);
  auto deleted = f.Run<metadata::DeleteTopicsResponse>([&](auto r) { f.c().DeleteTopics(reparsed(remove), r); });
  CHECK(reparsed(*deleted).results(0).error_code() == Code(ErrorCode::kUnknownTopicOrPartition));

  metadata::AlterConfigsRequest alter;
  auto* resource = alter.add_resources();
  resource->set_resource_type(metadata::kTopicResource);
  resource->set_resource_name("t");
  auto* op = resource->add_ops();
  op->set_key("retention.ms");
  op->set_value(not_utf8);
  auto altered = f.Run<metadata::AlterConfigsResponse>([&](auto r) { f.c().AlterConfigs(reparsed(alter), r); });
  CHECK(reparsed(*altered).results(0).error_code() == Code(ErrorCode::kInvalidConfig));
  resource->set_resource_name(bad);
  altered = f.Run<metadata::AlterConfigsResponse>([&](auto r) { f.c().AlterConfigs(reparsed(alter), r); });
  CHECK(reparsed(*altered).results(0).error_code() == Code(ErrorCode::kUnknownTopicOrPartition));
}

TEST_CASE("rack-aware placement spreads replicas over racks") {
  Fixture f;
  f.Register(1, "a");
  f.Register(2, "a");
  f.Register(3, "b");
  f.Register(4, "b");
  REQUIRE(f.Create("spread", 8, 2).error_code() == 0);
  for (const auto& p : f.image().FindTopic("spread")->partitions) {
    REQUIRE(p.replicas.size() == 2);
    CHECK(f.image().FindBroker(p.replicas[0])->rack != f.image().FindBroker(p.replicas[1])->rack);
  }
}

TEST_CASE("partitions are added, configs altered and producer id blocks never overlap") {
  Fixture f;
  f.Register(1);
  REQUIRE(f.Create("t", 2, 1, {{"retention.ms", "1000"}, {"segment.bytes", "100000"}}).error_code() == 0);
  metadata::CreatePartitionsRequest more;
  more.add_topics()->set_name("t");
  more.mutable_topics(0)->set_count(4);
  auto added = f.Run<metadata::CreatePartitionsResponse>([&](auto r) { f.c().CreatePartitions(more, r); });
  CHECK(added->results(0).error_code() == 0);
  CHECK(f.image().FindTopic("t")->partitions.size() == 4);
  more.mutable_topics(0)->set_count(3);
  added = f.Run<metadata::CreatePartitionsResponse>([&](auto r) { f.c().CreatePartitions(more, r); });
  CHECK(added->results(0).error_code() == Code(ErrorCode::kInvalidPartitions));

  metadata::AlterConfigsRequest alter;
  auto* resource = alter.add_resources();
  resource->set_resource_type(metadata::kTopicResource);
  resource->set_resource_name("t");
  auto* op = resource->add_ops();
  op->set_key("retention.ms");
  op->set_op(1);
  REQUIRE(f.Run<metadata::AlterConfigsResponse>([&](auto r) { f.c().AlterConfigs(alter, r); })->results(0).error_code() == 0);
  CHECK(f.image().FindTopic("t")->configs.count("retention.ms") == 0);
  resource->set_replace_all(true);
  op->set_key("flush.ms");
  op->set_op(0);
  op->set_value("10");
  REQUIRE(f.Run<metadata::AlterConfigsResponse>([&](auto r) { f.c().AlterConfigs(alter, r); })->results(0).error_code() == 0);
  CHECK(f.image().FindTopic("t")->configs == std::map<std::string, std::string>{{"flush.ms", "10"}});

  metadata::AllocateProducerIdsRequest ids;
  ids.set_broker_id(1);
  ids.set_broker_epoch(f.image().FindBroker(1)->epoch);
  // Two blocks planned in one entry still differ.
  Answer<metadata::AllocateProducerIdsResponse> blocker, a, b;
  f.c().AllocateProducerIds(ids, blocker.reply());
  f.c().AllocateProducerIds(ids, a.reply());
  f.c().AllocateProducerIds(ids, b.reply());
  f.quorum->CommitAll();
  CHECK(a.ok().first_producer_id() >= blocker.ok().first_producer_id() + blocker.ok().size());
  CHECK(b.ok().first_producer_id() >= a.ok().first_producer_id() + a.ok().size());
  ids.set_broker_epoch(12345);
  CHECK(!f.Run<metadata::AllocateProducerIdsResponse>([&](auto r) { f.c().AllocateProducerIds(ids, r); }).ok());

  metadata::DeleteTopicsRequest del;
  for (const std::string name : {"t", "missing"}) *del.add_names() = name;
  auto deleted = f.Run<metadata::DeleteTopicsResponse>([&](auto r) { f.c().DeleteTopics(del, r); });
  CHECK(deleted->results(0).error_code() == 0);
  CHECK(deleted->results(1).error_code() == Code(ErrorCode::kUnknownTopicOrPartition));
  CHECK(!f.image().FindTopic("t"));
}

TEST_CASE("APPEND and SUBTRACT edit list configs element by element and refuse other configs") {
  Fixture f;
  f.Register(1);
  REQUIRE(f.Create("t", 1, 1).error_code() == 0);
  auto alter = [&](const std::string& key, int32_t op, const std::string& value) {
    metadata::AlterConfigsRequest request;
    auto* resource = request.add_resources();
    resource->set_resource_type(metadata::kTopicResource);
    resource->set_resource_name("t");
    auto* change = resource->add_ops();
    change->set_key(key);
    change->set_op(op);
    change->set_value(value);
    return f.Run<metadata::AlterConfigsResponse>([&](auto r) { f.c().AlterConfigs(request, r); })->results(0).error_code();
  };
  constexpr int32_t kAppend = 2, kSubtract = 3;
  // Unset, so the default (delete) is the list appended to.
  REQUIRE(alter("cleanup.policy", kAppend, "compact") == 0);
  CHECK(f.image().FindTopic("t")->configs.at("cleanup.policy") == "delete,compact");
  REQUIRE(alter("cleanup.policy", kAppend, "compact") == 0);  // already there
  CHECK(f.image().FindTopic("t")->configs.at("cleanup.policy") == "delete,compact");
  REQUIRE(alter("cleanup.policy", kSubtract, "delete") == 0);
  CHECK(f.image().FindTopic("t")->configs.at("cleanup.policy") == "compact");
  CHECK(alter("cleanup.policy", kAppend, "shred") == Code(ErrorCode::kInvalidConfig));
  CHECK(alter("retention.ms", kAppend, "1000") == Code(ErrorCode::kInvalidConfig));
  CHECK(f.image().FindTopic("t")->configs.count("retention.ms") == 0);
}

TEST_CASE("registration epochs are entry offsets and fetches return entries after an offset") {
  Fixture f;
  const int64_t epoch = f.Register(1);
  CHECK(epoch == f.image().offset());
  CHECK(f.image().FindBroker(1)->epoch == epoch);
  f.Create("a", 2, 1);
  metadata::FetchMetadataRequest fetch;
  fetch.set_after_offset(-1);
  fetch.set_broker_id(1);
  auto all = f.c().FetchMetadata(fetch);
  REQUIRE(all.ok());
  REQUIRE(all->entries_size() == 3);  // cluster id, registration, topic with partitions
  CHECK(all->entries(2).records_size() == 3);
  CHECK(all->committed_offset() == f.image().offset());
  fetch.set_after_offset(f.image().offset());
  CHECK(f.c().FetchMetadata(fetch)->entries_size() == 0);

  Answer<metadata::DescribeQuorumResponse> describe;
  f.c().DescribeQuorum(describe.reply());
  const auto& quorum = describe.ok();
  CHECK(quorum.leader_id() == 3000);
  CHECK(quorum.leader_epoch() == 1);
  REQUIRE(quorum.observers_size() == 1);
  CHECK(quorum.observers(0).replica_id() == 1);
  CHECK(quorum.observers(0).log_end_offset() == f.image().offset());
  CHECK(quorum.voters(0).port() == 9093);
}

TEST_CASE("a broker whose lease lapses is fenced; every leadership change restarts the leases") {
  Fixture f(controller::ControllerOptions{.broker_session_timeout_ms = 1000});
  f.Register(1);
  f.Register(2);
  f.clock.AdvanceMs(600);
  f.Heartbeat(1);
  f.clock.AdvanceMs(600);
  f.c().Tick();
  f.quorum->CommitAll();
  CHECK(!f.image().FindBroker(1)->fenced);
  CHECK(f.image().FindBroker(2)->fenced);

  Answer<metadata::BrokerHeartbeatResponse> late;
  metadata::BrokerHeartbeatRequest request;
  request.set_broker_id(2);
  request.set_broker_epoch(f.image().FindBroker(2)->epoch);
  f.c().Heartbeat(/*session=*/1, request, late.reply());
  CHECK(late.ok().fenced());  // register again

  // A new leader gives broker 1 a whole session from its election, not from the last heartbeat.
  f.clock.AdvanceMs(900);
  f.quorum->Follow(2, 3001);
  f.quorum->Lead(3, 3000);
  f.clock.AdvanceMs(900);
  f.c().Tick();
  f.quorum->CommitAll();
  CHECK(!f.image().FindBroker(1)->fenced);
  f.clock.AdvanceMs(200);
  f.c().Tick();
  f.quorum->CommitAll();
  CHECK(f.image().FindBroker(1)->fenced);
}

TEST_CASE("a broker whose heartbeat connection closes is fenced after two heartbeat intervals") {
  Fixture f(controller::ControllerOptions{.broker_session_timeout_ms = 9000});
  f.Register(1);
  f.Register(2);
  for (int32_t id : {1, 2}) {
    Answer<metadata::BrokerHeartbeatResponse> answer;
    metadata::BrokerHeartbeatRequest request;
    request.set_broker_id(id);
    request.set_broker_epoch(f.image().FindBroker(id)->epoch);
    request.set_heartbeat_interval_ms(500);
    f.c().Heartbeat(/*session=*/100 + id, request, answer.reply());
    REQUIRE_FALSE(answer.ok().fenced());
  }
  f.c().OnSessionClosed(/*session=*/101);
  f.c().OnSessionClosed(/*session=*/999);  // not a heartbeat connection: nothing happens
  f.clock.AdvanceMs(999);
  f.c().Tick();
  f.quorum->CommitAll();
  CHECK(!f.image().FindBroker(1)->fenced);
  f.clock.AdvanceMs(2);
  f.c().Tick();
  f.quorum->CommitAll();
  CHECK(f.image().FindBroker(1)->fenced);
  CHECK(!f.image().FindBroker(2)->fenced);  // its lease still runs for the whole session
}
