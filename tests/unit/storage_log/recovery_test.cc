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

// Removes the clean-shutdown marker (as a crash would leave things) and any checkpoints.
void SimulateCrash(const std::filesystem::path& dir) {
  std::filesystem::remove(dir / "clean-shutdown");
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
  std::string batch = MakeBatch(3, 1000, 30);
  const size_t size = batch.size();
  {
    auto log = f.Open();
    for (int i = 0; i < 3; ++i) AppendCopy(*log, batch);
    REQUIRE(log->Close().ok());
  }
  const auto segment = f.log_dir() / "00000000000000000000.log";
  const std::string original = ReadFile(segment);
  for (size_t i = 0; i < size; ++i) {
    INFO("corrupt byte " << i << " of the last batch");
    std::string damaged = original;
    damaged[2 * size + i] = static_cast<char>(damaged[2 * size + i] ^ 0x5a);
    WriteFile(segment, damaged);
    SimulateCrash(f.log_dir());
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
