#include <catch2/catch.hpp>

#include <fstream>

#include "storage/log/sparse_index.h"
#include "tests/unit/storage_log/log_test_util.h"

using namespace sluice;
using namespace sluice::storage;
using namespace sluice::storage::testing;

TEST_CASE("sparse index floor lookups and file round trip") {
  TempDir dir;
  auto path = dir.path() / "i.index";
  SparseIndex index(SparseIndex::Kind::kOffset, path, 100);
  index.Append(110, 4000);
  index.Append(120, 8000);
  index.Append(135, 12000);
  CHECK_FALSE(index.Floor(109, false));
  CHECK(index.Floor(110, false)->value == 4000);
  CHECK(index.Floor(119, false)->value == 4000);
  CHECK(index.Floor(120, false)->value == 8000);
  CHECK(index.Floor(120, true)->value == 4000);
  CHECK(index.Floor(1000, false)->value == 12000);
  REQUIRE(index.WritePending().ok());

  SparseIndex loaded(SparseIndex::Kind::kOffset, path, 100);
  REQUIRE(loaded.Load(20000).ok());
  REQUIRE(loaded.entries().size() == 3);
  CHECK(loaded.entries()[2].key == 135);
  CHECK(loaded.entries()[2].value == 12000);
  // An entry pointing past the log is damage.
  CHECK(loaded.Load(12000).code() == absl::StatusCode::kDataLoss);

  REQUIRE(index.TruncateFrom(8000).ok());
  REQUIRE(index.WritePending().ok());
  REQUIRE(loaded.Load(20000).ok());
  CHECK(loaded.entries().size() == 1);

  std::ofstream(path, std::ios::trunc) << "garbage!";
  CHECK(loaded.Load(20000).code() == absl::StatusCode::kDataLoss);
  std::ofstream(path, std::ios::app) << "xyz";
  CHECK(loaded.Load(20000).code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("time index round trip and ordering check") {
  TempDir dir;
  auto path = dir.path() / "t.timeindex";
  SparseIndex index(SparseIndex::Kind::kTime, path, 50);
  index.Append(1000, 52);
  index.Append(2000, 60);
  REQUIRE(index.WritePending().ok());
  SparseIndex loaded(SparseIndex::Kind::kTime, path, 50);
  REQUIRE(loaded.Load(1).ok());
  CHECK(loaded.entries()[1].key == 2000);
  CHECK(loaded.entries()[1].value == 60);
  CHECK(loaded.Floor(2000, true)->value == 52);
  // A .index file is not a .timeindex.
  SparseIndex wrong_kind(SparseIndex::Kind::kOffset, path, 50);
  CHECK_FALSE(wrong_kind.Load(1 << 20).ok());
}

TEST_CASE("every offset is found through the sparse index") {
  TempDir dir;
  ManualClock clock;
  LogConfig config;
  config.index_interval_bytes = 300;  // an entry every few batches
  auto log = PartitionLog::Open(dir.path() / "t-0", config, clock).value();
  std::vector<int64_t> bases;
  for (int i = 0; i < 60; ++i) bases.push_back(AppendCopy(*log, MakeBatch(1 + i % 4, 1000 + i, 30)).base_offset);
  const int64_t leo = log->log_end_offset();
  for (int round = 0; round < 2; ++round) {
    for (int64_t offset = 0; offset < leo; ++offset) {
      auto read = log->Read(offset, 1, INT64_MAX, true);
      REQUIRE(read.ok());
      auto headers = ReadHeaders(*read);
      REQUIRE(headers.size() == 1);
      INFO("offset " << offset);
      CHECK(headers[0].base_offset <= offset);
      CHECK(headers[0].last_offset() >= offset);
    }
    // Same answers after a reopen that loads the index files.
    REQUIRE(log->Close().ok());
    log = PartitionLog::Open(dir.path() / "t-0", config, clock).value();
    CHECK(log->log_end_offset() == leo);
  }
  CHECK(std::filesystem::file_size(dir.path() / "t-0" / "00000000000000000000.index") > 8);
}

TEST_CASE("reads match a brute-force model for every offset, limit and high watermark") {
  TempDir dir;
  ManualClock clock;
  LogConfig config;
  config.index_interval_bytes = 250;
  config.segment_bytes = 3000;
  auto log = PartitionLog::Open(dir.path() / "t-0", config, clock).value();
  struct Batch {
    int64_t base, last, size;
  };
  std::vector<Batch> model;
  for (int i = 0; i < 50; ++i) {
    auto result = AppendCopy(*log, MakeBatch(1 + i % 3, 0, 10 + (i * 37) % 90));
    int64_t size = ReadHeaders(log->Read(result.base_offset, 1, INT64_MAX, true).value())[0].total_size();
    model.push_back(Batch{result.base_offset, result.last_offset, size});
  }
  const int64_t leo = log->log_end_offset();
  REQUIRE(log->segment_count() > 3);
  for (int64_t fetch = 0; fetch <= leo; ++fetch) {
    for (int64_t max_offset : {int64_t{0}, fetch, fetch + 1, fetch + 5, leo - 1, leo, INT64_MAX}) {
      for (int64_t max_bytes : {int64_t{0}, int64_t{100}, int64_t{700}, int64_t{2500}, INT64_MAX}) {
        for (bool min_one : {false, true}) {
          std::vector<int64_t> expected;
          int64_t bytes = 0;
          for (const auto& b : model) {
            if (b.last < fetch) continue;
            if (b.last >= max_offset) break;
            if (bytes + b.size > max_bytes && !(bytes == 0 && min_one)) break;
            expected.push_back(b.base);
            bytes += b.size;
          }
          auto read = log->Read(fetch, max_bytes, max_offset, min_one).value();
          std::vector<int64_t> actual;
          for (const auto& h : ReadHeaders(read)) actual.push_back(h.base_offset);
          INFO("fetch " << fetch << " max_offset " << max_offset << " max_bytes " << max_bytes << " min_one "
                        << min_one);
          REQUIRE(actual == expected);
          REQUIRE(read.bytes == bytes);
        }
      }
    }
  }
}
