#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <optional>

#include "broker/config/broker_config.h"
#include "broker/replication/replica_fetchers.h"
#include "broker/txn/transaction_coordinator.h"
#include "broker/txn/transaction_records.h"
#include "tests/unit/storage_log/log_test_util.h"
#include "tests/unit/wait_until.h"

namespace {

using namespace sluice;
using namespace sluice::broker;
using namespace sluice::broker::txn;
using kafka::ErrorCode;

constexpr int32_t kBrokerId = 1;
constexpr int32_t kStatePartitions = 2;
constexpr int64_t kExpirationMs = 3'600'000;

// A coordinator over real logs and a metadata image made by hand; the controller link is never
// used because __transaction_state exists from the start. Transactions here hold partitions of
// topics the image does not have, so they need no markers: their ends complete at once.
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
  // Producer ids in blocks of 10, as the controller would hand them out.
  int64_t next_block = 1000;
  ProducerIdManager producer_ids{[this](auto done) {
    done(std::make_pair(next_block, 10));
    next_block += 10;
  }};
  std::unique_ptr<TransactionCoordinator> coordinator;
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

  void PublishLeader(int32_t leader) {
    ++leader_epoch;
    auto image = std::make_shared<metadata::MetadataImage>(*metadata.Current());
    metadata::Record record;
    auto* broker = record.mutable_broker_registration();
    broker->set_broker_id(kBrokerId);
    broker->set_host("127.0.0.1");
    broker->set_port(9092);
    REQUIRE(image->Apply(record, image_offset++).ok());
    const std::string id(16, '\x09');
    if (!image->FindTopic(kTransactionStateTopic)) {
      record.Clear();
      record.mutable_topic()->set_name(kTransactionStateTopic);
      record.mutable_topic()->set_topic_id(id);
      REQUIRE(image->Apply(record, image_offset++).ok());
    }
    for (int32_t p = 0; p < kStatePartitions; ++p) {
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
    TxnCoordinatorOptions options;
    options.broker_id = kBrokerId;
    options.state_topic_partitions = kStatePartitions;
    options.abort_timed_out_interval_ms = 10;
    options.remove_expired_interval_ms = 10;
    options.id_expiration_ms = kExpirationMs;
    coordinator = std::make_unique<TransactionCoordinator>(options, metadata, partitions, controller, producer_ids,
                                                           clock, ReplicationOptions::InterBrokerSecurity{});
    coordinator->Start();
  }

  template <class T>
  static T Await(std::future<T> future) {
    REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    return future.get();
  }

  InitProducerIdResult Init(const std::string& id, int32_t timeout_ms = 60000, int64_t expected_pid = -1,
                            int16_t expected_epoch = -1) {
    auto result = std::make_shared<std::promise<InitProducerIdResult>>();
    coordinator->InitProducerId(id, timeout_ms, expected_pid, expected_epoch,
                                [result](InitProducerIdResult r) { result->set_value(r); });
    return Await(result->get_future());
  }

  // Retries while the coordinator is loading or finishing an abort, as clients do.
  InitProducerIdResult InitWhenReady(const std::string& id, int32_t timeout_ms = 60000) {
    return *sluice::testing::WaitUntil(
        [&]() -> std::optional<InitProducerIdResult> {
          auto result = Init(id, timeout_ms);
          const bool retry = result.error == ErrorCode::kCoordinatorLoadInProgress ||
                             result.error == ErrorCode::kConcurrentTransactions;
          return retry ? std::nullopt : std::optional(result);
        },
        "InitProducerId for " + id + " past loading and aborts");
  }

  ErrorCode Add(const std::string& id, int64_t pid, int16_t epoch, std::set<TopicPartition> tps) {
    auto result = std::make_shared<std::promise<ErrorCode>>();
    coordinator->AddPartitions(id, pid, epoch, std::move(tps), [result](ErrorCode e) { result->set_value(e); });
    return Await(result->get_future());
  }

  ErrorCode End(const std::string& id, int64_t pid, int16_t epoch, bool commit) {
    auto result = std::make_shared<std::promise<ErrorCode>>();
    coordinator->EndTxn(id, pid, epoch, commit, [result](ErrorCode e) { result->set_value(e); });
    return Await(result->get_future());
  }

  TransactionCoordinator::Described Describe(const std::string& id) {
    auto result = std::make_shared<std::promise<TransactionCoordinator::Described>>();
    coordinator->Describe({id}, [result](std::vector<TransactionCoordinator::Described> d) { result->set_value(d[0]); });
    return Await(result->get_future());
  }

  // Bounded wait for the id's described state.
  TransactionCoordinator::Described WaitForState(const std::string& id, TxnState state) {
    return *sluice::testing::WaitUntil(
        [&]() -> std::optional<TransactionCoordinator::Described> {
          auto described = Describe(id);
          const bool reached = described.error == ErrorCode::kNone && described.txn.state == state;
          return reached ? std::optional(described) : std::nullopt;
        },
        id + " to be " + std::string(StateName(state)));
  }

  // The clock moves on the coordinator thread, which reads it.
  void Advance(int64_t ms) {
    auto done = std::make_shared<std::promise<bool>>();
    coordinator->Post([this, ms, done] {
      clock.AdvanceMs(ms);
      done->set_value(true);
    });
    Await(done->get_future());
  }
};

}  // namespace

