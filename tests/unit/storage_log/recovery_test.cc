#include <catch2/catch.hpp>

#include <fstream>

#include "tests/unit/storage_log/log_test_util.h"

using namespace sluice;
using namespace sluice::storage;
using namespace sluice::storage::testing;

namespace {

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

void WriteFile(const std::filesystem::path& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
}

void WriteOffsetFile(const std::filesystem::path& path, int64_t offset) {
  WriteFile(path, "sluice-offset-checkpoint 1\n" + std::to_string(offset) + "\n");
}

// Removes the clean-shutdown marker, as a crash would leave things.
void SimulateCrash(const std::filesystem::path& dir) {
  std::filesystem::remove(dir / "clean-shutdown");
}

// A crash after a flush that reached `recovery_point`: what follows was never fsynced.
void SimulateCrashFlushedTo(const std::filesystem::path& dir, int64_t recovery_point) {
  SimulateCrash(dir);
  WriteOffsetFile(dir / "recovery-point.checkpoint", recovery_point);
}

// Opens the damaged log and checks it kept exactly the earlier batches and accepts appends.
void ExpectRecovered(Fixture& f, int64_t expected_leo, size_t expected_batches) {
  auto log = f.Open();
  REQUIRE(log->log_end_offset() == expected_leo);
  REQUIRE(ReadHeaders(log->Read(0, 1 << 30, INT64_MAX, false).value()).size() == expected_batches);
  CHECK(AppendCopy(*log, MakeBatch(2, 5000)).base_offset == expected_leo);
  CHECK(ReadHeaders(log->Read(0, 1 << 30, INT64_MAX, false).value()).size() == expected_batches + 1);
  // Dropped without Close (no fsync, keeps the loops fast); the next iteration rewrites the file.
}

// Three equal batches (offsets 0..8) in one segment, closed cleanly; returns one batch's size.
size_t WriteThreeBatches(Fixture& f) {
  const std::string batch = MakeBatch(3, 1000, 30);
  auto log = f.Open();
  for (int i = 0; i < 3; ++i) AppendCopy(*log, batch);
  REQUIRE(log->Close().ok());
  return batch.size();
}

}  // namespace

TEST_CASE("a torn last batch is truncated at every possible length") {
  Fixture f;
  std::string batch = MakeBatch(3, 1000, 30);
  const int64_t size = static_cast<int64_t>(batch.size());
  f.config.segment_bytes = size * 3;  // two segments: [b0 b1 b2] [b3 b4]
  {
    auto log = f.Open();
    for (int i = 0; i < 5; ++i) AppendCopy(*log, batch);
    REQUIRE(log->Close().ok());
  }
  const auto last = f.log_dir() / "00000000000000000009.log";
  const std::string original = ReadFile(last);
  REQUIRE(static_cast<int64_t>(original.size()) == 2 * size);
  for (int64_t keep = size; keep < 2 * size; ++keep) {
    INFO("last segment cut to " << keep << " bytes");
    WriteFile(last, original.substr(0, static_cast<size_t>(keep)));
    SimulateCrash(f.log_dir());
    ExpectRecovered(f, 12, 4);
  }
}

TEST_CASE("a corrupt byte anywhere in the last batch truncates that batch") {
  Fixture f;
  const size_t size = WriteThreeBatches(f);
  const std::string batch = MakeBatch(3, 1000, 30);
  const auto segment = f.log_dir() / "00000000000000000000.log";
  const std::string original = ReadFile(segment);
  for (size_t i = 0; i < size; ++i) {
    INFO("corrupt byte " << i << " of the last batch");
    std::string damaged = original;
    damaged[2 * size + i] = static_cast<char>(damaged[2 * size + i] ^ 0x5a);
    WriteFile(segment, damaged);
    SimulateCrashFlushedTo(f.log_dir(), 6);  // the last batch was never fsynced
    if (i >= 12 && i < 16) {
      // The partition leader epoch lies outside the CRC: the batch is kept.
      ExpectRecovered(f, 9, 3);
    } else if (i < 8) {
      // So does the base offset; a corrupted one is caught only when it goes backwards. Either
      // way the log opens with the earlier batches intact and accepts appends.
      auto log = f.Open();
      auto headers = ReadHeaders(log->Read(0, 1 << 30, INT64_MAX, false).value());
      REQUIRE(headers.size() >= 2);
      CHECK(headers[1].base_offset == 3);
      const int64_t leo = log->log_end_offset();
      CHECK((leo == 6 || leo - 3 - 6 < INT32_MAX));  // a jump past a segment's offset range is caught
      CHECK(AppendCopy(*log, batch).base_offset == leo);
    } else {
      ExpectRecovered(f, 6, 2);
    }
  }
}

