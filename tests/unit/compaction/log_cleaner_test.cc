#include "storage/compaction/log_cleaner.h"

#include <unistd.h>

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <map>

#include "common/clock.h"
#include "protocol/kafka/batch/control_record.h"
#include "protocol/kafka/batch/validate.h"
#include "tests/unit/compaction/compaction_test_util.h"

namespace sluice::storage {
namespace {

using testing::Produce;
using testing::ReadAll;
using testing::StoredRecord;
using testing::TempDir;

LogConfig SmallSegments() {
  LogConfig config;
  config.segment_bytes = 300;
  config.index_interval_bytes = 100;
  config.compact = true;
  config.retention_ms = -1;
  return config;
}

// What compaction must leave: in the closed range (below `end`) the latest record per key and
// every keyless record; everything at or past `end` untouched.
std::vector<StoredRecord> ExpectedAfterClean(const std::vector<StoredRecord>& all, int64_t end) {
  std::map<std::string, int64_t> latest;
  for (const auto& r : all) {
    if (r.offset < end && r.key) latest[*r.key] = r.offset;
  }
  std::vector<StoredRecord> out;
  for (const auto& r : all) {
    if (r.offset >= end || !r.key || latest[*r.key] == r.offset) out.push_back(r);
  }
  return out;
}

struct BatchRange {
  int64_t base;
  int64_t last;
};

std::vector<BatchRange> Batches(const PartitionLog& log) {
  std::vector<BatchRange> out;
  REQUIRE(log.ForEachBatch(log.log_start_offset(), [&](const kafka::RecordBatchHeader& h, std::string_view) {
               out.push_back({h.base_offset, h.last_offset()});
               return absl::OkStatus();
             }).ok());
  return out;
}

// A read from every offset must return, first, the earliest surviving batch ending at or after it.
void CheckReadsAtEveryOffset(const PartitionLog& log) {
  const std::vector<BatchRange> batches = Batches(log);
  const int64_t leo = log.log_end_offset();
  for (int64_t offset = log.log_start_offset(); offset < leo; ++offset) {
    INFO("offset " << offset);
    auto read = log.Read(offset, 1 << 20, leo, true);
    REQUIRE(read.ok());
    REQUIRE(!read->chunks.empty());
    const kafka::FileSlice& slice = read->chunks.front().file;
    std::string header(kafka::batch_layout::kHeaderSize, '\0');
    REQUIRE(::pread(slice.file->fd(), header.data(), header.size(), slice.position) ==
            static_cast<ssize_t>(header.size()));
    auto parsed = kafka::ParseBatchHeader(header);
    REQUIRE(parsed.ok());
    auto expected = std::find_if(batches.begin(), batches.end(), [&](const BatchRange& b) { return b.last >= offset; });
    REQUIRE(expected != batches.end());
    CHECK(parsed->base_offset == expected->base);
    CHECK(parsed->last_offset() == expected->last);
  }
}

TEST_CASE("compaction keeps the latest record of each key at its original offset", "[compaction]") {
  TempDir dir;
  ManualClock clock;
  auto log = PartitionLog::Open(dir.path() / "t-0", SmallSegments(), clock);
  REQUIRE(log.ok());
  for (int round = 0; round < 6; ++round) {
    for (int key = 0; key < 5; ++key) {
      Produce(**log, {{fmt::format("k{}", key), fmt::format("v{}-{}", round, key)}},
              clock.NowMs());
    }
    Produce(**log, {{std::nullopt, fmt::format("keyless{}", round)}}, clock.NowMs());
  }
  const auto before = ReadAll(**log);
  const auto closed = (*log)->ClosedSegments();
  REQUIRE(closed.size() > 3);
  const int64_t end = closed.back().next_offset;
  const int64_t leo = (*log)->log_end_offset();
  CHECK(DirtyRatio(**log, INT64_MAX) == 1.0);

  auto result = CleanLog(**log, clock.NowMs(), INT64_MAX);
  REQUIRE(result.ok());
  CHECK(result->records_removed > 0);
  CHECK(result->bytes_after < result->bytes_before);
  CHECK(ReadAll(**log) == ExpectedAfterClean(before, end));
  CHECK((*log)->log_end_offset() == leo);
  CHECK((*log)->log_start_offset() == 0);
  CHECK(DirtyRatio(**log, INT64_MAX) == 0.0);
  CheckReadsAtEveryOffset(**log);

  // Cleaning again changes nothing; the log survives a restart as cleaned.
  auto again = CleanLog(**log, clock.NowMs(), INT64_MAX);
  REQUIRE(again.ok());
  CHECK(again->records_removed == 0);
  const auto cleaned = ReadAll(**log);
  REQUIRE((*log)->Close().ok());
  log->reset();
  auto reopened = PartitionLog::Open(dir.path() / "t-0", SmallSegments(), clock);
  REQUIRE(reopened.ok());
  CHECK(ReadAll(**reopened) == cleaned);
  CheckReadsAtEveryOffset(**reopened);

  // New closed segments make the log dirty again.
  for (int i = 0; i < 10; ++i) Produce(**reopened, {{"k1", fmt::format("late{}", i)}}, clock.NowMs());
  CHECK(DirtyRatio(**reopened, INT64_MAX) > 0.0);
}

TEST_CASE("tombstones are removed once older than delete.retention.ms", "[compaction]") {
  TempDir dir;
  ManualClock clock;
  LogConfig config = SmallSegments();
  config.delete_retention_ms = 1000;
  auto log = PartitionLog::Open(dir.path() / "t-0", config, clock);
  REQUIRE(log.ok());
  const int64_t a_value = Produce(**log, {{"a", "1"}}, clock.NowMs());
  Produce(**log, {{"b", "1"}}, clock.NowMs());
  const int64_t a_tombstone = Produce(**log, {{"a", std::nullopt}}, clock.NowMs());
  for (int i = 0; i < 12; ++i) Produce(**log, {{fmt::format("filler{}", i), "x"}}, clock.NowMs());
  REQUIRE((*log)->ClosedSegments().back().next_offset > a_tombstone);

  auto has = [&](int64_t offset) {
    for (const auto& r : ReadAll(**log)) {
      if (r.offset == offset) return true;
    }
    return false;
  };
  REQUIRE(CleanLog(**log, clock.NowMs(), INT64_MAX).ok());
  CHECK(!has(a_value));
  CHECK(has(a_tombstone));  // still within delete.retention.ms

  clock.AdvanceMs(1001);
  REQUIRE(CleanLog(**log, clock.NowMs(), INT64_MAX).ok());
  CHECK(!has(a_tombstone));
  CHECK(has(a_value + 1));  // b=1 is the latest of its key
  CheckReadsAtEveryOffset(**log);
}

TEST_CASE("a tombstone with a timestamp at the end of int64 expires without overflow", "[compaction]") {
  // The producer sets a CreateTime batch's max timestamp: now - INT64_MIN overflowed (undefined
  // behaviour) when the cleaner asked whether the batch's tombstones had expired.
  TempDir dir;
  ManualClock clock;
  LogConfig config = SmallSegments();
  config.delete_retention_ms = 1000;
  auto log = PartitionLog::Open(dir.path() / "t-0", config, clock);
  REQUIRE(log.ok());
  Produce(**log, {{"a", "1"}}, clock.NowMs());
  const int64_t ancient_tombstone = Produce(**log, {{"a", std::nullopt}}, INT64_MIN);
  for (int i = 0; i < 12; ++i) Produce(**log, {{fmt::format("filler{}", i), "x"}}, clock.NowMs());
  REQUIRE((*log)->ClosedSegments().back().next_offset > ancient_tombstone);
  REQUIRE(CleanLog(**log, clock.NowMs(), INT64_MAX).ok());
  for (const auto& r : ReadAll(**log)) CHECK(r.key != std::optional<std::string>("a"));
  CheckReadsAtEveryOffset(**log);
}

TEST_CASE("compressed batches keep their codec, producer fields and offsets", "[compaction]") {
  for (kafka::Compression codec : {kafka::Compression::kGzip, kafka::Compression::kSnappy, kafka::Compression::kLz4,
                                   kafka::Compression::kZstd}) {
    INFO("codec " << static_cast<int>(codec));
    TempDir dir;
    ManualClock clock;
    auto log = PartitionLog::Open(dir.path() / "t-0", SmallSegments(), clock);
    REQUIRE(log.ok());
    for (int round = 0; round < 8; ++round) {
      std::vector<testing::TestRecord> records;
      for (int key = 0; key < 4; ++key) {
        records.push_back({fmt::format("k{}", (key + round) % 5), fmt::format("v{}", round)});
      }
      Produce(**log, records, clock.NowMs(), codec);
    }
    const auto before = ReadAll(**log);
    const int64_t end = (*log)->ClosedSegments().back().next_offset;
    auto result = CleanLog(**log, clock.NowMs(), INT64_MAX);
    REQUIRE(result.ok());
    CHECK(result->records_removed > 0);
    CHECK(ReadAll(**log) == ExpectedAfterClean(before, end));
    REQUIRE((*log)->ForEachBatch(0, [&](const kafka::RecordBatchHeader& header, std::string_view bytes) {
                     CHECK(header.compression() == codec);
                     CHECK(header.producer_id == 7);
                     CHECK(header.producer_epoch == 1);
                     CHECK(header.last_offset_delta == 3);
                     CHECK(kafka::ValidateBatches(bytes, 1 << 20).ok());
                     return absl::OkStatus();
                   }).ok());
    CheckReadsAtEveryOffset(**log);
  }
}

TEST_CASE("a slice read before cleaning stays readable afterwards", "[compaction]") {
  TempDir dir;
  ManualClock clock;
  auto log = PartitionLog::Open(dir.path() / "t-0", SmallSegments(), clock);
  REQUIRE(log.ok());
  for (int i = 0; i < 20; ++i) Produce(**log, {{"same", fmt::format("v{}", i)}}, clock.NowMs());
  auto read = (*log)->Read(0, 1 << 20, (*log)->log_end_offset(), true);
  REQUIRE(read.ok());
  REQUIRE(!read->chunks.empty());
  const kafka::FileSlice slice = read->chunks.front().file;
  std::string before(static_cast<size_t>(slice.size), '\0');
  REQUIRE(::pread(slice.file->fd(), before.data(), before.size(), slice.position) == slice.size);

  REQUIRE(CleanLog(**log, clock.NowMs(), INT64_MAX).ok());
  std::string after(static_cast<size_t>(slice.size), '\0');
  REQUIRE(::pread(slice.file->fd(), after.data(), after.size(), slice.position) == slice.size);
  CHECK(after == before);
  CHECK(ReadAll(**log).front().offset > 0);
}

TEST_CASE("the cleaner leaves segments ending past the maximum offset alone", "[compaction]") {
  TempDir dir;
  ManualClock clock;
  auto log = PartitionLog::Open(dir.path() / "t-0", SmallSegments(), clock);
  REQUIRE(log.ok());
  for (int i = 0; i < 40; ++i) Produce(**log, {{fmt::format("k{}", i % 3), fmt::format("v{}", i)}}, clock.NowMs());
  const auto closed = (*log)->ClosedSegments();
  REQUIRE(closed.size() > 3);
  const auto before = ReadAll(**log);

  // Below the first closed segment's end nothing is cleanable.
  const int64_t too_low = closed[0].next_offset - 1;
  CHECK(DirtyRatio(**log, too_low) == 0.0);
  auto nothing = CleanLog(**log, clock.NowMs(), too_low);
  REQUIRE(nothing.ok());
  CHECK(nothing->records_removed == 0);
  CHECK(nothing->bytes_before == 0);
  CHECK(ReadAll(**log) == before);

  // A high watermark inside the third closed segment: only the first two are cleaned.
  const int64_t high_watermark = closed[2].next_offset - 1;
  const int64_t end = closed[1].next_offset;
  CHECK(DirtyRatio(**log, high_watermark) == 1.0);
  auto result = CleanLog(**log, clock.NowMs(), high_watermark);
  REQUIRE(result.ok());
  CHECK(result->records_removed > 0);
  CHECK(ReadAll(**log) == ExpectedAfterClean(before, end));
  CHECK(DirtyRatio(**log, high_watermark) == 0.0);
  CHECK(DirtyRatio(**log, INT64_MAX) > 0.0);
  CheckReadsAtEveryOffset(**log);
}

}  // namespace
// A transactional batch of producer `producer_id` holding one record.
int64_t ProduceTransactional(PartitionLog& log, int64_t producer_id, int32_t sequence, const std::string& key,
                             const std::string& value, int64_t timestamp_ms) {
  kafka::RecordBatchBuilder builder(kafka::RecordBatchBuilder::Options{
      .producer_id = producer_id, .producer_epoch = 0, .base_sequence = sequence, .transactional = true});
  builder.Add(key, value, timestamp_ms);
  auto batch = builder.Build();
  REQUIRE(batch.ok());
  auto appended = log.Append(std::span<char>(batch->data(), batch->size()), kNoLeaderEpoch);
  REQUIRE(appended.ok());
  return appended->base_offset;
}

int64_t AppendMarker(PartitionLog& log, int64_t producer_id, bool commit, int64_t timestamp_ms) {
  auto batch = kafka::BuildTxnMarkerBatch(
      producer_id, 0, {.type = commit ? kafka::ControlType::kCommit : kafka::ControlType::kAbort, .coordinator_epoch = 3},
      timestamp_ms);
  REQUIRE(batch.ok());
  auto appended = log.Append(std::span<char>(batch->data(), batch->size()), kNoLeaderEpoch);
  REQUIRE(appended.ok());
  return appended->base_offset;
}

TEST_CASE("aborted records do not shadow committed ones, are removed, and markers stay", "[compaction]") {
  TempDir dir;
  ManualClock clock;
  auto log = PartitionLog::Open(dir.path() / "t-0", SmallSegments(), clock);
  REQUIRE(log.ok());
  const int64_t committed = Produce(**log, {{"k", "committed"}}, clock.NowMs());
  const int64_t aborted = ProduceTransactional(**log, 9, 0, "k", "aborted", clock.NowMs());
  const int64_t txn_committed = ProduceTransactional(**log, 10, 0, "j", "in a committed transaction", clock.NowMs());
  const int64_t abort_marker = AppendMarker(**log, 9, /*commit=*/false, clock.NowMs());
  const int64_t commit_marker = AppendMarker(**log, 10, /*commit=*/true, clock.NowMs());
  // Closes the segments above, with records of other keys.
  for (int i = 0; i < 10; ++i) Produce(**log, {{fmt::format("other{}", i % 2), "x"}}, clock.NowMs());
  REQUIRE((*log)->ClosedSegments().back().next_offset > commit_marker);

  auto result = CleanLog(**log, clock.NowMs(), INT64_MAX);
  REQUIRE(result.ok());
  std::vector<int64_t> offsets;
  for (const StoredRecord& record : ReadAll(**log)) offsets.push_back(record.offset);
  // The committed "k" survives the later aborted "k", which is gone; both markers stay.
  CHECK(std::count(offsets.begin(), offsets.end(), committed) == 1);
  CHECK(std::count(offsets.begin(), offsets.end(), aborted) == 0);
  CHECK(std::count(offsets.begin(), offsets.end(), txn_committed) == 1);
  CHECK(std::count(offsets.begin(), offsets.end(), abort_marker) == 1);
  CHECK(std::count(offsets.begin(), offsets.end(), commit_marker) == 1);
  CheckReadsAtEveryOffset(**log);
}

}  // namespace sluice::storage
