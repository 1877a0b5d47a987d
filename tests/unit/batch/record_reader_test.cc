#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "protocol/kafka/batch/byte_order.h"
#include "protocol/kafka/batch/record_batch_builder.h"
#include "protocol/kafka/batch/record_reader.h"
#include "protocol/kafka/batch/validate.h"

using namespace sluice::kafka;
namespace L = batch_layout;

namespace {

struct Decoded {
  int64_t offset;
  int64_t timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

std::optional<std::string> Copy(std::optional<std::string_view> v) {
  return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
}

absl::StatusOr<std::vector<Decoded>> DecodeAll(std::string_view batch) {
  std::vector<Decoded> out;
  auto status = ForEachRecord(batch, [&](const RecordView& r) {
    Decoded d{r.offset, r.timestamp, Copy(r.key), Copy(r.value), {}};
    for (const auto& h : r.headers) d.headers.emplace_back(std::string(h.key), Copy(h.value));
    out.push_back(std::move(d));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

}  // namespace

TEST_CASE("builder round trips records through every codec") {
  for (auto codec : {Compression::kNone, Compression::kGzip, Compression::kSnappy, Compression::kLz4,
                     Compression::kZstd}) {
    INFO("codec " << static_cast<int>(codec));
    RecordBatchBuilder builder(RecordBatchBuilder::Options{.compression = codec,
                                                           .base_offset = 100,
                                                           .producer_id = 7,
                                                           .producer_epoch = 2,
                                                           .base_sequence = 11,
                                                           .transactional = true});
    std::vector<RecordHeaderView> headers = {{"h1", std::string_view("v1")}, {"h2", std::nullopt}};
    builder.Add("k0", "v0", 5000, headers);
    builder.Add(std::nullopt, "v1", 4990);  // timestamps may go backwards: negative delta
    builder.Add("k2", std::nullopt, 5020);
    builder.Add("", std::string(100000, 'x'), 5010);
    auto batch = builder.Build();
    REQUIRE(batch.ok());

    auto headers_out = ValidateBatches(*batch, 1 << 20);
    REQUIRE(headers_out.ok());
    const RecordBatchHeader& h = headers_out->front();
    CHECK(h.compression() == codec);
    CHECK(h.base_offset == 100);
    CHECK(h.last_offset() == 103);
    CHECK(h.records_count == 4);
    CHECK(h.base_timestamp == 5000);
    CHECK(h.max_timestamp == 5020);
    CHECK(h.producer_id == 7);
    CHECK(h.producer_epoch == 2);
    CHECK(h.base_sequence == 11);
    CHECK(h.is_transactional());
    CHECK_FALSE(h.is_control());

    auto records = DecodeAll(*batch);
    REQUIRE(records.ok());
    REQUIRE(records->size() == 4);
    CHECK((*records)[0].offset == 100);
    CHECK((*records)[0].key == "k0");
    CHECK((*records)[0].value == "v0");
    REQUIRE((*records)[0].headers.size() == 2);
    CHECK((*records)[0].headers[0].first == "h1");
    CHECK((*records)[0].headers[0].second == "v1");
    CHECK_FALSE((*records)[0].headers[1].second.has_value());
    CHECK_FALSE((*records)[1].key.has_value());
    CHECK((*records)[1].timestamp == 4990);
    CHECK_FALSE((*records)[2].value.has_value());
    CHECK((*records)[3].offset == 103);
    CHECK((*records)[3].key == "");
    CHECK((*records)[3].value->size() == 100000);
  }
}

TEST_CASE("control flag, LogAppendTime timestamps and empty builder") {
  RecordBatchBuilder builder(RecordBatchBuilder::Options{.control = true});
  CHECK(builder.Build().status().code() == absl::StatusCode::kInvalidArgument);
  builder.Add("k", "v", 10);
  std::string batch = builder.Build().value();
  CHECK(ParseBatchHeader(batch)->is_control());
  StampLogAppendTime(batch.data(), 999);
  auto records = DecodeAll(batch);
  REQUIRE(records.ok());
  CHECK((*records)[0].timestamp == 999);
}

TEST_CASE("ForEachRecord stops on the callback's error") {
  RecordBatchBuilder builder;
  for (int i = 0; i < 5; ++i) builder.Add("k", "v", i);
  std::string batch = builder.Build().value();
  int seen = 0;
  auto status = ForEachRecord(batch, [&](const RecordView&) {
    return ++seen == 2 ? absl::CancelledError("stop") : absl::OkStatus();
  });
  CHECK(status.code() == absl::StatusCode::kCancelled);
  CHECK(seen == 2);
}

TEST_CASE("malformed records give errors, never crashes") {
  RecordBatchBuilder builder;
  std::vector<RecordHeaderView> headers = {{"hk", std::string_view("hv")}};
  for (int i = 0; i < 3; ++i) builder.Add("key", "value", 100 + i, headers);
  const std::string batch = builder.Build().value();

  SECTION("every single-byte corruption of the records section") {
    for (size_t i = L::kHeaderSize; i < batch.size(); ++i) {
      for (int flip : {0x01, 0x80, 0xff}) {
        std::string bad = batch;
        bad[i] = static_cast<char>(bad[i] ^ flip);
        (void)DecodeAll(bad);  // must not crash; sanitizers check memory safety
      }
    }
  }
  SECTION("record count larger than present") {
    std::string bad = batch;
    batch_internal::StoreBigEndian<int32_t>(bad.data() + L::kRecordsCount, 4);
    CHECK(DecodeAll(bad).status().code() == absl::StatusCode::kDataLoss);
  }
  SECTION("record count smaller than present leaves trailing bytes") {
    std::string bad = batch;
    batch_internal::StoreBigEndian<int32_t>(bad.data() + L::kRecordsCount, 2);
    CHECK(DecodeAll(bad).status().code() == absl::StatusCode::kDataLoss);
  }
  SECTION("truncated batch") {
    CHECK(DecodeAll(std::string_view(batch).substr(0, batch.size() - 1)).status().code() ==
          absl::StatusCode::kDataLoss);
  }
  SECTION("compressed payload over the limit") {
    RecordBatchBuilder big(RecordBatchBuilder::Options{.compression = Compression::kZstd});
    big.Add("k", std::string(1 << 20, 'a'), 0);
    std::string compressed = big.Build().value();
    auto status = ForEachRecord(compressed, [](const RecordView&) { return absl::OkStatus(); }, 1000);
    CHECK(status.code() == absl::StatusCode::kOutOfRange);
  }
}

TEST_CASE("offsets and timestamps at the ends of int64 wrap as Kafka's longs do, without overflow") {
  // Found by tests/fuzz/record_batch_fuzzer: base + delta overflowed (undefined behaviour) for
  // hostile bases, in the reader and in the builder that the log cleaner rewrites records with.
  RecordBatchBuilder builder(RecordBatchBuilder::Options{.base_offset = INT64_MAX});
  builder.Add("first", "a", INT64_MAX);
  builder.Add("second", "b", INT64_MIN);
  auto batch = builder.Build();
  REQUIRE(batch.ok());
  auto records = DecodeAll(*batch);
  REQUIRE(records.ok());
  REQUIRE(records->size() == 2);
  CHECK((*records)[0].offset == INT64_MAX);
  CHECK((*records)[0].timestamp == INT64_MAX);
  CHECK((*records)[1].offset == INT64_MIN);
  CHECK((*records)[1].timestamp == INT64_MIN);
}
