// Transactions on a partition leader: markers are written with acks=all, the last stable offset
// holds read_committed consumers back until a transaction's marker is committed, aborted
// transactions are reported with the data they cover, and a producer's first transactional
// write waits for the coordinator's verification.

#include <endian.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <deque>

#include "broker/cluster/partition.h"
#include "protocol/kafka/batch/control_record.h"
#include "protocol/kafka/batch/record_batch_builder.h"
#include "tests/unit/broker/replica_harness.h"

namespace {

using namespace sluice;
using namespace sluice::broker;
using broker::testing::Harness;
using broker::testing::kSelf;
using kafka::ErrorCode;

using Outcome = std::shared_ptr<std::optional<ProduceOutcome>>;

std::string TxnBatch(int64_t producer_id, int16_t epoch, int32_t sequence, bool transactional = true) {
  kafka::RecordBatchBuilder builder(kafka::RecordBatchBuilder::Options{
      .producer_id = producer_id, .producer_epoch = epoch, .base_sequence = sequence, .transactional = transactional});
  builder.Add("k", "v", 1000);
  return builder.Build().value();
}

Outcome Produce(Harness& h, std::string batch, TxnVerify verify = nullptr) {
  auto outcome = std::make_shared<std::optional<ProduceOutcome>>();
  auto bytes = std::make_shared<std::string>(std::move(batch));  // lives until the answer
  h.On([&] {
    auto header = kafka::ParseBatchHeader(*bytes);
    REQUIRE(header.ok());
    h.partition->Produce(
        std::span<char>(bytes->data(), bytes->size()), *header, 1, 10000,
        [outcome, bytes](ProduceOutcome o) { *outcome = std::move(o); }, std::move(verify));
    return true;
  });
  return outcome;
}

Outcome Marker(Harness& h, int64_t producer_id, int16_t epoch, bool commit, int32_t coordinator_epoch = 0) {
  auto outcome = std::make_shared<std::optional<ProduceOutcome>>();
  h.On([&] {
    h.partition->AppendTxnMarker(producer_id, epoch, commit, coordinator_epoch, 10000,
                                 [outcome](ProduceOutcome o) { *outcome = std::move(o); });
    return true;
  });
  return outcome;
}

PartitionReadResult ConsumerRead(Harness& h, int64_t offset, bool read_committed) {
  return h.On([&] {
    return h.partition->Read(
        {.fetch_offset = offset, .max_bytes = 1 << 20, .min_one_batch = true, .read_committed = read_committed},
        nullptr);
  });
}

}  // namespace

TEST_CASE("a marker answers once committed, and the LSO moves only then") {
  Harness h;
  h.Assign(kSelf, 1, 1, {1, 2});
  auto data = Produce(h, TxnBatch(5, 0, 0));  // offset 0
  REQUIRE(data->has_value());
  CHECK((*data)->error == ErrorCode::kNone);
  h.FollowerRead(2, 1);  // the follower holds the batch: high watermark 1
  CHECK(h.partition->high_watermark() == 1);
  CHECK(h.partition->last_stable_offset() == 0);  // the open transaction holds it back
  CHECK(ConsumerRead(h, 0, /*read_committed=*/true).data.bytes == 0);
  CHECK(ConsumerRead(h, 0, /*read_committed=*/false).data.bytes > 0);
  CHECK(ConsumerRead(h, 0, true).last_stable_offset == 0);

  auto marker = Marker(h, 5, 0, /*commit=*/true);  // offset 1
  CHECK(!marker->has_value());  // acks=all: the follower does not have it yet
  CHECK(h.partition->last_stable_offset() == 0);
  h.FollowerRead(2, 2);
  h.WaitFor([&] { return marker->has_value(); }, "the marker's answer");
  CHECK((*marker)->error == ErrorCode::kNone);
  CHECK((*marker)->base_offset == 1);
  CHECK(h.partition->last_stable_offset() == 2);
  auto committed = ConsumerRead(h, 0, true);
  CHECK(committed.data.bytes > 0);
  CHECK(committed.aborted_transactions.empty());
}

TEST_CASE("read_committed reads report the aborted transactions they overlap") {
  Harness h;
  h.Assign(kSelf, 1, 1, {1});
  REQUIRE(Produce(h, TxnBatch(5, 0, 0))->has_value());  // 0
  REQUIRE(Produce(h, TxnBatch(6, 0, 0))->has_value());  // 1
  REQUIRE(Marker(h, 5, 0, /*commit=*/false)->has_value());  // 2
  CHECK(h.partition->last_stable_offset() == 1);  // producer 6 is still open
  auto partial = ConsumerRead(h, 0, true);
  REQUIRE(partial.aborted_transactions.size() == 1);
  CHECK(partial.aborted_transactions[0] == AbortedTxn{.producer_id = 5, .first_offset = 0, .last_offset = 2});
  REQUIRE(Marker(h, 6, 0, /*commit=*/true)->has_value());  // 3
  CHECK(h.partition->last_stable_offset() == 4);
  CHECK(ConsumerRead(h, 0, true).aborted_transactions.size() == 1);
  CHECK(ConsumerRead(h, 3, true).aborted_transactions.empty());  // from past the abort marker
  CHECK(ConsumerRead(h, 0, false).aborted_transactions.empty());  // read_uncommitted: none
}

