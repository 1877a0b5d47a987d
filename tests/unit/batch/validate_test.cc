#include <catch2/catch.hpp>

#include <string>

#include "protocol/kafka/batch/byte_order.h"
#include "protocol/kafka/batch/validate.h"
#include "tests/unit/batch/batch_test_util.h"

using namespace sluice::kafka;
using sluice::kafka::testing::MakeBatch;
namespace L = batch_layout;

namespace {

void RewriteCrc(std::string& batch) {
  batch_internal::StoreBigEndian<uint32_t>(batch.data() + L::kCrc, ComputeBatchCrc(batch.data(), batch.size()));
}

}  // namespace

TEST_CASE("valid concatenated batches return their headers") {
  std::string a = MakeBatch(3);
  std::string b = MakeBatch(5, Compression::kZstd, 5000);
  auto headers = ValidateBatches(a + b, 1 << 20);
  REQUIRE(headers.ok());
  REQUIRE(headers->size() == 2);
  CHECK((*headers)[0].records_count == 3);
  CHECK((*headers)[0].last_offset_delta == 2);
  CHECK((*headers)[0].total_size() == static_cast<int64_t>(a.size()));
  CHECK((*headers)[1].compression() == Compression::kZstd);
  CHECK((*headers)[1].base_timestamp == 5000);
  CHECK((*headers)[1].max_timestamp == 5004);
}

TEST_CASE("ValidateBatches error cases map to distinct codes") {
  std::string batch = MakeBatch(4);
  SECTION("empty input") {
    CHECK(ValidateBatches("", 1000).status().code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION("bad crc in any covered byte") {
    for (size_t i = L::kAttributes; i < batch.size(); ++i) {
      std::string bad = batch;
      bad[i] ^= 0x01;
      CHECK(ValidateBatches(bad, 1 << 20).status().code() == absl::StatusCode::kDataLoss);
    }
  }
  SECTION("bad stored crc") {
    std::string bad = batch;
    bad[L::kCrc] ^= 0x40;
    CHECK(ValidateBatches(bad, 1 << 20).status().code() == absl::StatusCode::kDataLoss);
  }
  SECTION("magic 0 and 1 are unsupported, magic 3 is corrupt") {
    for (char magic : {0, 1}) {
      std::string old = batch;
      old[L::kMagic] = magic;
      CHECK(ValidateBatches(old, 1 << 20).status().code() == absl::StatusCode::kUnimplemented);
    }
    std::string future = batch;
    future[L::kMagic] = 3;
    CHECK(ValidateBatches(future, 1 << 20).status().code() == absl::StatusCode::kDataLoss);
  }
  SECTION("truncated at every length") {
    for (size_t len = 1; len < batch.size(); ++len) {
      auto status = ValidateBatches(batch.substr(0, len), 1 << 20).status();
      INFO("length " << len);
      CHECK(status.code() == absl::StatusCode::kDataLoss);
    }
    CHECK(ValidateBatches(batch + batch.substr(0, 30), 1 << 20).status().code() == absl::StatusCode::kDataLoss);
  }
  SECTION("oversized batch") {
    CHECK(ValidateBatches(batch, static_cast<int32_t>(batch.size())).ok());
    CHECK(ValidateBatches(batch, static_cast<int32_t>(batch.size()) - 1).status().code() ==
          absl::StatusCode::kOutOfRange);
  }
  SECTION("length field smaller than the header") {
    std::string bad = batch;
    batch_internal::StoreBigEndian<int32_t>(bad.data() + L::kBatchLength, 10);
    CHECK(ValidateBatches(bad, 1 << 20).status().code() == absl::StatusCode::kDataLoss);
    batch_internal::StoreBigEndian<int32_t>(bad.data() + L::kBatchLength, -5);
    CHECK(ValidateBatches(bad, 1 << 20).status().code() == absl::StatusCode::kDataLoss);
  }
  SECTION("unknown compression codec") {
    std::string bad = batch;
    bad[L::kAttributes + 1] = static_cast<char>(bad[L::kAttributes + 1] | 0x07);
    RewriteCrc(bad);
    CHECK(ValidateBatches(bad, 1 << 20).status().code() == absl::StatusCode::kDataLoss);
  }
  SECTION("negative record count or more records than offsets") {
    std::string bad = batch;
    batch_internal::StoreBigEndian<int32_t>(bad.data() + L::kRecordsCount, -1);
    RewriteCrc(bad);
    CHECK(ValidateBatches(bad, 1 << 20).status().code() == absl::StatusCode::kInvalidArgument);
    batch_internal::StoreBigEndian<int32_t>(bad.data() + L::kRecordsCount, 5);
    RewriteCrc(bad);
    CHECK(ValidateBatches(bad, 1 << 20).status().code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("SetBaseOffset keeps the CRC valid; StampLogAppendTime recomputes it") {
  std::string batch = MakeBatch(2);
  SetBaseOffset(batch.data(), 123456789);
  auto headers = ValidateBatches(batch, 1 << 20);
  REQUIRE(headers.ok());
  CHECK((*headers)[0].base_offset == 123456789);
  CHECK((*headers)[0].last_offset() == 123456790);

  StampLogAppendTime(batch.data(), 42424242);
  headers = ValidateBatches(batch, 1 << 20);
  REQUIRE(headers.ok());
  CHECK((*headers)[0].timestamp_type() == TimestampType::kLogAppendTime);
  CHECK((*headers)[0].max_timestamp == 42424242);
}
