// Crash safety of PartitionLog::ReplaceSegment: each test leaves the files a crash at one step
// of the replacement would leave, reopens the log and checks it is readable and correct.

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/clock.h"
#include "storage/compaction/log_cleaner.h"
#include "storage/log/segment.h"
#include "tests/unit/compaction/compaction_test_util.h"

namespace sluice::storage {
namespace {

using testing::Produce;
using testing::ReadAll;
using testing::StoredRecord;
using testing::TempDir;

LogConfig Config() {
  LogConfig config;
  config.segment_bytes = 300;
  config.compact = true;
  config.retention_ms = -1;
  return config;
}

std::filesystem::path SegmentFile(const std::filesystem::path& dir, int64_t base, std::string_view extension) {
  return LogSegment::FilePath(dir, base, extension);
}

void CopyFile(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

bool HasReplacementLeftovers(const std::filesystem::path& dir) {
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(".cleaned") || name.ends_with(".swap")) return true;
  }
  return false;
}

// An original log (closed cleanly) and a cleaned copy of it; the crash states are assembled
// from the two.
struct Fixture {
  TempDir root;
  ManualClock clock;
  std::filesystem::path original = root.path() / "original";
  std::filesystem::path cleaned = root.path() / "cleaned";
  int64_t base = -1;  // the first segment the cleaner rewrote (and kept)
  int64_t next = -1;
  std::vector<StoredRecord> original_records;
  std::vector<StoredRecord> cleaned_records;

  Fixture() {
    {
      auto log = PartitionLog::Open(original, Config(), clock);
      REQUIRE(log.ok());
      // Each segment holds four one-record batches; five keys leave one segment shrunk but not
      // empty (offsets 8-11 keep only 11), the kind of segment the crash tests replace.
      for (int i = 0; i < 18; ++i) Produce(**log, {{fmt::format("k{}", i % 5), fmt::format("v{}", i)}}, clock.NowMs());
      original_records = ReadAll(**log);
      REQUIRE((*log)->Close().ok());
    }
    std::filesystem::copy(original, cleaned);
    auto log = PartitionLog::Open(cleaned, Config(), clock);
    REQUIRE(log.ok());
    auto before = (*log)->ClosedSegments();
    REQUIRE(CleanLog(**log, clock.NowMs(), INT64_MAX).ok());
    for (const auto& segment : (*log)->ClosedSegments()) {
      for (const auto& old : before) {
        if (old.base_offset == segment.base_offset && old.size != segment.size) {
          base = segment.base_offset;
          next = old.next_offset;
          break;
        }
      }
      if (base >= 0) break;
    }
    REQUIRE(base >= 0);
    REQUIRE((*log)->Close().ok());
    cleaned_records = ReadAll(**PartitionLog::Open(cleaned, Config(), clock));
  }

  // A fresh copy of the original log, into which a test places the replacement files.
  std::filesystem::path Crashed(const std::string& name) {
    std::filesystem::path dir = root.path() / name;
    std::filesystem::copy(original, dir);
    std::filesystem::remove(dir / "clean-shutdown");  // a crash leaves no marker
    return dir;
  }
  void Place(const std::filesystem::path& dir, std::string_view extension, std::string_view suffix) {
    CopyFile(SegmentFile(cleaned, base, extension), SegmentFile(dir, base, fmt::format("{}{}", extension, suffix)));
  }

  // The original log with only segment [base, next) replaced by its cleaned version.
  std::vector<StoredRecord> WithSegmentReplaced() const {
    std::vector<StoredRecord> out;
    for (const auto& r : original_records) {
      if (r.offset < base) out.push_back(r);
    }
    for (const auto& r : cleaned_records) {
      if (r.offset >= base && r.offset < next) out.push_back(r);
    }
    for (const auto& r : original_records) {
      if (r.offset >= next) out.push_back(r);
    }
    return out;
  }

  std::vector<StoredRecord> Reopen(const std::filesystem::path& dir) {
    auto log = PartitionLog::Open(dir, Config(), clock);
    REQUIRE(log.ok());
    CHECK(!HasReplacementLeftovers(dir));
    auto records = ReadAll(**log);
    // Every offset stays readable.
    for (int64_t offset = (*log)->log_start_offset(); offset < (*log)->log_end_offset(); ++offset) {
      auto read = (*log)->Read(offset, 1 << 20, (*log)->log_end_offset(), true);
      REQUIRE(read.ok());
      CHECK(!read->chunks.empty());
    }
    return records;
  }
};

TEST_CASE("a crash while writing .cleaned files keeps the original segment", "[compaction][recovery]") {
  Fixture f;
  REQUIRE(f.WithSegmentReplaced() != f.original_records);
  auto dir = f.Crashed("writing");
  f.Place(dir, ".log", ".cleaned");
  f.Place(dir, ".index", ".cleaned");
  std::filesystem::resize_file(SegmentFile(dir, f.base, ".log.cleaned"), 10);  // torn
  CHECK(f.Reopen(dir) == f.original_records);
}

TEST_CASE("a crash while renaming .cleaned to .swap before the log's rename discards it", "[compaction][recovery]") {
  Fixture f;
  auto dir = f.Crashed("renaming");
  f.Place(dir, ".index", ".swap");
  f.Place(dir, ".timeindex", ".swap");
  f.Place(dir, ".log", ".cleaned");
  CHECK(f.Reopen(dir) == f.original_records);
}

TEST_CASE("a crash after the .swap files are complete finishes the replacement", "[compaction][recovery]") {
  Fixture f;
  auto dir = f.Crashed("committed");
  f.Place(dir, ".index", ".swap");
  f.Place(dir, ".timeindex", ".swap");
  f.Place(dir, ".log", ".swap");
  CHECK(f.Reopen(dir) == f.WithSegmentReplaced());
}

TEST_CASE("a crash while moving .swap files into place finishes the replacement", "[compaction][recovery]") {
  Fixture f;
  SECTION("index moved, log not yet") {
    auto dir = f.Crashed("moving-index");
    f.Place(dir, ".index", "");
    f.Place(dir, ".timeindex", ".swap");
    f.Place(dir, ".log", ".swap");
    CHECK(f.Reopen(dir) == f.WithSegmentReplaced());
  }
  SECTION("old files already removed") {
    auto dir = f.Crashed("old-removed");
    std::filesystem::remove(SegmentFile(dir, f.base, ".index"));
    std::filesystem::remove(SegmentFile(dir, f.base, ".timeindex"));
    std::filesystem::remove(SegmentFile(dir, f.base, ".log"));
    f.Place(dir, ".log", ".swap");
    CHECK(f.Reopen(dir) == f.WithSegmentReplaced());
  }
  SECTION("everything moved") {
    auto dir = f.Crashed("moved");
    f.Place(dir, ".index", "");
    f.Place(dir, ".timeindex", "");
    f.Place(dir, ".log", "");
    CHECK(f.Reopen(dir) == f.WithSegmentReplaced());
  }
}

}  // namespace
}  // namespace sluice::storage
