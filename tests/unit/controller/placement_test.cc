#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "controller/placement/replica_placement.h"

using sluice::controller::PlaceReplicas;
using sluice::controller::PlacementBroker;

TEST_CASE("replicas are distinct, balanced and leaders spread") {
  std::vector<PlacementBroker> brokers = {{1, ""}, {2, ""}, {3, ""}, {4, ""}};
  auto placed = PlaceReplicas(brokers, 0, 12, 3, 0);
  REQUIRE(placed.ok());
  std::map<int32_t, int> leaders, replicas;
  for (const auto& r : *placed) {
    REQUIRE(r.size() == 3);
    CHECK(std::set<int32_t>(r.begin(), r.end()).size() == 3);
    leaders[r.front()]++;
    for (int32_t id : r) replicas[id]++;
  }
  for (const auto& [id, count] : leaders) CHECK(count == 3);
  for (const auto& [id, count] : replicas) CHECK(count == 9);
}

TEST_CASE("replicas of a partition land on distinct racks first") {
  std::vector<PlacementBroker> brokers = {{1, "a"}, {2, "a"}, {3, "b"}, {4, "b"}, {5, "c"}, {6, "c"}};
  std::map<int32_t, std::string> rack = {{1, "a"}, {2, "a"}, {3, "b"}, {4, "b"}, {5, "c"}, {6, "c"}};
  auto placed = PlaceReplicas(brokers, 0, 30, 3, 7);
  REQUIRE(placed.ok());
  for (const auto& r : *placed) {
    std::set<std::string> racks;
    for (int32_t id : r) racks.insert(rack[id]);
    CHECK(racks.size() == 3);
  }
}

TEST_CASE("impossible replication factors are refused") {
  std::vector<PlacementBroker> brokers = {{1, ""}};
  CHECK(!PlaceReplicas(brokers, 0, 1, 2, 0).ok());
  CHECK(!PlaceReplicas(brokers, 0, 1, 0, 0).ok());
}