TEST_CASE("stale markers and non-transactional writes inside a transaction are refused") {
  Harness h;
  h.Assign(kSelf, 1, 1, {1});
  REQUIRE(Produce(h, TxnBatch(5, 3, 0))->has_value());
  auto stale = Marker(h, 5, 2, true);
  REQUIRE(stale->has_value());
  CHECK((*stale)->error == ErrorCode::kInvalidProducerEpoch);
  auto plain = Produce(h, TxnBatch(5, 3, 1, /*transactional=*/false));
  REQUIRE(plain->has_value());
  CHECK((*plain)->error == ErrorCode::kInvalidTxnState);
  // A producer with nothing open here still gets its marker.
  auto lone = Marker(h, 9, 0, false);
  REQUIRE(lone->has_value());
  CHECK((*lone)->error == ErrorCode::kNone);
  std::vector<ProducerSummary> producers;
  CHECK(h.On([&] { return h.partition->DescribeProducers(producers); }) == ErrorCode::kNone);
  REQUIRE(producers.size() == 2);
  CHECK(producers[0].producer_id == 5);
  CHECK(producers[0].txn_start_offset == 0);
  CHECK(producers[1].producer_id == 9);
  CHECK(producers[1].txn_start_offset == -1);
}

TEST_CASE("the first transactional write in a partition waits for verification") {
  Harness h;
  h.Assign(kSelf, 1, 1, {1});
  int asked = 0;
  auto answering = [&](ErrorCode answer) {
    return [&asked, answer](std::function<void(ErrorCode)> done) {
      ++asked;
      done(answer);
    };
  };
  auto refused = Produce(h, TxnBatch(5, 0, 0), answering(ErrorCode::kConcurrentTransactions));
  h.WaitFor([&] { return refused->has_value(); }, "the refused produce");
  // Older clients would not retry CONCURRENT_TRANSACTIONS: Kafka answers NOT_ENOUGH_REPLICAS.
  CHECK((*refused)->error == ErrorCode::kNotEnoughReplicas);
  CHECK(h.partition->log().log_end_offset() == 0);

  auto invalid = Produce(h, TxnBatch(5, 0, 0), answering(ErrorCode::kInvalidTxnState));
  h.WaitFor([&] { return invalid->has_value(); }, "the produce verification refused");
  CHECK((*invalid)->error == ErrorCode::kInvalidTxnState);

  auto verified = Produce(h, TxnBatch(5, 0, 0), answering(ErrorCode::kNone));
  h.WaitFor([&] { return verified->has_value(); }, "the verified produce");
  CHECK((*verified)->error == ErrorCode::kNone);
  CHECK(asked == 3);
  // Inside the transaction now: no more questions.
  auto next = Produce(h, TxnBatch(5, 0, 1), answering(ErrorCode::kInvalidTxnState));
  REQUIRE(next->has_value());
  CHECK((*next)->error == ErrorCode::kNone);
  CHECK(asked == 3);
}

TEST_CASE("a verification answered after a marker ended the transaction is stale") {
  Harness h;
  h.Assign(kSelf, 1, 1, {1});
  std::function<void(ErrorCode)> pending;
  auto held = [&pending](std::function<void(ErrorCode)> done) { pending = std::move(done); };
  auto late = Produce(h, TxnBatch(5, 0, 0), held);
  REQUIRE(h.On([&] { return static_cast<bool>(pending); }));
  REQUIRE(Marker(h, 5, 0, /*commit=*/false)->has_value());  // the coordinator aborted meanwhile
  pending(ErrorCode::kNone);
  h.WaitFor([&] { return late->has_value(); }, "the late produce's answer");
  CHECK((*late)->error == ErrorCode::kInvalidTxnState);
  CHECK(h.partition->log().log_end_offset() == 1);  // only the marker
}

