#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "storage/log/file_cache.h"
#include "tests/unit/storage_log/log_test_util.h"

using namespace sluice;
using namespace sluice::storage;
using namespace sluice::storage::testing;

namespace {

// Descriptors of this process open on files under `dir`.
int OpenDescriptorsUnder(const std::filesystem::path& dir) {
  int count = 0;
  const std::string prefix = std::filesystem::canonical(dir).string() + "/";
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code error;
    auto target = std::filesystem::read_symlink(entry.path(), error);
    if (!error && target.string().starts_with(prefix)) ++count;
  }
  return count;
}

void WriteFile(const std::filesystem::path& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

}  // namespace

TEST_CASE("the file cache keeps at most its capacity of idle descriptors") {
  TempDir dir;
  FileCache cache(2);
  std::vector<std::unique_ptr<CachedFile>> files;
  for (int i = 0; i < 5; ++i) {
    WriteFile(dir.path() / std::to_string(i), std::string(1, static_cast<char>('a' + i)));
    files.push_back(std::make_unique<CachedFile>(dir.path() / std::to_string(i), O_RDONLY, cache));
  }
  for (const auto& file : files) {
    auto opened = file->Get();
    REQUIRE(opened.ok());
    char byte = 0;
    REQUIRE((*opened)->ReadExact(&byte, 1, 0).ok());
  }
  CHECK(cache.open_count() == 2);
  CHECK(OpenDescriptorsUnder(dir.path()) == 2);

  SECTION("an evicted file opens again on its next use") {
    auto first = files[0]->Get();
    REQUIRE(first.ok());
    char byte = 0;
    REQUIRE((*first)->ReadExact(&byte, 1, 0).ok());
    CHECK(byte == 'a');
    CHECK(cache.open_count() == 2);
  }
  SECTION("a descriptor in use stays open after eviction, and is closed when the use ends") {
    auto held = files[0]->Get().value();
    for (int i = 1; i < 5; ++i) REQUIRE(files[i]->Get().ok());
    CHECK(OpenDescriptorsUnder(dir.path()) == 3);
    held.reset();
    CHECK(OpenDescriptorsUnder(dir.path()) == 2);
  }
  SECTION("a file removed and created again is never served from the old descriptor") {
    std::filesystem::remove(dir.path() / "4");
    files[4].reset();
    WriteFile(dir.path() / "4", "z");
    CachedFile again(dir.path() / "4", O_RDONLY, cache);
    char byte = 0;
    REQUIRE(again.Get().value()->ReadExact(&byte, 1, 0).ok());
    CHECK(byte == 'z');
  }
  SECTION("destroying a cached file closes its descriptor") {
    files.clear();
    CHECK(cache.open_count() == 0);
    CHECK(OpenDescriptorsUnder(dir.path()) == 0);
  }
  SECTION("lowering the capacity closes the least recently used") {
    cache.set_capacity(1);
    CHECK(OpenDescriptorsUnder(dir.path()) == 1);
  }
}

TEST_CASE("a log holds only its active segment's descriptor; closed segments open on demand") {
  TempDir dir;
  ManualClock clock;
  FileCache& shared = FileCache::Shared();
  const size_t capacity = shared.capacity();
  shared.set_capacity(1);
  LogConfig config;
  config.segment_bytes = 1;  // every append rolls
  auto opened = PartitionLog::Open(dir.path() / "t-0", config, clock);
  REQUIRE(opened.ok());
  auto& log = **opened;
  for (int i = 0; i < 20; ++i) AppendCopy(log, MakeBatch(1, 1000 + i));
  REQUIRE(log.Flush().ok());
  CHECK(log.segment_count() == 20);
  // The active segment's log, plus at most the one descriptor the cache may keep.
  CHECK(OpenDescriptorsUnder(dir.path()) <= 2);

  // Reading every old segment reopens each on demand and returns every batch.
  auto read = log.Read(0, 1 << 20, INT64_MAX, false);
  REQUIRE(read.ok());
  CHECK(ReadHeaders(*read).size() == 20);
  read->chunks.clear();
  CHECK(OpenDescriptorsUnder(dir.path()) <= 2);

  // After a restart, too.
  REQUIRE(log.Close().ok());
  opened->reset();
  auto reopened = PartitionLog::Open(dir.path() / "t-0", config, clock);
  REQUIRE(reopened.ok());
  CHECK((*reopened)->log_end_offset() == 20);
  CHECK(OpenDescriptorsUnder(dir.path()) <= 2);
  auto again = (*reopened)->Read(5, 1 << 20, INT64_MAX, false);
  REQUIRE(again.ok());
  CHECK(ReadHeaders(*again).size() == 15);
  shared.set_capacity(capacity);
}