TEST_CASE("InitProducerId: a new id, an epoch bump, a KIP-360 retry, a bad timeout; state survives a restart") {
  Harness h;
  h.NewCoordinator();
  const auto first = h.InitWhenReady("tx");
  REQUIRE(first.error == ErrorCode::kNone);
  CHECK(first.producer_id == 1000);
  CHECK(first.producer_epoch == 0);
  CHECK(h.Init("tx", 1'000'000'000).error == ErrorCode::kInvalidTransactionTimeout);
  CHECK(h.Init("").error == ErrorCode::kInvalidRequest);

  const auto second = h.Init("tx");
  CHECK(second.error == ErrorCode::kNone);
  CHECK((second.producer_id == 1000 && second.producer_epoch == 1));
  // KIP-360: the producer asks to bump epoch 1; a retry with the same epoch gets the same answer.
  const auto bumped = h.Init("tx", 60000, 1000, 1);
  CHECK((bumped.error == ErrorCode::kNone && bumped.producer_epoch == 2));
  CHECK(h.Init("tx", 60000, 1000, 1).producer_epoch == 2);
  CHECK(h.Init("tx", 60000, 1000, 0).error == ErrorCode::kProducerFenced);
  CHECK(h.Init("tx", 60000, 77, 2).error == ErrorCode::kProducerFenced);

  h.NewCoordinator();
  const auto reloaded = h.InitWhenReady("tx");
  CHECK((reloaded.producer_id == 1000 && reloaded.producer_epoch == 3));
}

TEST_CASE("a transaction is added to, committed, and its retried end answered as Kafka does") {
  Harness h;
  h.NewCoordinator();
  const auto p = h.InitWhenReady("tx");
  CHECK(h.End("tx", p.producer_id, p.producer_epoch, true) == ErrorCode::kInvalidTxnState);
  CHECK(h.Add("nope", p.producer_id, p.producer_epoch, {{"t", 0}}) == ErrorCode::kInvalidProducerIdMapping);
  CHECK(h.Add("tx", p.producer_id, p.producer_epoch + 1, {{"t", 0}}) == ErrorCode::kProducerFenced);
  REQUIRE(h.Add("tx", p.producer_id, p.producer_epoch, {{"t", 0}, {"t", 1}}) == ErrorCode::kNone);
  auto ongoing = h.Describe("tx");
  CHECK(ongoing.txn.state == TxnState::kOngoing);
  CHECK(ongoing.txn.partitions.size() == 2);
  CHECK(ongoing.txn.start_ms == h.clock.NowMs());

  REQUIRE(h.End("tx", p.producer_id, p.producer_epoch, true) == ErrorCode::kNone);
  h.WaitForState("tx", TxnState::kCompleteCommit);
  CHECK(h.End("tx", p.producer_id, p.producer_epoch, true) == ErrorCode::kNone);
  CHECK(h.End("tx", p.producer_id, p.producer_epoch, false) == ErrorCode::kInvalidTxnState);
  CHECK(h.Describe("unknown").error == ErrorCode::kTransactionalIdNotFound);
}

TEST_CASE("the next transaction's first add waits for the previous one's markers instead of failing") {
  Harness h;
  h.NewCoordinator();
  const auto p = h.InitWhenReady("tx");
  REQUIRE(h.Add("tx", p.producer_id, p.producer_epoch, {{"t", 0}}) == ErrorCode::kNone);
  REQUIRE(h.End("tx", p.producer_id, p.producer_epoch, true) == ErrorCode::kNone);
  // Answered once CompleteCommit is written, not with CONCURRENT_TRANSACTIONS while the markers
  // are in flight (which would cost the client a retry backoff).
  CHECK(h.Add("tx", p.producer_id, p.producer_epoch, {{"t", 1}}) == ErrorCode::kNone);
  auto next = h.Describe("tx");
  CHECK(next.txn.state == TxnState::kOngoing);
  CHECK(next.txn.partitions == std::set<TopicPartition>{{"t", 1}});
}

TEST_CASE("a new producer fences an ongoing transaction: aborted at the next epoch, then the epoch after") {
  Harness h;
  h.NewCoordinator();
  const auto p = h.InitWhenReady("tx");
  REQUIRE(h.Add("tx", p.producer_id, p.producer_epoch, {{"t", 0}}) == ErrorCode::kNone);
  CHECK(h.Init("tx").error == ErrorCode::kConcurrentTransactions);
  const auto aborted = h.WaitForState("tx", TxnState::kCompleteAbort);
  CHECK(aborted.txn.producer_epoch == 1);
  CHECK(h.End("tx", p.producer_id, p.producer_epoch, true) == ErrorCode::kProducerFenced);
  const auto next = h.InitWhenReady("tx");
  CHECK((next.error == ErrorCode::kNone && next.producer_epoch == 2));
}

TEST_CASE("a transaction past its timeout is aborted with an epoch bump; idle ids expire durably") {
  Harness h;
  h.NewCoordinator();
  const auto p = h.InitWhenReady("slow", 1000);
  REQUIRE(h.Add("slow", p.producer_id, p.producer_epoch, {{"t", 0}}) == ErrorCode::kNone);
  h.Advance(999);
  CHECK(h.Describe("slow").txn.state == TxnState::kOngoing);
  h.Advance(20);
  const auto aborted = h.WaitForState("slow", TxnState::kCompleteAbort);
  CHECK(aborted.txn.producer_epoch == p.producer_epoch + 1);

  h.Advance(kExpirationMs + 20);
  sluice::testing::WaitUntil([&] { return h.Describe("slow").error == ErrorCode::kTransactionalIdNotFound; },
                             "the idle id to expire");
  h.NewCoordinator();
  const auto fresh = h.InitWhenReady("slow");
  CHECK(fresh.producer_id != p.producer_id);  // the tombstone was replayed: a new id
  CHECK(fresh.producer_epoch == 0);
}

TEST_CASE("losing leadership of a __transaction_state partition answers NOT_COORDINATOR") {
  Harness h;
  h.NewCoordinator();
  REQUIRE(h.InitWhenReady("tx").error == ErrorCode::kNone);
  h.PublishLeader(2);
  // Once the coordinator noticed (a write may meet the new leadership before it does).
  sluice::testing::WaitUntil([&] { return h.Describe("tx").error == ErrorCode::kNotCoordinator; },
                             "the coordinator to notice the new leader");
  CHECK(h.Init("tx").error == ErrorCode::kNotCoordinator);
}
