#include <catch2/catch.hpp>

#include <fstream>

#include "storage/log/leader_epoch_cache.h"
#include "storage/log/leader_epoch_checkpoint.h"
#include "tests/unit/storage_log/log_test_util.h"

using namespace sluice::storage;
using sluice::storage::testing::TempDir;

namespace {

using Entries = std::vector<EpochEntry>;

LeaderEpochCache CacheOf(const Entries& entries) {
  auto cache = LeaderEpochCache::FromEntries(entries);
  REQUIRE(cache.ok());
  return *cache;
}

}  // namespace

TEST_CASE("assign adds only newer epochs at offsets that do not go back") {
  LeaderEpochCache cache;
  CHECK(cache.latest_epoch() == kNoLeaderEpoch);
  CHECK(cache.Assign(2, 0));
  CHECK_FALSE(cache.Assign(2, 10));  // the same epoch again: its start stays
  CHECK(cache.Assign(4, 10));
  CHECK_FALSE(cache.Assign(3, 20));  // older epoch
  CHECK_FALSE(cache.Assign(5, 9));   // offset below the latest start
  CHECK_FALSE(cache.Assign(-1, 30));
  CHECK_FALSE(cache.Assign(6, -1));
  CHECK(cache.Assign(5, 10));  // a newer epoch that wrote nothing before it may share the start
  CHECK(cache.entries() == Entries{{2, 0}, {4, 10}, {5, 10}});
  CHECK(cache.latest_epoch() == 5);
}

TEST_CASE("end offset for every kind of requested epoch") {
  // Epochs 1, 3 and 6 start at 0, 5 and 12; the log ends at 20.
  const LeaderEpochCache cache = CacheOf({{1, 0}, {3, 5}, {6, 12}});
  const int64_t leo = 20;
  // Undefined epoch.
  CHECK(cache.EndOffsetFor(kNoLeaderEpoch, leo) == EpochEndOffset{kNoLeaderEpoch, kNoEpochEndOffset});
  // The latest epoch ends at the log end.
  CHECK(cache.EndOffsetFor(6, leo) == EpochEndOffset{6, 20});
  // A known epoch ends where the next one starts.
  CHECK(cache.EndOffsetFor(1, leo) == EpochEndOffset{1, 5});
  CHECK(cache.EndOffsetFor(3, leo) == EpochEndOffset{3, 12});
  // An epoch between known ones: the largest epoch below it, ending where the next starts.
  CHECK(cache.EndOffsetFor(2, leo) == EpochEndOffset{1, 5});
  CHECK(cache.EndOffsetFor(5, leo) == EpochEndOffset{3, 12});
  // Older than every entry: the requested epoch, ending at the first entry's start.
  CHECK(CacheOf({{4, 7}, {6, 12}}).EndOffsetFor(2, leo) == EpochEndOffset{2, 7});
  // Newer than every entry (never the case on a leader): undefined.
  CHECK(cache.EndOffsetFor(7, leo) == EpochEndOffset{kNoLeaderEpoch, kNoEpochEndOffset});
  // An empty cache knows nothing.
  CHECK(LeaderEpochCache().EndOffsetFor(0, leo) == EpochEndOffset{kNoLeaderEpoch, kNoEpochEndOffset});
}

TEST_CASE("epoch of an offset") {
  const LeaderEpochCache cache = CacheOf({{1, 5}, {3, 10}});
  CHECK(cache.EpochForOffset(4) == kNoLeaderEpoch);
  CHECK(cache.EpochForOffset(5) == 1);
  CHECK(cache.EpochForOffset(9) == 1);
  CHECK(cache.EpochForOffset(10) == 3);
  CHECK(cache.EpochForOffset(1000) == 3);
}

TEST_CASE("truncation from the end removes entries starting at or after the offset") {
  LeaderEpochCache cache = CacheOf({{1, 0}, {3, 5}, {6, 12}});
  CHECK_FALSE(cache.TruncateFromEnd(13));
  CHECK(cache.entries() == Entries{{1, 0}, {3, 5}, {6, 12}});
  CHECK(cache.TruncateFromEnd(12));
  CHECK(cache.entries() == Entries{{1, 0}, {3, 5}});
  CHECK(cache.TruncateFromEnd(1));
  CHECK(cache.entries() == Entries{{1, 0}});
  CHECK(cache.TruncateFromEnd(0));
  CHECK(cache.entries().empty());
  CHECK_FALSE(cache.TruncateFromEnd(0));
}

