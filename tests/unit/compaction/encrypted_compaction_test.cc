// Compaction of an encrypted log (__consumer_offsets is compacted): the cleaned segments are
// encrypted too, and the log reads back as cleaned after a restart.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "common/clock.h"
#include "storage/compaction/log_cleaner.h"
#include "storage/encryption/local_key_file.h"
#include "tests/unit/compaction/compaction_test_util.h"

namespace sluice::storage {
namespace {

using testing::Produce;
using testing::ReadAll;
using testing::TempDir;

TEST_CASE("compaction rewrites encrypted segments as encrypted ones") {
  TempDir dir;
  ManualClock clock;
  LogConfig config;
  config.segment_bytes = 300;
  config.index_interval_bytes = 100;
  config.compact = true;
  config.retention_ms = -1;
  std::shared_ptr<const KeyProvider> keys = LocalKeyFile::Parse("k1 " + std::string(64, 'e'), "test.keys").value();
  auto open = [&] {
    auto log = PartitionLog::Open(dir.path() / "t-0", config, clock, PartitionLog::Shutdown::kAsMarked, keys);
    REQUIRE(log.ok());
    return std::move(*log);
  };
  auto log = open();
  for (int round = 0; round < 6; ++round) {
    for (int key = 0; key < 5; ++key) {
      Produce(*log, {{fmt::format("key{}", key), fmt::format("secret-value-{}-{}", round, key)}}, clock.NowMs());
    }
  }
  const auto before = ReadAll(*log);
  auto result = CleanLog(*log, clock.NowMs(), INT64_MAX);
  REQUIRE(result.ok());
  CHECK(result->records_removed > 0);
  const auto cleaned = ReadAll(*log);
  CHECK(cleaned.size() < before.size());
  // The latest value of every key survives.
  for (int key = 0; key < 5; ++key) {
    const std::string latest = fmt::format("secret-value-5-{}", key);
    CHECK(std::any_of(cleaned.begin(), cleaned.end(), [&](const auto& r) { return r.value == latest; }));
  }
  REQUIRE(log->Close().ok());
  for (const auto& entry : std::filesystem::directory_iterator(dir.path() / "t-0")) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string raw(std::istreambuf_iterator<char>(in), {});
    INFO(entry.path());
    CHECK(raw.find("secret-value") == std::string::npos);
  }
  CHECK(ReadAll(*open()) == cleaned);
}

}  // namespace
}  // namespace sluice::storage