TEST_CASE("crash recovery reads and checks batches only from the recovery point on") {
  Fixture f;
  const size_t size = WriteThreeBatches(f);
  const auto segment = f.log_dir() / "00000000000000000000.log";
  std::string damaged = ReadFile(segment);
  damaged[size - 1] = static_cast<char>(damaged[size - 1] ^ 0x5a);  // a record byte of the first batch
  WriteFile(segment, damaged);
  SECTION("below the recovery point the batch was fsynced: its headers are checked, its CRC is not") {
    SimulateCrashFlushedTo(f.log_dir(), 3);
    auto log = f.Open();
    CHECK(log->log_end_offset() == 9);
    CHECK(log->Read(0, 1 << 30, INT64_MAX, false).value().bytes == static_cast<int64_t>(3 * size));
  }
  SECTION("at or past it, the CRC catches the damage") {
    SimulateCrashFlushedTo(f.log_dir(), 0);
    ExpectRecovered(f, 0, 0);
  }
}

TEST_CASE("later segments after a torn segment are dropped") {
  Fixture f;
  std::string batch = MakeBatch(1, 1000, 30);
  f.config.segment_bytes = static_cast<int64_t>(batch.size()) * 2;
  {
    auto log = f.Open();
    for (int i = 0; i < 6; ++i) AppendCopy(*log, batch);  // segments at 0, 2, 4
    REQUIRE(log->Flush().ok());
  }
  // Pretend only offset 0..2 were ever flushed, and tear segment 2.
  const auto middle = f.log_dir() / "00000000000000000002.log";
  std::string contents = ReadFile(middle);
  WriteFile(middle, contents.substr(0, contents.size() - 5));
  std::ofstream(f.log_dir() / "recovery-point.checkpoint", std::ios::trunc) << "sluice-offset-checkpoint 1\n2\n";
  auto log = f.Open();
  CHECK(log->log_end_offset() == 3);
  CHECK(log->segment_count() == 2);
  CHECK_FALSE(std::filesystem::exists(f.log_dir() / "00000000000000000004.log"));
}

TEST_CASE("missing or garbage index files are rebuilt") {
  Fixture f;
  f.config.index_interval_bytes = 100;
  std::vector<std::string> batches;
  {
    auto log = f.Open();
    for (int i = 0; i < 30; ++i) AppendCopy(*log, MakeBatch(2, 1000 + 10 * i, 40));
    REQUIRE(log->Close().ok());
  }
  const auto index = f.log_dir() / "00000000000000000000.index";
  const auto time_index = f.log_dir() / "00000000000000000000.timeindex";
  const std::string good_index = ReadFile(index);
  REQUIRE(good_index.size() > 16);

  auto check_all = [&] {
    auto log = f.Open();
    CHECK(log->log_end_offset() == 60);
    for (int64_t offset = 0; offset < 60; offset += 7) {
      auto headers = ReadHeaders(log->Read(offset, 1, INT64_MAX, true).value());
      REQUIRE(headers.size() == 1);
      CHECK(headers[0].base_offset == offset - offset % 2);
    }
    auto found = log->OffsetForTimestamp(1101).value();
    REQUIRE(found);
    CHECK(found->offset == 21);
    CHECK(log->MaxTimestamp()->timestamp == 1291);
    REQUIRE(log->Close().ok());
  };

  SECTION("missing") {
    std::filesystem::remove(index);
    std::filesystem::remove(time_index);
    check_all();
    CHECK(ReadFile(index) == good_index);
  }
  SECTION("garbage") {
    WriteFile(index, std::string(good_index.size(), '\x42'));
    WriteFile(time_index, "SLTI");
    check_all();
    CHECK(ReadFile(index) == good_index);
  }
  SECTION("entries pointing past the log or out of order") {
    std::string bad = good_index;
    bad[bad.size() - 1] = '\x7f';  // last position made huge or shifted
    bad[bad.size() - 2] = '\x7f';
    WriteFile(index, bad);
    check_all();
    std::string swapped = good_index;
    std::swap_ranges(swapped.begin() + 8, swapped.begin() + 16, swapped.begin() + 16);
    WriteFile(index, swapped);
    check_all();
  }
  SECTION("an index entry that does not point at its batch") {
    std::string shifted = good_index;
    shifted[shifted.size() - 1] = static_cast<char>(shifted[shifted.size() - 1] + 1);
    WriteFile(index, shifted);
    check_all();
  }
  SECTION("truncated mid-entry") {
    WriteFile(index, good_index.substr(0, good_index.size() - 3));
    check_all();
  }
}

