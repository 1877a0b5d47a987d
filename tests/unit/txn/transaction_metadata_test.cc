#include <catch2/catch.hpp>

#include "broker/txn/transaction_metadata.h"

namespace {

using namespace sluice::broker::txn;
using sluice::kafka::ErrorCode;

TransactionMetadata Fresh() {
  TransactionMetadata txn;
  txn.transactional_id = "tx";
  return PrepareNewProducerId(txn, 42, 60000, 1000);
}

TransactionMetadata Ongoing() {
  auto added = PrepareAddPartitions(Fresh(), 42, 0, {{"t", 0}}, 2000);
  REQUIRE(added.error == ErrorCode::kNone);
  REQUIRE(added.next);
  return *added.next;
}

}  // namespace

TEST_CASE("state names are Kafka's and round-trip") {
  for (int8_t code = 0; code <= 7; ++code) {
    auto state = StateFromCode(code);
    REQUIRE(state);
    CHECK(StateFromName(StateName(*state)) == state);
  }
  CHECK(StateName(TxnState::kPrepareEpochFence) == "PrepareEpochFence");
  CHECK_FALSE(StateFromName("ongoing"));
  CHECK_FALSE(StateFromCode(8));
}

TEST_CASE("the transition table") {
  CHECK(CanTransition(TxnState::kEmpty, TxnState::kOngoing));
  CHECK(CanTransition(TxnState::kCompleteCommit, TxnState::kOngoing));
  CHECK(CanTransition(TxnState::kOngoing, TxnState::kPrepareCommit));
  CHECK(CanTransition(TxnState::kPrepareAbort, TxnState::kCompleteAbort));
  CHECK(CanTransition(TxnState::kCompleteAbort, TxnState::kDead));
  CHECK_FALSE(CanTransition(TxnState::kEmpty, TxnState::kPrepareCommit));
  CHECK_FALSE(CanTransition(TxnState::kPrepareCommit, TxnState::kCompleteAbort));
  CHECK_FALSE(CanTransition(TxnState::kPrepareCommit, TxnState::kOngoing));
  CHECK_FALSE(CanTransition(TxnState::kOngoing, TxnState::kDead));
  CHECK_FALSE(CanTransition(TxnState::kDead, TxnState::kEmpty));
}

TEST_CASE("a new producer id starts at epoch 0 in Empty") {
  const auto txn = Fresh();
  CHECK(txn.producer_id == 42);
  CHECK(txn.producer_epoch == 0);
  CHECK(txn.state == TxnState::kEmpty);
  CHECK(txn.timeout_ms == 60000);
}

TEST_CASE("adding partitions opens the transaction once and checks the producer") {
  const auto ongoing = Ongoing();
  CHECK(ongoing.state == TxnState::kOngoing);
  CHECK(ongoing.start_ms == 2000);
  // Already in: nothing to write.
  auto again = PrepareAddPartitions(ongoing, 42, 0, {{"t", 0}}, 3000);
  CHECK(again.error == ErrorCode::kNone);
  CHECK_FALSE(again.next);
  // More partitions: the start time stays.
  auto more = PrepareAddPartitions(ongoing, 42, 0, {{"u", 1}}, 3000);
  REQUIRE(more.next);
  CHECK(more.next->partitions.size() == 2);
  CHECK(more.next->start_ms == 2000);
  CHECK(PrepareAddPartitions(ongoing, 41, 0, {{"t", 0}}, 3000).error == ErrorCode::kInvalidProducerIdMapping);
  CHECK(PrepareAddPartitions(ongoing, 42, 1, {{"t", 0}}, 3000).error == ErrorCode::kProducerFenced);
  auto pending = ongoing;
  pending.pending = TxnState::kPrepareCommit;
  CHECK(PrepareAddPartitions(pending, 42, 0, {{"t", 0}}, 3000).error == ErrorCode::kConcurrentTransactions);
}

