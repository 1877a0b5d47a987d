#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "storage/log/node_identity.h"
#include "tests/unit/storage_log/log_test_util.h"

using namespace sluice;
using namespace sluice::storage;
using namespace sluice::storage::testing;

TEST_CASE("a data directory is claimed by the first node that uses it and refuses another") {
  TempDir dir;
  const auto data = dir.path() / "data";
  REQUIRE(ClaimDataDirectory(data, 2).ok());
  REQUIRE(std::filesystem::exists(data / "meta.properties"));
  CHECK(ClaimDataDirectory(data, 2).ok());

  absl::Status other = ClaimDataDirectory(data, 3);
  CHECK(other.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(other.message().find("belongs to node 2") != absl::string_view::npos);
}

TEST_CASE("a meta.properties that cannot be read is data loss, not a new claim") {
  TempDir dir;
  std::ofstream(dir.path() / "meta.properties") << "version=1\nnode.id=x7\n";
  CHECK(ClaimDataDirectory(dir.path(), 7).code() == absl::StatusCode::kDataLoss);
  std::ofstream(dir.path() / "meta.properties", std::ios::trunc) << "version=1\n";
  CHECK(ClaimDataDirectory(dir.path(), 7).code() == absl::StatusCode::kDataLoss);
}
