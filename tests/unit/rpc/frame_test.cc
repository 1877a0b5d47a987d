#include "protocol/rpc/frame.h"

#include <catch2/catch.hpp>

namespace sluice::rpc {
namespace {

const unsigned char* Bytes(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

TEST_CASE("rpc frame encodes header and payload big-endian") {
  std::string frame = EncodeFrame({.kind = FrameKind::kResponse, .correlation_id = 0x01020304, .method = 0x0506}, "xy");
  REQUIRE(frame == std::string("\x00\x00\x00\x09\x01\x01\x02\x03\x04\x05\x06xy", 13));
  auto length = DecodeLength(Bytes(frame), kDefaultMaxFrameBytes);
  REQUIRE(length.ok());
  REQUIRE(*length == 9);
  auto header = DecodeHeader(std::string_view(frame).substr(kLengthFieldBytes));
  REQUIRE(header.ok());
  CHECK(header->kind == FrameKind::kResponse);
  CHECK(header->correlation_id == 0x01020304u);
  CHECK(header->method == 0x0506);
}

TEST_CASE("rpc frame rejects bad lengths and kinds") {
  std::string too_short("\x00\x00\x00\x06", 4);
  CHECK(DecodeLength(Bytes(too_short), 100).status().code() == absl::StatusCode::kInvalidArgument);
  std::string huge("\xff\xff\xff\xff", 4);
  CHECK(DecodeLength(Bytes(huge), 100).status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(!DecodeHeader(std::string("\x09\0\0\0\0\0\0", 7)).ok());
  CHECK(!DecodeHeader("abc").ok());
}

TEST_CASE("rpc hello and status round trip") {
  auto version = DecodeHello(EncodeHello(7));
  REQUIRE(version.ok());
  CHECK(*version == 7);
  CHECK(!DecodeHello("SLUICE-RPX\x00\x01").ok());
  CHECK(!DecodeHello("").ok());

  absl::Status status = DecodeStatus(EncodeStatus(absl::NotFoundError("no such topic")));
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK(status.message() == "no such topic");
  CHECK(DecodeStatus(std::string("\x00\x00\x00\x00ok", 6)).code() == absl::StatusCode::kUnknown);
  CHECK(DecodeStatus(std::string("\x00\x00\x03\x00", 4)).code() == absl::StatusCode::kUnknown);
  CHECK(DecodeStatus("x").code() == absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace sluice::rpc