TEST_CASE("ending a transaction: prepare, complete, retries in either direction") {
  const auto ongoing = Ongoing();
  auto commit = PrepareEnd(ongoing, 42, 0, true, 4000);
  REQUIRE(commit.next);
  CHECK(commit.next->state == TxnState::kPrepareCommit);
  CHECK(commit.next->partitions == ongoing.partitions);
  CHECK(PrepareAddPartitions(*commit.next, 42, 0, {{"t", 1}}, 4000).error == ErrorCode::kConcurrentTransactions);
  CHECK(PrepareEnd(*commit.next, 42, 0, true, 4000).error == ErrorCode::kConcurrentTransactions);
  CHECK(PrepareEnd(*commit.next, 42, 0, false, 4000).error == ErrorCode::kInvalidTxnState);

  const auto completed = PrepareComplete(*commit.next, 5000);
  CHECK(completed.state == TxnState::kCompleteCommit);
  CHECK(completed.partitions.empty());
  auto retried = PrepareEnd(completed, 42, 0, true, 6000);
  CHECK(retried.error == ErrorCode::kNone);
  CHECK_FALSE(retried.next);
  CHECK(PrepareEnd(completed, 42, 0, false, 6000).error == ErrorCode::kInvalidTxnState);

  auto abort = PrepareEnd(ongoing, 42, 0, false, 4000);
  REQUIRE(abort.next);
  CHECK(PrepareComplete(*abort.next, 5000).state == TxnState::kCompleteAbort);

  CHECK(PrepareEnd(Fresh(), 42, 0, true, 4000).error == ErrorCode::kInvalidTxnState);
  CHECK(PrepareEnd(ongoing, 42, 3, true, 4000).error == ErrorCode::kProducerFenced);
}

TEST_CASE("InitProducerId bumps the epoch; KIP-360 retries get the same epoch; others are fenced") {
  const auto empty = Fresh();
  auto bumped = PrepareEpochBump(empty, 30000, std::nullopt, 2000);
  REQUIRE(bumped.next);
  CHECK(bumped.next->producer_epoch == 1);
  CHECK(bumped.next->timeout_ms == 30000);
  CHECK(bumped.next->state == TxnState::kEmpty);

  auto kip360 = PrepareEpochBump(empty, 30000, int16_t{0}, 2000);
  REQUIRE(kip360.next);
  CHECK(kip360.next->producer_epoch == 1);
  CHECK(kip360.next->last_producer_epoch == 0);
  // The producer did not get the answer and asks again with its old epoch.
  auto retry = PrepareEpochBump(*kip360.next, 30000, int16_t{0}, 2500);
  REQUIRE(retry.next);
  CHECK(retry.next->producer_epoch == 1);
  CHECK(PrepareEpochBump(*kip360.next, 30000, int16_t{5}, 2500).error == ErrorCode::kProducerFenced);

  CHECK(CheckExpectedProducerId(empty, 42) == ErrorCode::kNone);
  CHECK(CheckExpectedProducerId(empty, 7) == ErrorCode::kProducerFenced);
  CHECK(PrepareEpochBump(Ongoing(), 30000, std::nullopt, 2000).error == ErrorCode::kConcurrentTransactions);
}

TEST_CASE("fencing an ongoing transaction aborts it at the next epoch") {
  const auto fenced = PrepareFenceAndAbort(Ongoing(), 9000);
  CHECK(fenced.state == TxnState::kPrepareAbort);
  CHECK(fenced.producer_epoch == 1);
  CHECK(fenced.partitions.size() == 1);
  // The old producer is refused from now on.
  CHECK(PrepareEnd(fenced, 42, 0, true, 9000).error == ErrorCode::kProducerFenced);

  auto exhausted = Ongoing();
  exhausted.producer_epoch = kMaxProducerEpoch;
  CHECK(exhausted.epoch_exhausted());
  CHECK(PrepareFenceAndAbort(exhausted, 9000).producer_epoch == kMaxProducerEpoch);
}
