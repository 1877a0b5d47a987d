#include <catch2/catch.hpp>

#include "broker/txn/transaction_loader.h"
#include "broker/txn/transaction_records.h"
#include "common/clock.h"
#include "protocol/kafka/batch/record_batch_builder.h"
#include "tests/unit/storage_log/log_test_util.h"

namespace {

using namespace sluice::broker::txn;
using sluice::ManualClock;
using sluice::storage::PartitionLog;
using sluice::storage::testing::TempDir;

TransactionMetadata Sample() {
  TransactionMetadata txn;
  txn.producer_id = 1234567890123;
  txn.producer_epoch = 7;
  txn.timeout_ms = 60000;
  txn.state = TxnState::kOngoing;
  txn.partitions = {{"a", 0}, {"a", 3}, {"b", 1}};
  txn.last_update_ms = 1700000000123;
  txn.start_ms = 1700000000000;
  return txn;
}

void AppendRecords(PartitionLog& log, const std::vector<std::pair<std::string, std::optional<std::string>>>& records) {
  sluice::kafka::RecordBatchBuilder builder;
  for (const auto& [key, value] : records) {
    builder.Add(key, value ? std::optional<std::string_view>(*value) : std::nullopt, 1000);
  }
  auto batch = builder.Build();
  REQUIRE(batch.ok());
  REQUIRE(log.Append(std::span<char>(batch->data(), batch->size()), sluice::storage::kNoLeaderEpoch).ok());
}

}  // namespace

TEST_CASE("transaction records round-trip in Kafka's v0 layouts") {
  auto key = DecodeTxnKey(EncodeTxnKey("my-txn"));
  REQUIRE(key.ok());
  CHECK(*key == "my-txn");
  // TransactionLogKey v0: int16 version, string id.
  CHECK(EncodeTxnKey("ab") == std::string("\0\0\0\2ab", 6));

  const auto txn = Sample();
  auto value = DecodeTxnValue(EncodeTxnValue(txn));
  REQUIRE(value.ok());
  CHECK(value->producer_id == txn.producer_id);
  CHECK(value->producer_epoch == txn.producer_epoch);
  CHECK(value->timeout_ms == txn.timeout_ms);
  CHECK(value->state == txn.state);
  CHECK(value->partitions == txn.partitions);
  CHECK(value->last_update_ms == txn.last_update_ms);
  CHECK(value->start_ms == txn.start_ms);
  // version 0, producer id, epoch, timeout, status, topic count (two topics, "a" first).
  const std::string encoded = EncodeTxnValue(txn);
  CHECK(encoded.substr(0, 2) == std::string("\0\0", 2));
  CHECK(encoded[16] == 1);  // Ongoing
  CHECK(encoded.substr(17, 4) == std::string("\0\0\0\2", 4));
}

TEST_CASE("malformed and unknown transaction records are refused") {
  const std::string value = EncodeTxnValue(Sample());
  for (size_t cut = 0; cut < value.size(); ++cut) CHECK_FALSE(DecodeTxnValue(value.substr(0, cut)).ok());
  CHECK_FALSE(DecodeTxnValue(value + "x").ok());
  std::string newer = value;
  newer[1] = 9;  // an unknown version
  CHECK_FALSE(DecodeTxnValue(newer).ok());
  std::string bad_state = value;
  bad_state[16] = 42;
  CHECK_FALSE(DecodeTxnValue(bad_state).ok());
  CHECK_FALSE(DecodeTxnKey(std::string("\0\1\0\1x", 5)).ok());
}

TEST_CASE("replaying __transaction_state keeps the last record per id and honours tombstones") {
  TempDir dir;
  ManualClock clock(1'000'000);
  auto log = PartitionLog::Open(dir.path() / "__transaction_state-0", {}, clock);
  REQUIRE(log.ok());
  auto ongoing = Sample();
  auto committing = ongoing;
  committing.state = TxnState::kPrepareCommit;
  AppendRecords(**log, {{EncodeTxnKey("t1"), EncodeTxnValue(ongoing)}, {EncodeTxnKey("t2"), EncodeTxnValue(ongoing)}});
  AppendRecords(**log, {{EncodeTxnKey("t1"), EncodeTxnValue(committing)}, {EncodeTxnKey("t2"), std::nullopt}});
  AppendRecords(**log, {{"junk", EncodeTxnValue(ongoing)}, {EncodeTxnKey("t3"), std::string("bad")}});
  auto loaded = LoadTransactions(**log);
  REQUIRE(loaded.ok());
  CHECK(loaded->records == 6);
  REQUIRE(loaded->transactions.size() == 1);
  const auto& t1 = loaded->transactions.at("t1");
  CHECK(t1.transactional_id == "t1");
  CHECK(t1.state == TxnState::kPrepareCommit);
  CHECK(t1.partitions == ongoing.partitions);
}
