#include <catch2/catch.hpp>

#include "broker/groups/coordinator_key.h"

using sluice::broker::groups::JavaStringHash;
using sluice::broker::groups::OffsetsPartitionFor;

// Expected values are Java's String.hashCode() and Kafka's partitionFor with 50 partitions.
TEST_CASE("group ids hash like Java strings") {
  CHECK(JavaStringHash("") == 0);
  CHECK(JavaStringHash("abc") == 96354);
  CHECK(JavaStringHash("hello") == 99162322);
  CHECK(JavaStringHash("my-group") == -1906497762);
  CHECK(JavaStringHash("\xc3\xa9") == 233);                  // U+00E9, one UTF-16 unit
  CHECK(JavaStringHash("\xf0\x9f\x98\x80") == 1772899);      // U+1F600, a surrogate pair
  CHECK(JavaStringHash("group\xc3\xa9\xf0\x9f\x98\x80x") == -1423693589);
}

TEST_CASE("coordinator partition follows Kafka's abs(hash) % partitions") {
  CHECK(OffsetsPartitionFor("abc", 50) == 4);
  CHECK(OffsetsPartitionFor("my-group", 50) == 12);
  CHECK(OffsetsPartitionFor("console-consumer-12345", 50) == 6);
  CHECK(OffsetsPartitionFor("\xf0\x9f\x98\x80", 50) == 49);
  CHECK(OffsetsPartitionFor("anything", 1) == 0);
}

TEST_CASE("malformed UTF-8 hashes as replacement characters without reading past the end") {
  CHECK(JavaStringHash("\xff") == 0xFFFD);
  CHECK(JavaStringHash("\xe2\x82") == 0xFFFD * 31 + 0xFFFD);  // truncated 3-byte sequence: two bad bytes
  CHECK(JavaStringHash("\xc0\x80") == 0xFFFD * 31 + 0xFFFD);  // overlong encoding
}
