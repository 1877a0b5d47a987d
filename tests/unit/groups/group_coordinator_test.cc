#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <thread>

#include "broker/config/broker_config.h"
#include "broker/groups/coordinator_key.h"
#include "broker/groups/group_coordinator.h"
#include "broker/replication/replica_fetchers.h"
#include "tests/unit/storage_log/log_test_util.h"
#include "tests/unit/wait_until.h"

namespace {

using namespace sluice;
using namespace sluice::broker;
using namespace sluice::broker::groups;
using kafka::ErrorCode;

constexpr int32_t kBrokerId = 1;
constexpr int32_t kOffsetsPartitions = 2;
constexpr int64_t kRetentionMs = 60000;

// A coordinator over real logs and a metadata image made by hand; the controller link is never
// used because the offsets topic exists from the start.
struct Harness {
  storage::testing::TempDir dir;
  ManualClock clock{1'700'000'000'000};
  config::Properties config{&BrokerSchema()};
  net::IoContextPool shards{1};
  asio::thread_pool background{1};
  MetadataCache metadata;
  ReplicaContext context{.broker_id = kBrokerId, .clock = clock, .shards = shards, .background = background,
                         .metadata = metadata};
  PartitionManager partitions{dir.path(), config, context};
  asio::io_context unused_io;
  ControllerLink controller{unused_io, {}, metadata, partitions};
  std::unique_ptr<GroupCoordinator> coordinator;
  int64_t image_offset = 0;
  int32_t leader_epoch = 0;

  Harness() {
    context.fetchers.push_back(std::make_unique<ReplicaFetchers>(shards.at(0), context));
    context.broker_epoch = [] { return int64_t{1}; };
    context.alter_partition = [](const metadata::AlterPartitionRequest&, ReplicaContext::AlterPartitionDone) {};
    PublishLeader(kBrokerId);
  }
  ~Harness() {
    if (coordinator) coordinator->Stop();
    shards.Stop();
    context.fetchers.clear();
    background.stop();
    background.join();
    partitions.Shutdown();
  }

  // Every publication is a new leadership (a new leader epoch), as the controller would make it.
  void PublishLeader(int32_t leader) {
    ++leader_epoch;
    auto image = std::make_shared<metadata::MetadataImage>(*metadata.Current());
    metadata::Record record;
    auto* broker = record.mutable_broker_registration();
    broker->set_broker_id(kBrokerId);
    broker->set_host("127.0.0.1");
    broker->set_port(9092);
    REQUIRE(image->Apply(record, image_offset++).ok());
    const std::string id(16, '\x07');
    if (!image->FindTopic(kOffsetsTopic)) {
      record.Clear();
      record.mutable_topic()->set_name(kOffsetsTopic);
      record.mutable_topic()->set_topic_id(id);
      REQUIRE(image->Apply(record, image_offset++).ok());
    }
    for (int32_t p = 0; p < kOffsetsPartitions; ++p) {
      record.Clear();
      auto* partition = record.mutable_partition();
      partition->set_topic_id(id);
      partition->set_partition(p);
      partition->add_replicas(kBrokerId);
      partition->add_isr(kBrokerId);
      partition->set_leader(leader);
      partition->set_leader_epoch(leader_epoch);
      partition->set_partition_epoch(leader_epoch);
      REQUIRE(image->Apply(record, image_offset++).ok());
    }
    metadata.Publish(image);
    partitions.Apply(*image, true);
  }

  void NewCoordinator() {
    if (coordinator) coordinator->Stop();
    CoordinatorOptions options;
    options.broker_id = kBrokerId;
    options.initial_rebalance_delay_ms = 0;
    options.offsets_retention_ms = kRetentionMs;
    options.retention_check_interval_ms = 10;
    coordinator = std::make_unique<GroupCoordinator>(options, metadata, partitions, controller, clock);
  }

  // Runs `task` on the coordinator thread and returns its result.
  template <class Task>
  auto On(Task task) {
    std::promise<decltype(task())> result;
    auto future = result.get_future();
    coordinator->Post([&] { result.set_value(task()); });
    REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    return future.get();
  }

  // Commits offsets for `group` (created if needed) and waits until they are committed.
  void Commit(const std::string& group, std::vector<std::pair<TopicPartition, CommittedOffset>> offsets) {
    std::promise<absl::Status> committed;
    coordinator->Post([&] {
      coordinator->FindOrCreate(group);
      coordinator->CommitOffsets(group, std::move(offsets), [&](absl::Status s) { committed.set_value(s); });
    });
    auto future = committed.get_future();
    REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    REQUIRE(future.get().ok());
  }