TEST_CASE("batches in flight behind one awaiting verification follow it in order") {
  Harness h;
  h.Assign(kSelf, 1, 1, {1});
  std::function<void(ErrorCode)> pending;
  auto held = [&pending](std::function<void(ErrorCode)> done) { pending = std::move(done); };
  auto first = Produce(h, TxnBatch(5, 0, 0), held);
  REQUIRE(h.On([&] { return static_cast<bool>(pending); }));
  // The client pipelines its next batches before the first is answered; their sequences follow
  // one the log does not have yet.
  auto second = Produce(h, TxnBatch(5, 0, 1), held);
  auto third = Produce(h, TxnBatch(5, 0, 2), held);
  auto other = Produce(h, TxnBatch(6, 0, 0, /*transactional=*/false));  // another producer is not held
  REQUIRE(other->has_value());
  CHECK((*other)->error == ErrorCode::kNone);
  CHECK_FALSE(second->has_value());
  pending(ErrorCode::kNone);
  h.WaitFor([&] { return third->has_value(); }, "the queued batches' answers");
  REQUIRE(first->has_value());
  REQUIRE(second->has_value());
  CHECK((*first)->error == ErrorCode::kNone);
  CHECK((*second)->error == ErrorCode::kNone);
  CHECK((*third)->error == ErrorCode::kNone);
  CHECK((*first)->base_offset < (*second)->base_offset);
  CHECK((*second)->base_offset < (*third)->base_offset);

  // After a refused first batch, the one behind it asks for its own verification.
  std::deque<std::function<void(ErrorCode)>> questions;  // owner thread only
  auto queued = [&questions](std::function<void(ErrorCode)> done) { questions.push_back(std::move(done)); };
  auto answer = [&](ErrorCode error) {
    h.WaitFor([&] { return !questions.empty(); }, "a verification question");
    h.On([&] {
      auto done = std::move(questions.front());
      questions.pop_front();
      done(error);
      return true;
    });
  };
  auto refused = Produce(h, TxnBatch(7, 0, 0), queued);
  auto behind = Produce(h, TxnBatch(7, 0, 1), queued);
  answer(ErrorCode::kInvalidTxnState);
  h.WaitFor([&] { return refused->has_value(); }, "the refused batch's answer");
  CHECK((*refused)->error == ErrorCode::kInvalidTxnState);
  CHECK_FALSE(behind->has_value());
  answer(ErrorCode::kInvalidTxnState);
  h.WaitFor([&] { return behind->has_value(); }, "the batch behind the refused one");
  CHECK((*behind)->error == ErrorCode::kInvalidTxnState);
}

TEST_CASE("a follower keeps the same transaction state from what it fetches") {
  Harness h;
  h.Assign(2, 1, 1, {1, 2});  // broker 2 leads; this replica follows
  kafka::RecordBatchBuilder data(kafka::RecordBatchBuilder::Options{
      .base_offset = 0, .partition_leader_epoch = 1, .producer_id = 5, .producer_epoch = 0, .base_sequence = 0,
      .transactional = true});
  data.Add("k", "v", 1000);
  std::string batches = data.Build().value();
  kafka::TxnMarker abort{.type = kafka::ControlType::kAbort, .coordinator_epoch = 1};
  std::string marker = kafka::BuildTxnMarkerBatch(5, 0, abort, 2000).value();
  // As the leader stored it: offset 1, its epoch.
  std::memcpy(marker.data(), "\0\0\0\0\0\0\0\1", 8);
  const int32_t epoch = htobe32(1);
  std::memcpy(marker.data() + kafka::batch_layout::kPartitionLeaderEpoch, &epoch, 4);
  batches += marker;
  h.WaitFor([&] { return h.partition->ReadyToFetch(); }, "the follower to be ready");
  h.On([&] {
    auto position = h.partition->follower_position();
    return h.partition->OnFetchedFromLeader(position, {.high_watermark = 1, .log_start_offset = 0, .records = batches});
  });
  CHECK(h.partition->last_stable_offset() == 0);  // the marker is not committed yet
  h.On([&] {
    auto position = h.partition->follower_position();
    return h.partition->OnFetchedFromLeader(position, {.high_watermark = 2, .log_start_offset = 0});
  });
  CHECK(h.partition->last_stable_offset() == 2);
  // Leading now, it answers read_committed consumers with the aborted transaction.
  h.Assign(kSelf, 2, 2, {1, 2});
  auto read = ConsumerRead(h, 0, true);
  REQUIRE(read.aborted_transactions.size() == 1);
  CHECK(read.aborted_transactions[0] == AbortedTxn{.producer_id = 5, .first_offset = 0, .last_offset = 1});
}

TEST_CASE("the LSO never lies below the log start") {
  Harness h;
  h.Assign(kSelf, 1, 1, {1});
  REQUIRE(Produce(h, TxnBatch(5, 0, 0))->has_value());                         // 0: stays open
  REQUIRE(Produce(h, TxnBatch(6, 0, 0, /*transactional=*/false))->has_value());  // 1
  CHECK(h.partition->last_stable_offset() == 0);
  // The answer waits for the followers; the leader's log start moves first.
  auto deleted = h.DeleteRecords(1);
  h.WaitFor([&] { return h.partition->log().log_start_offset() == 1 && h.partition->leading(); },
            "the leader's log start to reach 1");
  auto read = ConsumerRead(h, 1, true);
  CHECK(read.last_stable_offset == 1);
  CHECK(h.partition->last_stable_offset() == 1);
}
