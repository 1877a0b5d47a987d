#include <catch2/catch.hpp>

#include <fstream>

#include "storage/log/checkpoint.h"
#include "storage/log/segment.h"
#include "tests/unit/storage_log/log_test_util.h"

using namespace sluice::storage;
using sluice::storage::testing::TempDir;

TEST_CASE("offset checkpoints round trip and reject damage") {
  TempDir dir;
  auto path = dir.path() / "x.checkpoint";
  CHECK(ReadOffsetCheckpoint(path).status().code() == absl::StatusCode::kNotFound);
  REQUIRE(WriteOffsetCheckpoint(path, 1234567890123).ok());
  CHECK(ReadOffsetCheckpoint(path).value() == 1234567890123);
  REQUIRE(WriteOffsetCheckpoint(path, 7).ok());
  CHECK(ReadOffsetCheckpoint(path).value() == 7);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "x.checkpoint.tmp"));
  for (const char* garbage : {"", "sluice-offset-checkpoint 1\n", "sluice-offset-checkpoint 1\n12", "nonsense\n5\n",
                              "sluice-offset-checkpoint 1\n-4\n", "sluice-offset-checkpoint 1\n12x\n",
                              "sluice-offset-checkpoint 2\n5\n"}) {
    std::ofstream(path, std::ios::trunc) << garbage;
    CHECK(ReadOffsetCheckpoint(path).status().code() == absl::StatusCode::kDataLoss);
  }
}

TEST_CASE("offset checkpoint contents parse from a buffer, errors naming their source") {
  CHECK(FormatOffsetCheckpoint(42) == "sluice-offset-checkpoint 1\n42\n");
  CHECK(ParseOffsetCheckpoint(FormatOffsetCheckpoint(42), "x").value() == 42);
  const auto damaged = ParseOffsetCheckpoint("sluice-offset-checkpoint 1\n-1\n", "some/dir/recovery-point.checkpoint");
  CHECK(damaged.status().code() == absl::StatusCode::kDataLoss);
  CHECK(damaged.status().message().find("some/dir/recovery-point.checkpoint") != absl::string_view::npos);
}

TEST_CASE("segment file names") {
  CHECK(LogSegment::ParseLogFileName("00000000000000000042.log") == 42);
  CHECK(LogSegment::LogPath("/d", 42) == "/d/00000000000000000042.log");
  CHECK_FALSE(LogSegment::ParseLogFileName("00000000000000000042.index"));
  CHECK_FALSE(LogSegment::ParseLogFileName("0000000000000000042.log"));
  CHECK_FALSE(LogSegment::ParseLogFileName("0000000000000000004x.log"));
}
