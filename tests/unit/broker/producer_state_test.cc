#include <catch2/catch.hpp>

#include "broker/txn/producer_state.h"

using sluice::broker::ProducerStateTable;
using sluice::kafka::ErrorCode;

TEST_CASE("duplicates are recognised, gaps and stale epochs refused") {
  ProducerStateTable table;
  CHECK(table.Check(7, 0, 0, 4).error == ErrorCode::kNone);
  table.Record(7, 0, {.first_sequence = 0, .last_sequence = 4, .base_offset = 100});
  auto duplicate = table.Check(7, 0, 0, 4);
  REQUIRE(duplicate.duplicate_of != nullptr);
  CHECK(duplicate.duplicate_of->base_offset == 100);
  CHECK(table.Check(7, 0, 6, 6).error == ErrorCode::kOutOfOrderSequenceNumber);
  CHECK(table.Check(7, 0, 5, 9).error == ErrorCode::kNone);
  CHECK(table.Check(7, 1, 3, 3).error == ErrorCode::kOutOfOrderSequenceNumber);
  CHECK(table.Check(7, 1, 0, 0).error == ErrorCode::kNone);
  table.Record(7, 1, {.first_sequence = 0, .last_sequence = 0, .base_offset = 200});
  CHECK(table.Check(7, 0, 5, 5).error == ErrorCode::kInvalidProducerEpoch);
  CHECK(table.Check(99, 0, 17, 17).error == ErrorCode::kNone);  // unknown producers start anywhere
}

TEST_CASE("only the last five batches are remembered and sequences wrap") {
  ProducerStateTable table;
  for (int i = 0; i < 7; ++i) table.Record(1, 0, {.first_sequence = i, .last_sequence = i, .base_offset = i});
  CHECK(table.Check(1, 0, 1, 1).duplicate_of == nullptr);
  CHECK(table.Check(1, 0, 2, 2).duplicate_of != nullptr);
  table.Record(2, 0, {.first_sequence = INT32_MAX - 1, .last_sequence = INT32_MAX, .base_offset = 0});
  CHECK(table.Check(2, 0, 0, 3).error == ErrorCode::kNone);
}

namespace {

using sluice::broker::AbortedTxn;
using sluice::kafka::RecordBatchHeader;
using sluice::kafka::TxnMarker;

RecordBatchHeader Batch(int64_t producer_id, int16_t epoch, int64_t base_offset, int32_t sequence, bool transactional,
                        int32_t records = 1) {
  RecordBatchHeader header;
  header.producer_id = producer_id;
  header.producer_epoch = epoch;
  header.base_offset = base_offset;
  header.base_sequence = sequence;
  header.last_offset_delta = records - 1;
  header.records_count = records;
  header.max_timestamp = 5000 + base_offset;
  if (transactional) header.attributes |= sluice::kafka::batch_layout::kTransactionalBit;
  return header;
}

RecordBatchHeader Control(int64_t producer_id, int16_t epoch, int64_t offset) {
  RecordBatchHeader header = Batch(producer_id, epoch, offset, -1, true);
  header.attributes |= sluice::kafka::batch_layout::kControlBit;
  return header;
}

constexpr TxnMarker kCommit{.type = sluice::kafka::ControlType::kCommit, .coordinator_epoch = 4};
constexpr TxnMarker kAbort{.type = sluice::kafka::ControlType::kAbort, .coordinator_epoch = 4};

}  // namespace

TEST_CASE("a transactional batch opens the producer's transaction, its marker ends it") {
  ProducerStateTable table;
  table.Apply(Batch(1, 0, 10, 0, true, 3), -1, nullptr);
  table.Apply(Batch(1, 0, 13, 3, true), -1, nullptr);  // same transaction: its start stays
  table.Apply(Batch(2, 0, 14, 0, true), -1, nullptr);
  CHECK(table.OngoingTxnStart(1) == 10);
  CHECK(table.OngoingTxnStart(2) == 14);
  CHECK(table.FirstUnstableOffset(20) == 10);

  table.Apply(Control(1, 0, 15), -1, &kCommit);
  CHECK(table.OngoingTxnStart(1) == -1);
  // Until the high watermark covers its marker, a decided transaction still holds the LSO.
  CHECK(table.FirstUnstableOffset(15) == 10);
  CHECK(table.FirstUnstableOffset(16) == 14);
  CHECK(table.aborted().empty());

  table.Apply(Control(2, 0, 16), -1, &kAbort);
  CHECK(table.FirstUnstableOffset(16) == 14);
  CHECK(table.FirstUnstableOffset(17) == std::nullopt);
  REQUIRE(table.aborted().size() == 1);
  CHECK(table.aborted().front() == AbortedTxn{.producer_id = 2, .first_offset = 14, .last_offset = 16});

  // The next transactional batch opens a new transaction; sequences continue.
  CHECK(table.Check(1, 0, 4, 4).error == ErrorCode::kNone);
  table.Apply(Batch(1, 0, 17, 4, true), -1, nullptr);
  CHECK(table.OngoingTxnStart(1) == 17);
}

