#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <thread>

#include "protocol/kafka/batch/record_reader.h"
#include "storage/log/checkpoint.h"
#include "tests/unit/storage_log/log_test_util.h"

using namespace sluice;
using namespace sluice::storage;
using namespace sluice::storage::testing;

namespace {

std::unique_ptr<PartitionLog> OpenLog(const TempDir& dir, const LogConfig& config, const Clock& clock) {
  auto log = PartitionLog::Open(dir.path() / "topic-0", config, clock);
  REQUIRE(log.ok());
  return std::move(*log);
}

}  // namespace

TEST_CASE("append assigns consecutive offsets and stores batches unchanged") {
  TempDir dir;
  ManualClock clock;
  auto log = OpenLog(dir, LogConfig{}, clock);
  CHECK(log->log_end_offset() == 0);
  std::string a = MakeBatch(3, 1000);
  std::string b = MakeBatch(2, 2000, 50, kafka::Compression::kLz4);
  auto r1 = AppendCopy(*log, a);
  CHECK(r1.base_offset == 0);
  CHECK(r1.last_offset == 2);
  CHECK(r1.log_append_time_ms == -1);
  // Several batches in one append.
  std::string pair = a + b;
  auto r2 = log->Append(std::span<char>(pair.data(), pair.size()), kNoLeaderEpoch).value();
  CHECK(r2.base_offset == 3);
  CHECK(r2.last_offset == 7);
  CHECK(log->log_end_offset() == 8);
  CHECK(log->size_bytes() == static_cast<int64_t>(2 * a.size() + b.size()));

  auto read = log->Read(0, 1 << 20, INT64_MAX, false).value();
  std::string expected = a + a + b;
  kafka::SetBaseOffset(expected.data() + a.size(), 3);
  kafka::SetBaseOffset(expected.data() + 2 * a.size(), 6);
  CHECK(ReadSlices(read) == expected);

  std::vector<int64_t> offsets;
  REQUIRE(log->ForEachBatch(4, [&](const kafka::RecordBatchHeader& h, std::string_view bytes) {
                 offsets.push_back(h.base_offset);
                 return kafka::ForEachRecord(bytes, [](const kafka::RecordView&) { return absl::OkStatus(); });
               }).ok());
  CHECK(offsets == std::vector<int64_t>{3, 6});

  std::string junk = "not a batch at all, definitely not";
  CHECK(log->Append(std::span<char>(junk.data(), junk.size()), kNoLeaderEpoch).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(log->log_end_offset() == 8);
}

TEST_CASE("LogAppendTime stamps batches") {
  TempDir dir;
  ManualClock clock(5'000'000);
  LogConfig config;
  config.log_append_time = true;
  auto log = OpenLog(dir, config, clock);
  auto result = AppendCopy(*log, MakeBatch(2, 1000));
  CHECK(result.log_append_time_ms == 5'000'000);
  auto headers = ReadHeaders(log->Read(0, 1 << 20, INT64_MAX, false).value());
  REQUIRE(headers.size() == 1);
  CHECK(headers[0].timestamp_type() == kafka::TimestampType::kLogAppendTime);
  CHECK(headers[0].max_timestamp == 5'000'000);
  CHECK(log->MaxTimestamp()->timestamp == 5'000'000);
}

TEST_CASE("segments roll by size, by time and by index space") {
  TempDir dir;
  ManualClock clock;
  LogConfig config;
  std::string batch = MakeBatch(1, 1000, 100);
  config.segment_bytes = static_cast<int64_t>(batch.size()) * 3;
  auto log = OpenLog(dir, config, clock);
  for (int i = 0; i < 7; ++i) AppendCopy(*log, batch);
  CHECK(log->segment_count() == 3);  // 3 + 3 + 1
  CHECK(std::filesystem::exists(dir.path() / "topic-0" / "00000000000000000003.log"));
  CHECK(std::filesystem::exists(dir.path() / "topic-0" / "00000000000000000006.log"));

  config.segment_bytes = 1 << 30;
  config.segment_ms = 60'000;
  log->UpdateConfig(config);
  clock.AdvanceMs(59'999);
  AppendCopy(*log, batch);
  CHECK(log->segment_count() == 3);
  clock.AdvanceMs(1);
  AppendCopy(*log, batch);
  CHECK(log->segment_count() == 4);
  AppendCopy(*log, batch);
  CHECK(log->segment_count() == 4);

  config.segment_index_bytes = 8 + 8;  // header + one entry
  config.index_interval_bytes = 1;
  log->UpdateConfig(config);
  for (int i = 0; i < 4; ++i) AppendCopy(*log, batch);
  CHECK(log->segment_count() >= 5);
  CHECK(log->log_end_offset() == 14);
  CHECK(ReadHeaders(log->Read(0, 1 << 20, INT64_MAX, false).value()).size() == 14);
}

TEST_CASE("read honours max_bytes, min_one_batch, max_offset and range") {
  TempDir dir;
  ManualClock clock;
  LogConfig config;
  std::string batch = MakeBatch(2, 1000, 100);
  const int64_t size = static_cast<int64_t>(batch.size());
  config.segment_bytes = size * 4;
  auto log = OpenLog(dir, config, clock);
  for (int i = 0; i < 10; ++i) AppendCopy(*log, batch);  // offsets 0..19, 3 segments

  // Spans segments, whole batches only.
  auto all = log->Read(0, 1 << 20, INT64_MAX, false).value();
  CHECK(all.chunks.size() == 3);
  CHECK(all.bytes == 10 * size);

  auto limited = log->Read(0, size * 3 + size / 2, INT64_MAX, false).value();
  CHECK(limited.bytes == 3 * size);

  // A mid-batch offset returns its whole batch.
  auto mid = ReadHeaders(log->Read(5, size, INT64_MAX, false).value());
  REQUIRE(mid.size() == 1);
  CHECK(mid[0].base_offset == 4);

  // KIP-74: the first batch is returned even when larger than max_bytes.
  CHECK(log->Read(0, 10, INT64_MAX, false).value().bytes == 0);
  CHECK(log->Read(0, 10, INT64_MAX, true).value().bytes == size);
  CHECK(log->Read(0, 0, INT64_MAX, true).value().bytes == size);

  // max_offset (high watermark) is exclusive: batch 8..9 needs max_offset >= 10.
  CHECK(ReadHeaders(log->Read(0, 1 << 20, 10, false).value()).size() == 5);
  CHECK(ReadHeaders(log->Read(0, 1 << 20, 9, false).value()).size() == 4);
  CHECK(log->Read(8, 1 << 20, 8, true).value().bytes == 0);

  // next_offset: where the returned data ends (the aborted transactions a fetch reports).
  CHECK(all.next_offset == 20);
  CHECK(limited.next_offset == 6);
  CHECK(log->Read(0, 1 << 20, 9, false).value().next_offset == 8);
  CHECK(log->Read(8, 1 << 20, 8, true).value().next_offset == 8);

  CHECK(log->Read(20, 1 << 20, INT64_MAX, true).value().bytes == 0);  // at the log end
  CHECK(log->Read(21, 1 << 20, INT64_MAX, true).status().code() == absl::StatusCode::kOutOfRange);
  CHECK(log->Read(-1, 1 << 20, INT64_MAX, true).status().code() == absl::StatusCode::kOutOfRange);
}

TEST_CASE("offset for timestamp and max timestamp") {
  TempDir dir;
  ManualClock clock;
  LogConfig config;
  config.index_interval_bytes = 200;
  config.segment_bytes = 2000;
  auto log = OpenLog(dir, config, clock);
  CHECK_FALSE(log->MaxTimestamp());
  CHECK_FALSE(log->OffsetForTimestamp(0).value());
  // Batch i holds offsets 3i..3i+2 with timestamps 1000+10i, +1, +2.
  for (int i = 0; i < 40; ++i) AppendCopy(*log, MakeBatch(3, 1000 + 10 * i, 40));
  REQUIRE(log->segment_count() > 2);
  auto check = [&](int64_t ts, int64_t offset, int64_t found_ts) {
    auto result = log->OffsetForTimestamp(ts).value();
    INFO("timestamp " << ts);
    REQUIRE(result);
    CHECK(result->offset == offset);
    CHECK(result->timestamp == found_ts);
  };
  check(0, 0, 1000);
  check(1000, 0, 1000);
  check(1001, 1, 1001);
  check(1003, 3, 1010);
  check(1212, 65, 1212);
  check(1392, 119, 1392);
  CHECK_FALSE(log->OffsetForTimestamp(1393).value());
  auto max = log->MaxTimestamp();
  REQUIRE(max);
  CHECK(max->timestamp == 1392);
  CHECK(max->offset == 119);

  // The same answers after reopening (indexes loaded from disk).
  REQUIRE(log->Close().ok());
  log = OpenLog(dir, config, clock);
  check(1212, 65, 1212);
  CHECK(log->MaxTimestamp()->offset == 119);
}

TEST_CASE("retention by time, by size, and forever") {
  TempDir dir;
  ManualClock clock(1'000'000);
  LogConfig config;
  std::string batch = MakeBatch(1, 0, 100);
  const int64_t size = static_cast<int64_t>(batch.size());
  config.segment_bytes = size * 2;
  config.retention_ms = -1;
  auto log = OpenLog(dir, config, clock);
  for (int i = 0; i < 10; ++i) AppendCopy(*log, MakeBatch(1, 1000 * i, 100));  // 5 segments
  REQUIRE(log->segment_count() == 5);

  SECTION("forever keeps everything") {
    REQUIRE(log->ApplyRetention(INT64_MAX / 2, INT64_MAX).ok());
    CHECK(log->segment_count() == 5);
    CHECK(log->log_start_offset() == 0);
  }
  SECTION("by time: segments whose newest timestamp is older than retention.ms") {
    config.retention_ms = 5000;
    log->UpdateConfig(config);
    // Segment k holds timestamps 2000k and 2000k+1000; at now=8500 those with max < 3500 go.
    REQUIRE(log->ApplyRetention(8500, INT64_MAX).ok());
    CHECK(log->segment_count() == 3);
    CHECK(log->log_start_offset() == 4);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "topic-0" / "00000000000000000000.log"));
    CHECK(log->Read(3, 1000, INT64_MAX, true).status().code() == absl::StatusCode::kOutOfRange);
    // Everything expired: the active segment is rolled and deleted too; the log stays usable.
    REQUIRE(log->ApplyRetention(100'000, INT64_MAX).ok());
    CHECK(log->segment_count() == 1);
    CHECK(log->log_start_offset() == 10);
    CHECK(log->log_end_offset() == 10);
    CHECK(AppendCopy(*log, batch).base_offset == 10);
    REQUIRE(log->Close().ok());
    log = OpenLog(dir, config, clock);
    CHECK(log->log_start_offset() == 10);
    CHECK(log->log_end_offset() == 11);
  }
  SECTION("by size: oldest segments go while the rest still exceeds retention.bytes") {
    config.retention_bytes = size * 5;
    log->UpdateConfig(config);
    REQUIRE(log->ApplyRetention(0, INT64_MAX).ok());
    CHECK(log->segment_count() == 3);  // 6 batches kept: the smallest whole-segment set >= 5
    CHECK(log->log_start_offset() == 4);
    config.retention_bytes = 0;
    log->UpdateConfig(config);
    REQUIRE(log->ApplyRetention(0, INT64_MAX).ok());
    CHECK(log->segment_count() == 1);  // never the active segment
    CHECK(log->log_start_offset() == 8);
  }
}

TEST_CASE("a DeleteRecords log start: segments below it go, retention never lowers it") {
  TempDir dir;
  ManualClock clock(1'000'000);
  LogConfig config;
  std::string batch = MakeBatch(1, 0, 100);
  const int64_t size = static_cast<int64_t>(batch.size());
  config.segment_bytes = size * 2;
  config.retention_ms = -1;
  auto log = OpenLog(dir, config, clock);
  for (int i = 0; i < 10; ++i) AppendCopy(*log, batch);  // segments at 0, 2, 4, 6, 8
  REQUIRE(log->AdvanceLogStartOffset(5).ok());
  CHECK(log->log_start_offset() == 5);
  CHECK(log->segment_count() == 3);  // 4..5 still holds offset 5
  CHECK_FALSE(std::filesystem::exists(dir.path() / "topic-0" / "00000000000000000002.log"));
  CHECK(log->Read(4, 1000, INT64_MAX, true).status().code() == absl::StatusCode::kOutOfRange);
  REQUIRE(log->AdvanceLogStartOffset(3).ok());  // lower: nothing changes
  CHECK(log->log_start_offset() == 5);

  config.retention_bytes = size * 4;  // 6 batches kept: the oldest segment can go
  log->UpdateConfig(config);
  REQUIRE(log->ApplyRetention(0, INT64_MAX).ok());
  CHECK(log->segment_count() == 2);
  CHECK(log->log_start_offset() == 6);
  config.retention_bytes = -1;
  log->UpdateConfig(config);
  REQUIRE(log->ApplyRetention(0, INT64_MAX).ok());
  CHECK(log->log_start_offset() == 6);
  log.reset();  // no Close
  log = OpenLog(dir, config, clock);
  CHECK(log->log_start_offset() == 6);
  CHECK(log->log_end_offset() == 10);
}

TEST_CASE("the log start checkpoint survives a crash at any point of DeleteRecords") {
  TempDir dir;
  ManualClock clock;
  LogConfig config;
  std::string batch = MakeBatch(1, 0, 100);
  config.segment_bytes = static_cast<int64_t>(batch.size()) * 2;
  auto log = OpenLog(dir, config, clock);
  for (int i = 0; i < 6; ++i) AppendCopy(*log, batch);  // segments at 0, 2, 4
  REQUIRE(log->AdvanceLogStartOffset(1).ok());
  log.reset();
  const auto partition = dir.path() / "topic-0";

  SECTION("torn while the temp file was written: the previous checkpoint holds") {
    std::ofstream(partition / "log-start-offset.checkpoint.tmp", std::ios::trunc) << "sluice-offset-chec";
    log = OpenLog(dir, config, clock);
    CHECK(log->log_start_offset() == 1);
    CHECK_FALSE(std::filesystem::exists(partition / "log-start-offset.checkpoint.tmp"));
  }
  SECTION("after the rename, before the segments were removed: Open removes them") {
    REQUIRE(WriteOffsetCheckpoint(partition / "log-start-offset.checkpoint", 5).ok());
    log = OpenLog(dir, config, clock);
    CHECK(log->log_start_offset() == 5);
    CHECK(log->segment_count() == 1);
    CHECK_FALSE(std::filesystem::exists(partition / "00000000000000000000.log"));
    CHECK_FALSE(std::filesystem::exists(partition / "00000000000000000002.log"));
  }
  CHECK(log->log_end_offset() == 6);
}

TEST_CASE("a file slice outlives the deletion of its segment") {
  TempDir dir;
  ManualClock clock;
  LogConfig config;
  std::string batch = MakeBatch(1, 0, 100);
  config.segment_bytes = static_cast<int64_t>(batch.size());
  config.retention_ms = 10;
  auto log = OpenLog(dir, config, clock);
  AppendCopy(*log, batch);
  AppendCopy(*log, batch);
  auto read = log->Read(0, static_cast<int64_t>(batch.size()), INT64_MAX, true).value();
  REQUIRE(log->ApplyRetention(1'000'000, INT64_MAX).ok());
  CHECK(log->log_start_offset() == 2);
  CHECK(ReadHeaders(read).size() == 1);
}

TEST_CASE("truncate and advance the log start") {
  TempDir dir;
  ManualClock clock;
  LogConfig config;
  std::string batch = MakeBatch(2, 0, 50);
  config.segment_bytes = static_cast<int64_t>(batch.size()) * 2;
  auto log = OpenLog(dir, config, clock);
  for (int i = 0; i < 6; ++i) AppendCopy(*log, batch);  // offsets 0..11, segments at 0, 4, 8
  REQUIRE(log->Flush().ok());
  CHECK(log->recovery_point() == 12);

  REQUIRE(log->TruncateTo(7).ok());  // the batch 6..7 goes: rounds down to 6
  CHECK(log->log_end_offset() == 6);
  CHECK(log->segment_count() == 2);
  CHECK(log->recovery_point() == 6);
  CHECK(AppendCopy(*log, batch).base_offset == 6);
  REQUIRE(log->TruncateTo(4).ok());
  CHECK(log->log_end_offset() == 4);
  CHECK(AppendCopy(*log, batch).base_offset == 4);

  CHECK(log->AdvanceLogStartOffset(100).code() == absl::StatusCode::kOutOfRange);
  REQUIRE(log->AdvanceLogStartOffset(5).ok());
  CHECK(log->log_start_offset() == 5);
  CHECK(log->segment_count() == 1);
  auto first = ReadHeaders(log->Read(5, 1, INT64_MAX, true).value());
  CHECK(first[0].base_offset == 4);  // the batch holding offset 5
  CHECK(log->Read(4, 1, INT64_MAX, true).status().code() == absl::StatusCode::kOutOfRange);

  REQUIRE(log->TruncateTo(2).ok());  // below the log start: start over at 2
  CHECK(log->log_start_offset() == 2);
  CHECK(log->log_end_offset() == 2);
  REQUIRE(log->Close().ok());
  log = OpenLog(dir, config, clock);
  CHECK(log->log_start_offset() == 2);
  CHECK(log->log_end_offset() == 2);
}

TEST_CASE("checkpoints and flush policy survive reopen") {
  TempDir dir;
  ManualClock clock;
  LogConfig config;
  config.flush_messages = 5;
  config.flush_ms = 1000;
  auto log = OpenLog(dir, config, clock);
  AppendCopy(*log, MakeBatch(3, 0));
  CHECK_FALSE(log->FlushDue(clock.NowMs()));
  CHECK(log->FlushDue(clock.NowMs() + 1000));
  AppendCopy(*log, MakeBatch(3, 0));
  CHECK(log->FlushDue(clock.NowMs()));
  REQUIRE(log->Flush().ok());
  CHECK_FALSE(log->FlushDue(clock.NowMs() + 5000));
  CHECK(log->recovery_point() == 6);
  REQUIRE(log->AdvanceLogStartOffset(2).ok());
  AppendCopy(*log, MakeBatch(1, 0));
  log.reset();  // no Close: an unclean stop
  log = OpenLog(dir, config, clock);
  CHECK(log->log_start_offset() == 2);
  CHECK(log->recovery_point() == 6);
  CHECK(log->log_end_offset() == 7);
  REQUIRE(log->Close().ok());
  CHECK(log->Append(std::span<char>(), kNoLeaderEpoch).status().code() == absl::StatusCode::kInvalidArgument);
  std::string batch = MakeBatch(1, 0);
  CHECK(log->Append(std::span<char>(batch.data(), batch.size()), kNoLeaderEpoch).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  log = OpenLog(dir, config, clock);
  CHECK(log->recovery_point() == 7);
  REQUIRE(log->Delete().ok());
  CHECK_FALSE(std::filesystem::exists(dir.path() / "topic-0"));
}

TEST_CASE("concurrent appends, reads, flushes and retention") {
  TempDir dir;
  SystemClock& clock = SystemClock::Instance();
  LogConfig config;
  std::string batch = MakeBatch(2, clock.NowMs(), 64);
  config.segment_bytes = static_cast<int64_t>(batch.size()) * 20;
  config.index_interval_bytes = 256;
  config.retention_bytes = static_cast<int64_t>(batch.size()) * 200;
  auto log = OpenLog(dir, config, clock);
  constexpr int kWriters = 2;
  constexpr int kBatchesPerWriter = 500;
  std::atomic<bool> writers_done{false};
  std::atomic<int> read_errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&] {
      for (int i = 0; i < kBatchesPerWriter; ++i) {
        std::string copy = batch;
        if (!log->Append(std::span<char>(copy.data(), copy.size()), kNoLeaderEpoch).ok()) read_errors++;
      }
    });
  }
  threads.emplace_back([&] {
    while (!writers_done) {
      int64_t start = log->log_start_offset();
      auto read = log->Read(start, 4096, log->log_end_offset(), true);
      // Retention may pass `start` between the two calls; anything else is a bug.
      if (!read.ok() && read.status().code() != absl::StatusCode::kOutOfRange) read_errors++;
    }
  });
  threads.emplace_back([&] {
    while (!writers_done) {
      if (!log->Flush().ok() || !log->ApplyRetention(clock.NowMs(), INT64_MAX).ok()) read_errors++;
    }
  });
  for (int w = 0; w < kWriters; ++w) threads[static_cast<size_t>(w)].join();
  writers_done = true;
  for (size_t t = kWriters; t < threads.size(); ++t) threads[t].join();
  CHECK(read_errors == 0);
  CHECK(log->log_end_offset() == 2 * kWriters * kBatchesPerWriter);
  auto all = log->Read(log->log_start_offset(), 1 << 30, INT64_MAX, false).value();
  auto headers = ReadHeaders(all);
  REQUIRE(!headers.empty());
  for (size_t i = 1; i < headers.size(); ++i) CHECK(headers[i].base_offset == headers[i - 1].last_offset() + 1);
  CHECK(headers.back().last_offset() == log->log_end_offset() - 1);
}
