// What replication needs from the partition log: leader epochs, follower appends, truncation
// and the high watermark checkpoint.

#include <catch2/catch.hpp>

#include <fstream>

#include "protocol/kafka/batch/record_reader.h"
#include "tests/unit/storage_log/log_test_util.h"

using namespace sluice;
using namespace sluice::storage;
using namespace sluice::storage::testing;

namespace {

using Entries = std::vector<EpochEntry>;

struct Fixture {
  TempDir dir;
  ManualClock clock;
  LogConfig config;
  std::filesystem::path log_dir() const { return dir.path() / "t-0"; }

  std::unique_ptr<PartitionLog> Open() {
    auto log = PartitionLog::Open(log_dir(), config, clock);
    REQUIRE(log.ok());
    return std::move(*log);
  }
};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string ReadAllBytes(const PartitionLog& log) {
  return ReadSlices(log.Read(log.log_start_offset(), 1 << 30, INT64_MAX, false).value());
}

}  // namespace

TEST_CASE("a leader append stamps its epoch into every batch and starts the epoch in the cache") {
  Fixture f;
  auto log = f.Open();
  CHECK(log->latest_epoch() == kNoLeaderEpoch);
  const std::string a = MakeBatch(3, 1000);
  const std::string b = MakeBatch(2, 2000, 30, kafka::Compression::kLz4);
  std::string pair = a + b;
  auto first = log->Append(std::span<char>(pair.data(), pair.size()), 4).value();
  CHECK(first.base_offset == 0);
  CHECK(first.last_offset == 4);
  AppendCopy(*log, a, 4);  // the same epoch: no new entry
  CHECK(log->leader_epoch_entries() == Entries{{4, 0}});
  AppendCopy(*log, b, 6);
  CHECK(log->leader_epoch_entries() == Entries{{4, 0}, {6, 8}});
  CHECK(log->latest_epoch() == 6);

  // The stored bytes are the producer's except for the base offset and the leader epoch, and
  // every CRC still holds (ReadHeaders validates them).
  const auto headers = ReadHeaders(log->Read(0, 1 << 30, INT64_MAX, false).value());
  REQUIRE(headers.size() == 4);
  CHECK(headers[0].partition_leader_epoch == 4);
  CHECK(headers[1].partition_leader_epoch == 4);
  CHECK(headers[2].partition_leader_epoch == 4);
  CHECK(headers[3].partition_leader_epoch == 6);
  const std::string stored = ReadAllBytes(*log);
  std::string expected = a;
  kafka::SetBaseOffset(expected.data(), 0);
  expected[12] = expected[13] = expected[14] = 0;
  expected[15] = 4;
  CHECK(stored.substr(0, a.size()) == expected);

  // A deposed leader's older epoch is refused and appends nothing.
  const int64_t leo = log->log_end_offset();
  std::string stale = a;
  CHECK(log->Append(std::span<char>(stale.data(), stale.size()), 5).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(log->log_end_offset() == leo);

  // Without an epoch the producer's value is replaced by "none" and the cache is left alone,
  // also when a recovering Open reads the headers back.
  AppendCopy(*log, MakeLeaderBatch(0, 9, 1));
  CHECK(ReadHeaders(log->Read(leo, 1 << 20, INT64_MAX, false).value()).at(0).partition_leader_epoch == -1);
  CHECK(log->leader_epoch_entries() == Entries{{4, 0}, {6, 8}});
  log.reset();
  std::filesystem::remove(f.log_dir() / "leader-epoch-checkpoint");
  log = f.Open();
  CHECK(log->leader_epoch_entries() == Entries{{4, 0}, {6, 8}});

  CHECK(log->EndOffsetForEpoch(4) == EpochEndOffset{4, 8});
  CHECK(log->EndOffsetForEpoch(5) == EpochEndOffset{4, 8});
  CHECK(log->EndOffsetForEpoch(6) == EpochEndOffset{6, leo + 1});
  CHECK(log->EndOffsetForEpoch(3) == EpochEndOffset{3, 0});
  CHECK(log->EndOffsetForEpoch(7) == EpochEndOffset{kNoLeaderEpoch, kNoEpochEndOffset});
  CHECK(log->EpochForOffset(7) == 4);
  CHECK(log->EpochForOffset(8) == 6);
}

TEST_CASE("a follower append stores the leader's batches unchanged and learns their epochs") {
  Fixture f;
  std::string batch = MakeBatch(1, 0, 100);
  f.config.segment_bytes = static_cast<int64_t>(batch.size()) * 3;
  f.config.log_append_time = true;  // the leader's timestamps are kept all the same
  auto log = f.Open();
  std::string leader_batches;
  for (int fetch = 0; fetch < 5; ++fetch) {
    // Each fetch brings two batches of two records.
    std::string fetched;
    for (int i = 2 * fetch; i < 2 * fetch + 2; ++i) fetched += MakeLeaderBatch(2 * i, i < 4 ? 1 : 3, 2, 500 + i, 100);
    auto appended = AppendFollower(*log, fetched);
    CHECK(appended.base_offset == 4 * fetch);
    CHECK(appended.last_offset == 4 * fetch + 3);
    CHECK(appended.log_append_time_ms == -1);
    leader_batches += fetched;
  }
  CHECK(log->log_end_offset() == 20);
  CHECK(log->segment_count() == 5);  // rolled like a leader append
  CHECK(ReadAllBytes(*log) == leader_batches);
  CHECK(log->leader_epoch_entries() == Entries{{1, 0}, {3, 8}});
  for (int64_t offset = 0; offset < 20; ++offset) {
    auto headers = ReadHeaders(log->Read(offset, 1, INT64_MAX, true).value());
    REQUIRE(headers.size() == 1);
    CHECK(headers[0].base_offset == offset - offset % 2);
    CHECK(headers[0].max_timestamp == 500 + offset / 2 + 1);
  }
  REQUIRE(log->Close().ok());
  log = f.Open();
  CHECK(ReadAllBytes(*log) == leader_batches);
  CHECK(log->leader_epoch_entries() == Entries{{1, 0}, {3, 8}});
}

TEST_CASE("a follower append refuses offsets that overlap the log or go backwards") {
  Fixture f;
  auto log = f.Open();
  AppendFollower(*log, MakeLeaderBatch(0, 1, 3));
  const int64_t size = log->size_bytes();
  auto refused = [&](const std::string& batches, absl::StatusCode code) {
    auto result = log->AppendAsFollower(batches);
    CHECK(result.status().code() == code);
    CHECK(log->log_end_offset() == 3);
    CHECK(log->size_bytes() == size);
    CHECK(log->leader_epoch_entries() == Entries{{1, 0}});
  };
  SECTION("below the log end") {
    refused(MakeLeaderBatch(2, 2, 2), absl::StatusCode::kFailedPrecondition);
    refused(MakeLeaderBatch(0, 2, 2), absl::StatusCode::kFailedPrecondition);
  }
  SECTION("batches that overlap or go backwards") {
    refused(MakeLeaderBatch(3, 2, 2) + MakeLeaderBatch(4, 2, 2), absl::StatusCode::kInvalidArgument);
    refused(MakeLeaderBatch(5, 2, 2) + MakeLeaderBatch(3, 2, 2), absl::StatusCode::kInvalidArgument);
    refused(MakeLeaderBatch(3, 2, 2) + MakeLeaderBatch(4, 2, 1), absl::StatusCode::kInvalidArgument);
  }
  SECTION("malformed framing") {
    std::string torn = MakeLeaderBatch(3, 2, 2);
    refused(torn.substr(0, torn.size() - 1), absl::StatusCode::kInvalidArgument);
    refused("", absl::StatusCode::kInvalidArgument);
    refused("definitely not a record batch, not at all, no", absl::StatusCode::kInvalidArgument);
  }
  SECTION("a batch whose last offset would pass the largest offset") {
    // Found by tests/fuzz/follower_append_fuzzer: base offset + last offset delta overflowed
    // (undefined behaviour) on the leader's base offset near INT64_MAX.
    refused(MakeLeaderBatch(INT64_MAX - 1, 2, 2), absl::StatusCode::kInvalidArgument);
    refused(MakeLeaderBatch(3, 2, 1) + MakeLeaderBatch(INT64_MAX, 2, 3), absl::StatusCode::kInvalidArgument);
    refused(MakeLeaderBatch(INT64_MAX, 2, 1), absl::StatusCode::kInvalidArgument);  // no next offset
  }
  SECTION("a gap the leader's compaction left is accepted") {
    auto appended = AppendFollower(*log, MakeLeaderBatch(7, 2, 2) + MakeLeaderBatch(12, 2, 1));
    CHECK(appended.base_offset == 7);
    CHECK(appended.last_offset == 12);
    CHECK(log->log_end_offset() == 13);
    CHECK(log->leader_epoch_entries() == Entries{{1, 0}, {2, 7}});
    auto in_gap = ReadHeaders(log->Read(4, 1 << 20, INT64_MAX, false).value());
    REQUIRE(in_gap.size() == 2);
    CHECK(in_gap[0].base_offset == 7);
  }
  SECTION("after close") {
    REQUIRE(log->Close().ok());
    CHECK(log->AppendAsFollower(MakeLeaderBatch(3, 1, 1)).status().code() == absl::StatusCode::kFailedPrecondition);
  }
}

TEST_CASE("truncation drops the epochs past the new log end, on disk too") {
  Fixture f;
  auto log = f.Open();
  AppendFollower(*log, MakeLeaderBatch(0, 1, 4) + MakeLeaderBatch(4, 2, 4) + MakeLeaderBatch(8, 3, 2) +
                           MakeLeaderBatch(10, 3, 2));
  REQUIRE(log->Flush().ok());
  CHECK(ReadFile(f.log_dir() / "leader-epoch-checkpoint") == "0\n3\n1 0\n2 4\n3 8\n");

  REQUIRE(log->TruncateTo(9).ok());  // rounds down to the batch boundary at 8
  CHECK(log->log_end_offset() == 8);
  CHECK(log->leader_epoch_entries() == Entries{{1, 0}, {2, 4}});
  CHECK(ReadFile(f.log_dir() / "leader-epoch-checkpoint") == "0\n2\n1 0\n2 4\n");
  CHECK(log->EndOffsetForEpoch(2) == EpochEndOffset{2, 8});

  // The new leader's data in epoch 5 then a crash before any flush.
  AppendFollower(*log, MakeLeaderBatch(8, 5, 3));
  log.reset();
  log = f.Open();
  CHECK(log->log_end_offset() == 11);
  CHECK(log->leader_epoch_entries() == Entries{{1, 0}, {2, 4}, {5, 8}});

  REQUIRE(log->TruncateTo(4).ok());
  CHECK(log->leader_epoch_entries() == Entries{{1, 0}});
  REQUIRE(log->Close().ok());
  log = f.Open();
  CHECK(log->log_end_offset() == 4);
  CHECK(log->leader_epoch_entries() == Entries{{1, 0}});
  CHECK(log->EndOffsetForEpoch(1) == EpochEndOffset{1, 4});

  // Below the log start nothing survives: the log restarts empty there.
  REQUIRE(log->AdvanceLogStartOffset(2).ok());
  CHECK(log->leader_epoch_entries() == Entries{{1, 2}});
  REQUIRE(log->TruncateTo(1).ok());
  CHECK(log->log_start_offset() == 1);
  CHECK(log->log_end_offset() == 1);
  CHECK(log->leader_epoch_entries().empty());
  log.reset();
  log = f.Open();
  CHECK(log->leader_epoch_entries().empty());
  CHECK(log->log_end_offset() == 1);
}

TEST_CASE("truncating fully restarts an empty log at any offset") {
  Fixture f;
  std::string batch = MakeLeaderBatch(0, 1, 2, 1000, 100);
  f.config.segment_bytes = static_cast<int64_t>(batch.size()) * 2;
  auto log = f.Open();
  for (int i = 0; i < 6; ++i) AppendCopy(*log, MakeBatch(2, 1000, 100), 1);
  REQUIRE(log->segment_count() == 3);
  REQUIRE(log->Flush().ok());
  log->set_cleaned_through_offset(8);

  const int64_t target = GENERATE(100, 5, 0);
  INFO("restart at " << target);
  REQUIRE(log->TruncateFullyAndStartAt(target).ok());
  CHECK(log->log_start_offset() == target);
  CHECK(log->log_end_offset() == target);
  CHECK(log->recovery_point() == target);
  CHECK(log->segment_count() == 1);
  CHECK(log->leader_epoch_entries().empty());
  CHECK(log->latest_epoch() == kNoLeaderEpoch);
  CHECK(log->cleaned_through_offset() <= target);
  CHECK(log->Read(target, 1 << 20, INT64_MAX, true).value().bytes == 0);
  if (target > 0) CHECK(log->Read(target - 1, 1 << 20, INT64_MAX, true).status().code() == absl::StatusCode::kOutOfRange);
  size_t segment_files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(f.log_dir())) {
    if (entry.path().extension() == ".log") ++segment_files;
  }
  CHECK(segment_files == 1);

  AppendFollower(*log, MakeLeaderBatch(target, 7, 2));
  CHECK(log->leader_epoch_entries() == Entries{{7, target}});
  log.reset();  // a crash: the restart itself must already be durable
  log = f.Open();
  CHECK(log->log_start_offset() == target);
  CHECK(log->log_end_offset() == target + 2);
  CHECK(log->leader_epoch_entries() == Entries{{7, target}});
  CHECK(log->TruncateFullyAndStartAt(-1).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("the high watermark checkpoint round-trips and is clamped to the log on open") {
  Fixture f;
  const auto path = f.log_dir() / "high-watermark.checkpoint";
  auto log = f.Open();
  CHECK(log->initial_high_watermark() == 0);
  for (int i = 0; i < 5; ++i) AppendCopy(*log, MakeBatch(2, 1000));  // offsets 0..9
  REQUIRE(log->CheckpointHighWatermark(6).ok());
  CHECK(ReadFile(path) == "sluice-offset-checkpoint 1\n6\n");
  // The same value is not written again.
  std::filesystem::remove(path);
  REQUIRE(log->CheckpointHighWatermark(6).ok());
  CHECK_FALSE(std::filesystem::exists(path));
  REQUIRE(log->CheckpointHighWatermark(8).ok());
  CHECK(log->CheckpointHighWatermark(-1).code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(log->Close().ok());
  CHECK(log->CheckpointHighWatermark(9).code() == absl::StatusCode::kFailedPrecondition);

  log = f.Open();
  CHECK(log->initial_high_watermark() == 8);
  // Reopened, the last value written is known: writing it again is skipped.
  std::filesystem::remove(path);
  REQUIRE(log->CheckpointHighWatermark(8).ok());
  CHECK_FALSE(std::filesystem::exists(path));

  REQUIRE(log->CheckpointHighWatermark(50).ok());  // past the log end
  log.reset();
  log = f.Open();
  CHECK(log->initial_high_watermark() == 10);

  REQUIRE(log->AdvanceLogStartOffset(4).ok());
  REQUIRE(log->CheckpointHighWatermark(2).ok());  // below the log start
  log.reset();
  log = f.Open();
  CHECK(log->initial_high_watermark() == 4);

  std::ofstream(path, std::ios::trunc) << "garbage";
  log.reset();
  log = f.Open();
  CHECK(log->initial_high_watermark() == 4);  // the log start
}

TEST_CASE("batch headers are visited without reading the records") {
  Fixture f;
  std::string batch = MakeBatch(3, 1000, 50);
  f.config.segment_bytes = static_cast<int64_t>(batch.size()) * 2;
  auto log = f.Open();
  for (int i = 0; i < 5; ++i) AppendCopy(*log, batch, i < 2 ? 0 : 1);  // offsets 0..14, 3 segments
  std::vector<std::pair<int64_t, int32_t>> seen;
  REQUIRE(log->ForEachBatchHeader(4, [&](const kafka::RecordBatchHeader& header) {
                 seen.emplace_back(header.base_offset, header.partition_leader_epoch);
                 return absl::OkStatus();
               }).ok());
  CHECK(seen == std::vector<std::pair<int64_t, int32_t>>{{3, 0}, {6, 1}, {9, 1}, {12, 1}});
  int calls = 0;
  auto stopped = log->ForEachBatchHeader(0, [&](const kafka::RecordBatchHeader&) {
    ++calls;
    return absl::CancelledError("enough");
  });
  CHECK(stopped.code() == absl::StatusCode::kCancelled);
  CHECK(calls == 1);
}

TEST_CASE("retention never deletes past the maximum offset and moves the epoch cache's start") {
  Fixture f;
  f.clock.AdvanceMs(1'000'000 - f.clock.NowMs());
  std::string batch = MakeBatch(1, 0, 100);
  f.config.segment_bytes = static_cast<int64_t>(batch.size()) * 2;
  f.config.retention_ms = 5000;
  auto log = f.Open();
  for (int i = 0; i < 10; ++i) AppendCopy(*log, MakeBatch(1, 1000 * i, 100), i < 3 ? 1 : 2);  // segments of 2
  REQUIRE(log->segment_count() == 5);
  CHECK(log->leader_epoch_entries() == Entries{{1, 0}, {2, 3}});

  // Everything has expired, but only segments ending at or below offset 5 may go.
  REQUIRE(log->ApplyRetention(1'000'000, 5).ok());
  CHECK(log->log_start_offset() == 4);
  CHECK(log->segment_count() == 3);
  CHECK(log->leader_epoch_entries() == Entries{{2, 4}});
  // Nothing more below 5, and the idle active segment is not rolled away below the log end.
  REQUIRE(log->ApplyRetention(1'000'000, 5).ok());
  CHECK(log->log_start_offset() == 4);
  REQUIRE(log->ApplyRetention(1'000'000, 9).ok());
  CHECK(log->log_start_offset() == 8);
  CHECK(log->segment_count() == 1);
  CHECK(log->log_end_offset() == 10);
  // With the high watermark at the log end the active segment ages out too.
  REQUIRE(log->ApplyRetention(1'000'000, 10).ok());
  CHECK(log->log_start_offset() == 10);
  CHECK(log->log_end_offset() == 10);
  CHECK(log->leader_epoch_entries() == Entries{{2, 10}});

  SECTION("by size as well") {
    for (int i = 0; i < 10; ++i) AppendCopy(*log, MakeBatch(1, 1'000'000, 100), 2);  // offsets 10..19
    f.config.retention_ms = -1;
    f.config.retention_bytes = 0;
    log->UpdateConfig(f.config);
    REQUIRE(log->ApplyRetention(1'000'000, 14).ok());
    CHECK(log->log_start_offset() == 14);
    REQUIRE(log->ApplyRetention(1'000'000, INT64_MAX).ok());
    CHECK(log->log_start_offset() == 18);  // never the active segment
  }
}

TEST_CASE("raising the log start moves the epoch cache's start") {
  Fixture f;
  auto log = f.Open();
  AppendFollower(*log, MakeLeaderBatch(0, 1, 4) + MakeLeaderBatch(4, 2, 4));
  REQUIRE(log->AdvanceLogStartOffset(2).ok());
  CHECK(log->leader_epoch_entries() == Entries{{1, 2}, {2, 4}});
  REQUIRE(log->AdvanceLogStartOffset(6).ok());
  CHECK(log->leader_epoch_entries() == Entries{{2, 6}});
  CHECK(log->EndOffsetForEpoch(1) == EpochEndOffset{1, 6});
  log.reset();
  log = f.Open();
  CHECK(log->leader_epoch_entries() == Entries{{2, 6}});
}

TEST_CASE("truncating to the log end drops an epoch started there without batches") {
  Fixture f;
  auto log = f.Open();
  AppendFollower(*log, MakeLeaderBatch(0, 1, 4));
  log->AssignLeaderEpoch(2, 4);  // led epoch 2, appended nothing, then lost the leadership
  CHECK(log->leader_epoch_entries() == Entries{{1, 0}, {2, 4}});
  CHECK(log->latest_epoch() == 2);
  REQUIRE(log->TruncateTo(4).ok());  // what the next leader's diverging epoch asks for
  CHECK(log->log_end_offset() == 4);
  CHECK(log->leader_epoch_entries() == Entries{{1, 0}});
  CHECK(log->latest_epoch() == 1);
}