TEST_CASE("truncation from the start keeps the epoch covering the new start") {
  LeaderEpochCache cache = CacheOf({{1, 0}, {3, 5}, {6, 12}});
  CHECK_FALSE(cache.TruncateFromStart(0));
  CHECK(cache.TruncateFromStart(3));  // inside epoch 1
  CHECK(cache.entries() == Entries{{1, 3}, {3, 5}, {6, 12}});
  CHECK(cache.TruncateFromStart(5));  // exactly where epoch 3 starts: epoch 1 has no data left
  CHECK(cache.entries() == Entries{{3, 5}, {6, 12}});
  CHECK(cache.TruncateFromStart(30));  // past every start: the latest epoch stays, moved up
  CHECK(cache.entries() == Entries{{6, 30}});
  CHECK_FALSE(cache.TruncateFromStart(30));
  CHECK(cache.Clear());
  CHECK_FALSE(cache.Clear());
  CHECK_FALSE(cache.TruncateFromStart(40));

  LeaderEpochCache shared = CacheOf({{1, 5}, {2, 5}, {4, 9}});
  CHECK(shared.TruncateFromStart(5));
  CHECK(shared.entries() == Entries{{2, 5}, {4, 9}});
}

TEST_CASE("entries that break the ordering are refused") {
  CHECK(LeaderEpochCache::FromEntries({{1, 0}, {1, 5}}).status().code() == absl::StatusCode::kDataLoss);
  CHECK(LeaderEpochCache::FromEntries({{2, 0}, {1, 5}}).status().code() == absl::StatusCode::kDataLoss);
  CHECK(LeaderEpochCache::FromEntries({{1, 6}, {2, 5}}).status().code() == absl::StatusCode::kDataLoss);
  CHECK(LeaderEpochCache::FromEntries({{-1, 0}}).status().code() == absl::StatusCode::kDataLoss);
  CHECK(LeaderEpochCache::FromEntries({{1, -2}}).status().code() == absl::StatusCode::kDataLoss);
  CHECK(LeaderEpochCache::FromEntries({{1, 5}, {2, 5}}).ok());
}

TEST_CASE("leader epoch checkpoint round trip in Kafka's format and damage detection") {
  TempDir dir;
  const auto path = dir.path() / "leader-epoch-checkpoint";
  CHECK(ReadLeaderEpochCheckpoint(path).status().code() == absl::StatusCode::kNotFound);
  REQUIRE(WriteLeaderEpochCheckpoint(path, Entries{{0, 0}, {3, 150}, {7, 2147483648}}).ok());
  {
    std::ifstream in(path);
    std::string contents(std::istreambuf_iterator<char>(in), {});
    CHECK(contents == "0\n3\n0 0\n3 150\n7 2147483648\n");
  }
  CHECK(ReadLeaderEpochCheckpoint(path).value().entries() == Entries{{0, 0}, {3, 150}, {7, 2147483648}});
  REQUIRE(WriteLeaderEpochCheckpoint(path, Entries{}).ok());
  CHECK(ReadLeaderEpochCheckpoint(path).value().entries().empty());
  CHECK_FALSE(std::filesystem::exists(dir.path() / "leader-epoch-checkpoint.tmp"));

  for (const char* garbage : {"", "0\n", "1\n0\n", "0\n2\n1 0\n", "0\n1\n1 0", "0\n1\n1 0\n2 5\n", "0\nx\n",
                              "0\n1\n1\n", "0\n1\n1  0\n", "0\n1\n1 0x\n", "0\n2\n3 0\n2 5\n", "0\n1\n-1 0\n"}) {
    INFO("contents " << garbage);
    std::ofstream(path, std::ios::trunc) << garbage;
    CHECK(ReadLeaderEpochCheckpoint(path).status().code() == absl::StatusCode::kDataLoss);
  }
}

TEST_CASE("leader epoch checkpoint contents parse from a buffer, errors naming their source") {
  const Entries entries{{0, 0}, {3, 150}};
  CHECK(FormatLeaderEpochCheckpoint(entries) == "0\n2\n0 0\n3 150\n");
  CHECK(ParseLeaderEpochCheckpoint(FormatLeaderEpochCheckpoint(entries), "x").value().entries() == entries);
  const auto damaged = ParseLeaderEpochCheckpoint("0\n1\n", "some/dir/leader-epoch-checkpoint");
  CHECK(damaged.status().code() == absl::StatusCode::kDataLoss);
  CHECK(damaged.status().message().find("some/dir/leader-epoch-checkpoint") != absl::string_view::npos);
}