TEST_CASE("markers are checked against producer and coordinator epochs; one without a transaction is harmless") {
  ProducerStateTable table;
  CHECK(table.CheckMarker(1, 0, 0) == ErrorCode::kNone);  // unknown producer
  table.Apply(Batch(1, 2, 0, 0, true), -1, nullptr);
  table.Apply(Control(1, 2, 1), -1, &kCommit);
  CHECK(table.CheckMarker(1, 1, 4) == ErrorCode::kInvalidProducerEpoch);
  CHECK(table.CheckMarker(1, 2, 3) == ErrorCode::kTransactionCoordinatorFenced);
  CHECK(table.CheckMarker(1, 2, 4) == ErrorCode::kNone);
  // A second marker with no transaction open: nothing to end, nothing aborted.
  table.Apply(Control(1, 2, 2), -1, &kAbort);
  CHECK(table.aborted().empty());
  CHECK(table.FirstUnstableOffset(3) == std::nullopt);
  // A marker with a newer epoch (an abort after a timeout bumps it) fences the old epoch.
  table.Apply(Control(1, 3, 3), -1, &kAbort);
  CHECK(table.Check(1, 2, 1, 1).error == ErrorCode::kInvalidProducerEpoch);
  CHECK(table.CheckMarker(1, 2, 4) == ErrorCode::kInvalidProducerEpoch);

  auto summaries = table.Summaries();
  REQUIRE(summaries.size() == 1);
  CHECK(summaries[0].producer_id == 1);
  CHECK(summaries[0].epoch == 3);
  CHECK(summaries[0].last_sequence == -1);  // the new epoch has written nothing yet
  CHECK(summaries[0].coordinator_epoch == 4);
  CHECK(summaries[0].txn_start_offset == -1);
  CHECK(summaries[0].last_timestamp == 5003);
}

TEST_CASE("aborted transactions overlapping a fetched range, and retention dropping them") {
  ProducerStateTable table;
  // Producer 1: [0, 5] aborted; producer 2: [2, 9] aborted; producer 3: [11, 12] aborted.
  table.Apply(Batch(1, 0, 0, 0, true), -1, nullptr);
  table.Apply(Batch(2, 0, 2, 0, true), -1, nullptr);
  table.Apply(Control(1, 0, 5), -1, &kAbort);
  table.Apply(Control(2, 0, 9), -1, &kAbort);
  table.Apply(Batch(3, 0, 11, 0, true), -1, nullptr);
  table.Apply(Control(3, 0, 12), -1, &kAbort);
  auto ids = [](const std::vector<AbortedTxn>& txns) {
    std::vector<int64_t> out;
    for (const auto& txn : txns) out.push_back(txn.producer_id);
    return out;
  };
  CHECK(ids(table.AbortedOverlapping(0, 2)) == std::vector<int64_t>{1});
  CHECK(ids(table.AbortedOverlapping(0, 3)) == std::vector<int64_t>{1, 2});
  CHECK(ids(table.AbortedOverlapping(6, 11)) == std::vector<int64_t>{2});
  CHECK(ids(table.AbortedOverlapping(10, 20)) == std::vector<int64_t>{3});
  CHECK(table.AbortedOverlapping(13, 20).empty());
  table.RemoveAbortedBelow(6);
  CHECK(ids(table.AbortedOverlapping(0, 20)) == std::vector<int64_t>{2, 3});
}

TEST_CASE("idle producers expire, except with an open transaction or when kept") {
  ProducerStateTable table;
  table.Apply(Batch(1, 0, 0, 0, false), -1, nullptr);    // last write at 5000
  table.Apply(Batch(2, 0, 1, 0, true), -1, nullptr);     // 5001, its transaction still open
  table.Apply(Batch(3, 0, 2, 0, false), -1, nullptr);    // 5002, but kept (awaiting verification)
  table.Apply(Batch(4, 0, 100, 0, false), -1, nullptr);  // 5100: not idle long enough
  const auto keep = [](int64_t producer_id) { return producer_id == 3; };
  CHECK(table.ExpireIdle(5050, 50, keep) == 1);
  CHECK(table.size() == 3);
  // Its state is gone: the next batch may start at any sequence, as from a new producer.
  CHECK(table.Check(1, 0, 7, 7).error == ErrorCode::kNone);
  CHECK(table.OngoingTxnStart(2) == 1);
  CHECK(table.ExpireIdle(10000, 50, [](int64_t) { return false; }) == 2);
  CHECK(table.OngoingTxnStart(2) == 1);
}
