#include <catch2/catch.hpp>

#include <string>

#include <snappy.h>

#include "protocol/kafka/batch/compression.h"

using namespace sluice::kafka;

namespace {

std::string SampleText(size_t size) {
  std::string s;
  while (s.size() < size) s += "the quick brown fox " + std::to_string(s.size() % 977) + " ";
  s.resize(size);
  return s;
}

std::string BigEndian32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

}  // namespace

TEST_CASE("every codec round trips, including empty and large inputs") {
  for (auto codec : {Compression::kNone, Compression::kGzip, Compression::kSnappy, Compression::kLz4,
                     Compression::kZstd}) {
    for (size_t size : {size_t{0}, size_t{1}, size_t{1000}, size_t{300000}}) {
      INFO("codec " << static_cast<int>(codec) << " size " << size);
      std::string input = SampleText(size);
      auto compressed = Compress(codec, input);
      REQUIRE(compressed.ok());
      auto output = Decompress(codec, *compressed, size);
      REQUIRE(output.ok());
      CHECK(*output == input);
    }
  }
}

TEST_CASE("decompression is bounded by the caller's limit") {
  std::string input(1 << 20, 'z');  // compresses extremely well: a small bomb
  for (auto codec : {Compression::kNone, Compression::kGzip, Compression::kSnappy, Compression::kLz4,
                     Compression::kZstd}) {
    INFO("codec " << static_cast<int>(codec));
    auto compressed = Compress(codec, input);
    REQUIRE(compressed.ok());
    auto output = Decompress(codec, *compressed, input.size() - 1);
    CHECK(output.status().code() == absl::StatusCode::kOutOfRange);
    CHECK(Decompress(codec, *compressed, 1000).status().code() == absl::StatusCode::kOutOfRange);
  }
}

TEST_CASE("corrupt and truncated compressed data give kDataLoss") {
  std::string input = SampleText(5000);
  for (auto codec : {Compression::kGzip, Compression::kSnappy, Compression::kLz4, Compression::kZstd}) {
    INFO("codec " << static_cast<int>(codec));
    std::string compressed = Compress(codec, input).value();
    auto truncated = Decompress(codec, compressed.substr(0, compressed.size() / 2), 1 << 20);
    CHECK(truncated.status().code() == absl::StatusCode::kDataLoss);
    CHECK(Decompress(codec, "", 1 << 20).status().code() == absl::StatusCode::kDataLoss);
    CHECK(Decompress(codec, std::string(100, '\x7f'), 1 << 20).status().code() == absl::StatusCode::kDataLoss);
  }
  CHECK(Decompress(static_cast<Compression>(6), "x", 10).status().code() == absl::StatusCode::kUnimplemented);
}

TEST_CASE("xerial-framed snappy (Java client) is accepted") {
  std::string part1 = SampleText(40000);
  std::string part2 = SampleText(7000);
  std::string framed = std::string("\x82SNAPPY\0", 8) + BigEndian32(1) + BigEndian32(1);
  for (const auto& part : {part1, part2}) {
    std::string block;
    snappy::Compress(part.data(), part.size(), &block);
    framed += BigEndian32(static_cast<uint32_t>(block.size())) + block;
  }
  auto output = Decompress(Compression::kSnappy, framed, 1 << 20);
  REQUIRE(output.ok());
  CHECK(*output == part1 + part2);
  CHECK(Decompress(Compression::kSnappy, framed, 40000).status().code() == absl::StatusCode::kOutOfRange);
  CHECK(Decompress(Compression::kSnappy, framed.substr(0, framed.size() - 3), 1 << 20).status().code() ==
        absl::StatusCode::kDataLoss);
}
