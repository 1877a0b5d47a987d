// Controller RPC framing as the rpc server and client read it (protocol/rpc/server.cc,
// client.cc): the length prefix, the frame header, then a Hello or an error status payload.
// Input: bytes as they arrive on the socket. Properties: an accepted length lies within the
// bounds; a decoded header and hello re-encode to the bytes they came from; an error reply never
// decodes as OK.

#include <string>
#include <string_view>

#include "protocol/rpc/frame.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::rpc;
  // A small limit, so that the fuzzer reaches both sides of it.
  constexpr uint32_t kMaxFrameBytes = 1024;
  if (size < kLengthFieldBytes) return 0;
  auto length = DecodeLength(data, kMaxFrameBytes);
  if (!length.ok()) return 0;
  SLUICE_FUZZ_CHECK(*length >= kHeaderBytes && *length <= kMaxFrameBytes);

  const std::string_view body = sluice::fuzz::AsBytes(data + kLengthFieldBytes, size - kLengthFieldBytes);
  if (body.size() < *length) return 0;  // the server reads exactly `length` bytes
  const std::string_view frame = body.substr(0, *length);
  auto header = DecodeHeader(frame);
  if (!header.ok()) return 0;
  const std::string_view payload = frame.substr(kHeaderBytes);
  SLUICE_FUZZ_CHECK(EncodeFrame(*header, payload) == sluice::fuzz::AsBytes(data, kLengthFieldBytes + *length));

  if (auto version = DecodeHello(payload); version.ok()) SLUICE_FUZZ_CHECK(EncodeHello(*version) == payload);
  const absl::Status status = DecodeStatus(payload);
  SLUICE_FUZZ_CHECK(!status.ok());
  return 0;
}