  // Bounded wait for a condition evaluated on the coordinator thread.
  template <class Condition>
  void WaitFor(Condition condition, const char* what) {
    sluice::testing::WaitUntil([&] { return static_cast<bool>(On(condition)); }, what);
  }
};

}  // namespace

TEST_CASE("commits survive a coordinator restart; requests meanwhile get COORDINATOR_LOAD_IN_PROGRESS") {
  Harness h;
  h.NewCoordinator();
  h.coordinator->Start();
  h.WaitFor([&] { return h.coordinator->CheckGroupId("g") == ErrorCode::kNone; }, "the first load");
  CHECK(h.On([&] { return h.coordinator->CheckGroupId(""); }) == ErrorCode::kInvalidGroupId);
  h.Commit("g", {{{"t", 0}, {.offset = 5}}, {{"t", 1}, {.offset = 9}}});
  h.Commit("g", {{{"t", 0}, {.offset = 6}}});

  h.NewCoordinator();
  // Queued before the first tick notices leadership: the group is known to be loading.
  std::promise<ErrorCode> during_load;
  h.coordinator->Post([&] { during_load.set_value(h.coordinator->CheckGroupId("g")); });
  h.coordinator->Start();
  CHECK(during_load.get_future().get() == ErrorCode::kCoordinatorLoadInProgress);
  h.WaitFor([&] { return h.coordinator->CheckGroupId("g") == ErrorCode::kNone; }, "the reload");
  auto offsets = h.On([&] { return h.coordinator->Find("g")->offsets(); });
  REQUIRE(offsets.size() == 2);
  CHECK(offsets.at({"t", 0}).offset == 6);
  CHECK(offsets.at({"t", 1}).offset == 9);
}

TEST_CASE("offsets of an empty group expire after the retention period, durably") {
  Harness h;
  h.NewCoordinator();
  h.coordinator->Start();
  h.WaitFor([&] { return h.coordinator->CheckGroupId("g") == ErrorCode::kNone; }, "the first load");
  h.Commit("g", {{{"t", 0}, {.offset = 1, .commit_timestamp_ms = h.clock.NowMs()}}});
  // The clock moves on the coordinator thread, which reads it.
  h.On([&] {
    h.clock.AdvanceMs(kRetentionMs - 1);
    return true;
  });
  CHECK(h.On([&] { return h.coordinator->Find("g") != nullptr; }));
  h.On([&] {
    h.clock.AdvanceMs(20);  // past the retention and the next check (every 10 ms)
    return true;
  });
  h.WaitFor([&] { return h.coordinator->Find("g") == nullptr; }, "the offsets to expire");

  h.NewCoordinator();
  h.coordinator->Start();
  h.WaitFor([&] { return h.coordinator->CheckGroupId("g") == ErrorCode::kNone; }, "the reload");
  CHECK(h.On([&] { return h.coordinator->Find("g") == nullptr; }));
}

TEST_CASE("losing leadership of an offsets partition unloads its groups and answers waiting joins") {
  Harness h;
  h.NewCoordinator();
  h.coordinator->Start();
  h.WaitFor([&] { return h.coordinator->CheckGroupId("g") == ErrorCode::kNone; }, "the first load");
  auto answer = std::make_shared<std::promise<ErrorCode>>();
  h.On([&] {
    JoinParams params{.client_id = "c", .session_timeout_ms = 10000, .rebalance_timeout_ms = 600000,
                      .protocol_type = "consumer", .protocols = {{"range", "m"}}};
    h.coordinator->FindOrCreate("g").Join(params, h.clock.NowMs(), [answer](JoinResult r) { answer->set_value(r.error); });
    return true;
  });
  // The first join of an empty group completes at once (no initial delay); a second member's
  // join waits for the rebalance, and is answered when the group moves away.
  REQUIRE(answer->get_future().get() == ErrorCode::kNone);
  auto waiting = std::make_shared<std::promise<ErrorCode>>();
  h.On([&] {
    JoinParams params{.client_id = "d", .session_timeout_ms = 10000, .rebalance_timeout_ms = 600000,
                      .protocol_type = "consumer", .protocols = {{"range", "m"}}};
    h.coordinator->Find("g")->Join(params, h.clock.NowMs(), [waiting](JoinResult r) { waiting->set_value(r.error); });
    return true;
  });
  h.PublishLeader(2);
  auto future = waiting->get_future();
  REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(future.get() == ErrorCode::kNotCoordinator);
  CHECK(h.On([&] { return h.coordinator->CheckGroupId("g"); }) == ErrorCode::kNotCoordinator);
}