TEST_CASE("stray temp files and damaged checkpoints do not prevent opening") {
  Fixture f;
  {
    auto log = f.Open();
    AppendCopy(*log, MakeBatch(2, 0));
    REQUIRE(log->Close().ok());
  }
  WriteFile(f.log_dir() / "recovery-point.checkpoint.tmp", "half");
  WriteFile(f.log_dir() / "log-start-offset.checkpoint", "garbage");
  WriteFile(f.log_dir() / "recovery-point.checkpoint", "");
  auto log = f.Open();
  CHECK(log->log_end_offset() == 2);
  CHECK(log->log_start_offset() == 0);
  CHECK_FALSE(std::filesystem::exists(f.log_dir() / "recovery-point.checkpoint.tmp"));
}

namespace {

using Entries = std::vector<EpochEntry>;

const char* const kEpochCheckpoint = "leader-epoch-checkpoint";

// Offsets 0..3 in epoch 1, 4..5 in epoch 2, 6..9 in epoch 4, one batch each.
std::vector<std::string> EpochBatches() {
  return {MakeLeaderBatch(0, 1, 4), MakeLeaderBatch(4, 2, 2), MakeLeaderBatch(6, 4, 4)};
}
const Entries kAllEpochs{{1, 0}, {2, 4}, {4, 6}};

}  // namespace

TEST_CASE("after a crash the epoch cache is rebuilt past its checkpoint") {
  Fixture f;
  const auto batches = EpochBatches();
  {
    auto log = f.Open();
    AppendFollower(*log, batches[0]);
    REQUIRE(log->Flush().ok());
    AppendFollower(*log, batches[1] + batches[2]);
    // Dropped without Close or Flush: a crash.
  }
  REQUIRE(ReadFile(f.log_dir() / kEpochCheckpoint) == "0\n1\n1 0\n");  // older than the log

  SECTION("the whole tail survived") {
    auto log = f.Open();
    CHECK(log->log_end_offset() == 10);
    CHECK(log->leader_epoch_entries() == kAllEpochs);
    CHECK(log->EndOffsetForEpoch(2) == EpochEndOffset{2, 6});
  }
  SECTION("the last batch, the first of epoch 4, is torn at every possible length") {
    const auto segment = f.log_dir() / "00000000000000000000.log";
    const std::string original = ReadFile(segment);
    const size_t last_start = original.size() - batches[2].size();
    for (size_t keep = last_start; keep < original.size(); ++keep) {
      INFO("segment cut to " << keep << " bytes");
      WriteFile(segment, original.substr(0, keep));
      SimulateCrash(f.log_dir());
      auto log = f.Open();
      CHECK(log->log_end_offset() == 6);
      CHECK(log->leader_epoch_entries() == Entries{{1, 0}, {2, 4}});
      CHECK(log->latest_epoch() == 2);
    }
  }
}

