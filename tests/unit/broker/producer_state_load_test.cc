// Producer state rebuilt from a real log: transactions, markers and aborted ranges come back
// after a reopen and after a truncation cut a marker off.

#include <catch2/catch.hpp>

#include "broker/txn/producer_state.h"
#include "common/clock.h"
#include "protocol/kafka/batch/control_record.h"
#include "protocol/kafka/batch/record_batch_builder.h"
#include "tests/unit/storage_log/log_test_util.h"

namespace {

using namespace sluice;
using broker::AbortedTxn;
using broker::LoadProducerState;
using storage::testing::TempDir;

void AppendTransactional(storage::PartitionLog& log, int64_t producer_id, int32_t sequence) {
  kafka::RecordBatchBuilder builder(kafka::RecordBatchBuilder::Options{
      .producer_id = producer_id, .producer_epoch = 0, .base_sequence = sequence, .transactional = true});
  builder.Add("k", "v", 1000);
  storage::testing::AppendCopy(log, builder.Build().value(), 1);
}

void AppendMarker(storage::PartitionLog& log, int64_t producer_id, bool commit) {
  auto batch = kafka::BuildTxnMarkerBatch(
      producer_id, 0, {.type = commit ? kafka::ControlType::kCommit : kafka::ControlType::kAbort, .coordinator_epoch = 2},
      2000);
  storage::testing::AppendCopy(log, batch.value(), 1);
}

}  // namespace

TEST_CASE("producer state is rebuilt from the log's batches and markers, also after a truncation") {
  TempDir dir;
  auto log = storage::PartitionLog::Open(dir.path() / "t-0", {}, SystemClock::Instance());
  REQUIRE(log.ok());
  AppendTransactional(**log, 1, 0);  // 0
  AppendTransactional(**log, 2, 0);  // 1
  AppendMarker(**log, 1, false);     // 2: aborts producer 1's [0, 2]
  AppendTransactional(**log, 2, 1);  // 3
  AppendMarker(**log, 2, true);      // 4: commits producer 2's
  AppendTransactional(**log, 3, 0);  // 5: still open
  log->reset();

  auto reopened = storage::PartitionLog::Open(dir.path() / "t-0", {}, SystemClock::Instance());
  REQUIRE(reopened.ok());
  auto table = LoadProducerState(**reopened);
  REQUIRE(table.ok());
  REQUIRE(table->aborted().size() == 1);
  CHECK(table->aborted().front() == AbortedTxn{.producer_id = 1, .first_offset = 0, .last_offset = 2});
  CHECK(table->OngoingTxnStart(1) == -1);
  CHECK(table->OngoingTxnStart(2) == -1);
  CHECK(table->OngoingTxnStart(3) == 5);
  CHECK(table->FirstUnstableOffset(6) == 5);
  auto summaries = table->Summaries();
  REQUIRE(summaries.size() == 3);
  CHECK(summaries[1].coordinator_epoch == 2);
  CHECK(summaries[1].last_sequence == 1);

  // Cut the commit marker off: producer 2's transaction is open again, from offset 1.
  REQUIRE((*reopened)->TruncateTo(4).ok());
  auto truncated = LoadProducerState(**reopened);
  REQUIRE(truncated.ok());
  CHECK(truncated->OngoingTxnStart(2) == 1);
  CHECK(truncated->OngoingTxnStart(3) == -1);
  CHECK(truncated->FirstUnstableOffset(4) == 1);
  CHECK(truncated->aborted().size() == 1);
}
