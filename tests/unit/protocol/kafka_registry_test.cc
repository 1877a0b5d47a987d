// Advertised API table, flexibility lookup, error names and the generated compatibility document.
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "protocol/kafka/api_registry.h"
#include "protocol/kafka/compatibility_doc.h"
#include "protocol/kafka/error_codes.h"

namespace sluice::kafka {
namespace {

TEST_CASE("advertised APIs are sorted and within our definitions", "[kafka][registry]") {
  int previous = -1;
  for (const AdvertisedApi& api : AdvertisedApis()) {
    INFO(api.name);
    REQUIRE(api.key > previous);
    previous = api.key;
    const DefinedApi* defined = FindDefinedApi(api.key);
    REQUIRE(defined != nullptr);
    REQUIRE(defined->name == api.name);
    REQUIRE(api.min_version >= defined->min_version);
    // EndTxn v5 (KIP-890 part 2) is defined but not served.
    REQUIRE(api.max_version == (api.key == 26 ? 4 : defined->max_version));
    REQUIRE(api.accepted_min_version >= api.min_version);
    REQUIRE(api.accepted_min_version <= api.max_version);
  }
}

TEST_CASE("minimum versions follow the Kafka 4.0 baseline", "[kafka][registry]") {
  REQUIRE(FindAdvertisedApi(0)->min_version == 0);
  REQUIRE(AcceptedMinVersion(0) == 3);
  REQUIRE(AcceptedMinVersion(1) == 4);
  REQUIRE(AcceptedMinVersion(2) == 1);
  REQUIRE(AcceptedMinVersion(3) == 0);
  REQUIRE(AcceptedMinVersion(8) == 2);
  REQUIRE(AcceptedMinVersion(19) == 2);
  REQUIRE(AcceptedMinVersion(20) == 1);
  REQUIRE(!IsVersionAccepted(0, 2));
  REQUIRE(IsVersionAccepted(0, 3));
  REQUIRE(IsVersionAccepted(18, 4));
  REQUIRE(!IsVersionAccepted(18, 5));
  REQUIRE(AcceptedMinVersion(17) == 0);
  REQUIRE(AcceptedMinVersion(36) == 0);
  REQUIRE(AcceptedMinVersion(27) == 0);  // WriteTxnMarkers
  REQUIRE(AcceptedMinVersion(61) == 0);  // DescribeProducers
  REQUIRE(AcceptedMinVersion(24) == 0);  // AddPartitionsToTxn
  REQUIRE(FindAdvertisedApi(26)->max_version == 4);  // EndTxn without KIP-890 part 2
  REQUIRE(AcceptedMinVersion(65) == 0);  // DescribeTransactions
  REQUIRE(AcceptedMinVersion(66) == 0);  // ListTransactions
  REQUIRE(AcceptedMinVersion(21) == 0);
  REQUIRE(AcceptedMinVersion(35) == 1);  // DescribeLogDirs v0 went in Kafka 4.0
  REQUIRE(AcceptedMinVersion(74) == 0);
  // As Kafka without a client telemetry receiver (KIP-714): clients must not push metrics.
  for (int16_t key : {71, 72}) REQUIRE(FindAdvertisedApi(key) == nullptr);
}

TEST_CASE("flexible versions come from the definitions", "[kafka][registry]") {
  REQUIRE(IsFlexible(18, 3));
  REQUIRE(!IsFlexible(18, 2));
  REQUIRE(IsFlexible(0, 9));
  REQUIRE(!IsFlexible(0, 8));
  REQUIRE(!IsFlexible(17, 1));  // SaslHandshake has no flexible versions
  REQUIRE(IsFlexible(60, 0));
  REQUIRE(!IsFlexible(999, 0));
}

TEST_CASE("error codes carry Kafka's numbers and names", "[kafka][errors]") {
  REQUIRE(ToInt(ErrorCode::kUnknownServerError) == -1);
  REQUIRE(ToInt(ErrorCode::kNone) == 0);
  REQUIRE(ToInt(ErrorCode::kOffsetOutOfRange) == 1);
  REQUIRE(ToInt(ErrorCode::kCorruptMessage) == 2);
  REQUIRE(ToInt(ErrorCode::kUnknownTopicOrPartition) == 3);
  REQUIRE(ToInt(ErrorCode::kNotLeaderOrFollower) == 6);
  REQUIRE(ToInt(ErrorCode::kUnsupportedVersion) == 35);
  REQUIRE(ToInt(ErrorCode::kUnknownTopicId) == 100);
  REQUIRE(ToInt(ErrorCode::kTransactionAbortable) == 120);
  REQUIRE(ErrorName(ErrorCode::kUnsupportedVersion) == "UNSUPPORTED_VERSION");
  REQUIRE(ErrorName(ErrorCode::kNone) == "NONE");
  REQUIRE(ErrorName(static_cast<ErrorCode>(9999)) == "UNKNOWN_ERROR_CODE");
}

TEST_CASE("docs/compatibility.md matches the registry", "[kafka][registry]") {
  const std::string path = std::string(SLUICE_SOURCE_DIR) + "/docs/compatibility.md";
  std::ifstream file(path);
  REQUIRE(file.good());
  std::stringstream contents;
  contents << file.rdbuf();
  INFO("regenerate: ninja -C <build> kafka_compatibility_doc && "
       "<build>/protocol/kafka/kafka_compatibility_doc > docs/compatibility.md");
  REQUIRE(contents.str() == RenderCompatibilityDoc());
}

}  // namespace
}  // namespace sluice::kafka