TEST_CASE("epoch checkpoint entries at or past the recovery point are not trusted") {
  Fixture f;
  const auto batches = EpochBatches();
  {
    auto log = f.Open();
    AppendFollower(*log, batches[0] + batches[1] + batches[2]);
    REQUIRE(log->Flush().ok());
  }
  SECTION("a crash between the epoch checkpoint and the recovery point in Flush") {
    WriteOffsetFile(f.log_dir() / "recovery-point.checkpoint", 4);
    auto log = f.Open();
    CHECK(log->leader_epoch_entries() == kAllEpochs);
  }
  SECTION("entries that disagree with the batches past the recovery point, or have no batch") {
    WriteOffsetFile(f.log_dir() / "recovery-point.checkpoint", 4);
    WriteFile(f.log_dir() / kEpochCheckpoint, "0\n4\n1 0\n3 4\n5 8\n9 10\n");
    auto log = f.Open();
    CHECK(log->leader_epoch_entries() == kAllEpochs);
  }
  SECTION("a crash during TruncateTo, between its two checkpoints, either way round") {
    {
      auto log = f.Open();
      REQUIRE(log->TruncateTo(6).ok());
    }
    const std::string truncated_epochs = ReadFile(f.log_dir() / kEpochCheckpoint);
    CHECK(truncated_epochs == "0\n2\n1 0\n2 4\n");
    // The recovery point was not lowered yet: the log's end bounds it.
    WriteOffsetFile(f.log_dir() / "recovery-point.checkpoint", 10);
    {
      auto log = f.Open();
      CHECK(log->log_end_offset() == 6);
      CHECK(log->leader_epoch_entries() == Entries{{1, 0}, {2, 4}});
    }
    // The recovery point was lowered but the epoch checkpoint not rewritten yet.
    WriteOffsetFile(f.log_dir() / "recovery-point.checkpoint", 6);
    WriteFile(f.log_dir() / kEpochCheckpoint, "0\n3\n1 0\n2 4\n4 6\n");
    auto log = f.Open();
    CHECK(log->leader_epoch_entries() == Entries{{1, 0}, {2, 4}});
  }
}

TEST_CASE("a missing or damaged epoch checkpoint is rebuilt from every batch") {
  Fixture f;
  const auto batches = EpochBatches();
  const bool clean = GENERATE(true, false);
  INFO((clean ? "after a clean shutdown" : "after a crash"));
  {
    auto log = f.Open();
    AppendFollower(*log, batches[0] + batches[1] + batches[2]);
    REQUIRE(log->AdvanceLogStartOffset(2).ok());
    if (clean) REQUIRE(log->Close().ok());
  }
  const Entries expected{{1, 2}, {2, 4}, {4, 6}};
  SECTION("missing") { std::filesystem::remove(f.log_dir() / kEpochCheckpoint); }
  SECTION("garbage") { WriteFile(f.log_dir() / kEpochCheckpoint, "\x01\x02 nonsense"); }
  SECTION("out of order") { WriteFile(f.log_dir() / kEpochCheckpoint, "0\n2\n4 0\n2 4\n"); }
  SECTION("cut mid-entry") { WriteFile(f.log_dir() / kEpochCheckpoint, "0\n3\n1 2\n2 4\n4"); }
  auto log = f.Open();
  CHECK(log->leader_epoch_entries() == expected);
  REQUIRE(log->Close().ok());
  CHECK(ReadFile(f.log_dir() / kEpochCheckpoint) == "0\n3\n1 2\n2 4\n4 6\n");
}

