#pragma once
// A partition replica on a real log and a real shard, with the context it talks to: the
// harness of the replica tests.

#include <catch2/catch.hpp>

#include <future>

#include <asio/post.hpp>

#include "broker/cluster/partition.h"
#include "broker/replication/replica_fetchers.h"
#include "broker/txn/producer_state.h"
#include "tests/unit/storage_log/log_test_util.h"
#include "tests/unit/wait_until.h"

namespace sluice::broker::testing {

using namespace sluice;
using namespace sluice::broker;
using kafka::ErrorCode;
using storage::testing::MakeBatch;
using storage::testing::TempDir;

constexpr int32_t kSelf = 1;

// One shard, a background pool, a metadata image where brokers 1-3 are live, and a recording
// controller: everything a replica talks to.
struct Harness {
  explicit Harness(int64_t lag_time_max_ms = 60000) : lag(lag_time_max_ms) { Init(); }

  int64_t lag;
  TempDir dir;
  net::IoContextPool shards{1};
  asio::thread_pool background{1};
  MetadataCache metadata;
  ReplicaContext context{.broker_id = kSelf,
                         .clock = SystemClock::Instance(),
                         .options = {.replica_lag_time_max_ms = lag},
                         .shards = shards,
                         .background = background,
                         .metadata = metadata};
  std::vector<metadata::AlterPartitionRequest> proposals;  // shard only
  std::shared_ptr<Partition> partition;

  void Init() {
    auto image = std::make_shared<metadata::MetadataImage>();
    for (int32_t id = 1; id <= 3; ++id) {
      metadata::Record record;
      record.mutable_broker_registration()->set_broker_id(id);
      record.mutable_broker_registration()->set_broker_epoch(100 + id);
      REQUIRE(image->Apply(record, id).ok());
    }
    metadata.Publish(image);
    context.fetchers.push_back(std::make_unique<ReplicaFetchers>(shards.at(0), context));
    context.broker_epoch = [] { return int64_t{101}; };
    context.alter_partition = [this](const metadata::AlterPartitionRequest& request, ReplicaContext::AlterPartitionDone) {
      proposals.push_back(request);  // never answered: the test plays the controller through metadata
    };
    auto log = storage::PartitionLog::Open(dir.path() / "t-0", {}, context.clock);
    REQUIRE(log.ok());
    partition = std::make_shared<Partition>(metadata::TopicId{1}, "t", 0, 0, std::move(*log), ProducerStateTable(), context);
  }
  template <class Task>
  auto On(Task task) {
    std::promise<decltype(task())> result;
    asio::post(shards.at(0), [&] { result.set_value(task()); });
    auto future = result.get_future();
    REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    return future.get();
  }

  ~Harness() {
    On([&] {
      partition->Stop();
      context.fetchers[0]->Stop();
      return true;
    });
    shards.Stop();
  }

  // Bounded wait for a condition evaluated on the shard.
  template <class Condition>
  void WaitFor(Condition condition, const char* what) {
    sluice::testing::WaitUntil([&] { return static_cast<bool>(On(condition)); }, what);
  }

  void Assign(int32_t leader, int32_t leader_epoch, int32_t partition_epoch, std::vector<int32_t> isr) {
    On([&] {
      partition->ApplyAssignment({.leader = leader, .leader_epoch = leader_epoch, .partition_epoch = partition_epoch,
                                  .replicas = {1, 2, 3}, .isr = isr});
      return true;
    });
  }

  // Produces one batch of `records` records; the outcome arrives later for acks=all.
  std::shared_ptr<std::optional<ProduceOutcome>> Produce(int records, int16_t acks, int64_t timeout_ms = 10000) {
    auto outcome = std::make_shared<std::optional<ProduceOutcome>>();
    On([&] {
      std::string batch = MakeBatch(records, 1000);
      auto header = kafka::ParseBatchHeader(batch);
      REQUIRE(header.ok());
      partition->Produce(std::span<char>(batch.data(), batch.size()), *header, acks, timeout_ms,
                         [outcome](ProduceOutcome o) { *outcome = std::move(o); });
      return true;
    });
    return outcome;
  }

  PartitionReadResult FollowerRead(int32_t replica, int64_t offset, int32_t last_epoch = -1, int64_t log_start = 0) {
    return On([&] {
      return partition->Read({.fetch_offset = offset, .last_fetched_epoch = last_epoch, .max_bytes = 1 << 20,
                              .min_one_batch = true, .replica_id = replica, .log_start_offset = log_start},
                             nullptr);
    });
  }

  // Starts a DeleteRecords; the outcome arrives later.
  std::shared_ptr<std::optional<DeleteRecordsOutcome>> DeleteRecords(int64_t offset, int64_t timeout_ms = 10000) {
    auto outcome = std::make_shared<std::optional<DeleteRecordsOutcome>>();
    On([&] {
      partition->DeleteRecords(offset, timeout_ms, [outcome](DeleteRecordsOutcome o) { *outcome = o; });
      return true;
    });
    return outcome;
  }
};


}  // namespace sluice::broker::testing