TEST_CASE("below the recovery point the epoch checkpoint is trusted without reading the log") {
  Fixture f;
  const auto batches = EpochBatches();
  {
    auto log = f.Open();
    AppendFollower(*log, batches[0] + batches[1] + batches[2]);
    REQUIRE(log->Close().ok());
  }
  // Rewrite the last batch's leader epoch (outside the CRC, so recovery cannot tell).
  const auto segment = f.log_dir() / "00000000000000000000.log";
  std::string contents = ReadFile(segment);
  contents[contents.size() - batches[2].size() + 15] = 9;
  WriteFile(segment, contents);

  {
    auto log = f.Open();  // clean shutdown
    CHECK(log->leader_epoch_entries() == kAllEpochs);
  }
  {
    auto log = f.Open();  // a crash, but everything was flushed
    CHECK(log->leader_epoch_entries() == kAllEpochs);
  }
  // Only from the recovery point on are the batch headers read.
  WriteOffsetFile(f.log_dir() / "recovery-point.checkpoint", 6);
  auto log = f.Open();
  CHECK(log->leader_epoch_entries() == Entries{{1, 0}, {2, 4}, {9, 6}});
}

TEST_CASE("a crash part-way through a full truncation leaves a consistent log") {
  Fixture f;
  const auto batches = EpochBatches();
  {
    auto log = f.Open();
    AppendFollower(*log, batches[0] + batches[1] + batches[2]);
    REQUIRE(log->Flush().ok());
  }
  // TruncateFullyAndStartAt(100) wrote the new log start, then the process died.
  WriteOffsetFile(f.log_dir() / "log-start-offset.checkpoint", 100);
  auto log = f.Open();
  CHECK(log->log_start_offset() == log->log_end_offset());
  CHECK(log->leader_epoch_entries().empty());
  REQUIRE(log->TruncateFullyAndStartAt(100).ok());
  AppendFollower(*log, MakeLeaderBatch(100, 6, 1));
  CHECK(log->leader_epoch_entries() == Entries{{6, 100}});
}

TEST_CASE("flush writes the epoch checkpoint before the recovery point") {
  Fixture f;
  const auto batches = EpochBatches();
  auto log = f.Open();
  AppendFollower(*log, batches[0]);
  REQUIRE(log->Flush().ok());
  AppendFollower(*log, batches[1]);
  // A directory where the checkpoint's temp file goes makes writing the epoch checkpoint fail.
  const auto blocker = f.log_dir() / "leader-epoch-checkpoint.tmp";
  std::filesystem::create_directory(blocker);
  CHECK_FALSE(log->Flush().ok());
  CHECK(log->recovery_point() == 4);
  CHECK(ReadFile(f.log_dir() / "recovery-point.checkpoint") == "sluice-offset-checkpoint 1\n4\n");
  std::filesystem::remove(blocker);
  REQUIRE(log->Flush().ok());
  CHECK(log->recovery_point() == 6);
  CHECK(ReadFile(f.log_dir() / kEpochCheckpoint) == "0\n2\n1 0\n2 4\n");
}

TEST_CASE("a caller that vouches for a clean shutdown replaces the log's own marker") {
  Fixture f;
  std::string batch = MakeBatch(3, 1000, 30);
  {
    auto log = f.Open();
    for (int i = 0; i < 2; ++i) AppendCopy(*log, batch);
    REQUIRE(log->Close(PartitionLog::Shutdown::kVouchedClean).ok());
    CHECK_FALSE(std::filesystem::exists(f.log_dir() / "clean-shutdown"));
    // A log closed already (here by the first Close) is never vouched for.
    CHECK(log->Close(PartitionLog::Shutdown::kVouchedClean).code() == absl::StatusCode::kFailedPrecondition);
  }
  // Damage past the recovery point that recovery would cut: a vouched open trusts the log as
  // closed, an unvouched one recovers.
  const auto segment = f.log_dir() / "00000000000000000000.log";
  std::string damaged = ReadFile(segment);
  damaged.back() = static_cast<char>(damaged.back() ^ 0x5a);
  WriteFile(segment, damaged);
  WriteOffsetFile(f.log_dir() / "recovery-point.checkpoint", 3);
  SECTION("vouched") {
    auto log = PartitionLog::Open(f.log_dir(), f.config, f.clock, PartitionLog::Shutdown::kVouchedClean);
    REQUIRE(log.ok());
    CHECK((*log)->log_end_offset() == 6);
  }
  SECTION("not vouched") {
    auto log = f.Open();
    CHECK(log->log_end_offset() == 3);
  }
}
