#include "protocol/rpc/frame.h"

#include <fmt/format.h>

#include "common/absl_compat.h"

namespace sluice::rpc {
namespace {

void PutU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}
void PutU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
uint16_t GetU16(const unsigned char* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t GetU32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

std::string EncodeFrame(const FrameHeader& header, std::string_view payload) {
  std::string out;
  out.reserve(kLengthFieldBytes + kHeaderBytes + payload.size());
  PutU32(out, static_cast<uint32_t>(kHeaderBytes + payload.size()));
  out.push_back(static_cast<char>(header.kind));
  PutU32(out, header.correlation_id);
  PutU16(out, header.method);
  out.append(payload);
  return out;
}

absl::StatusOr<uint32_t> DecodeLength(const unsigned char* prefix, uint32_t max_frame_bytes) {
  uint32_t length = GetU32(prefix);
  if (length < kHeaderBytes) {
    return absl::InvalidArgumentError(fmt::format("rpc frame length {} is shorter than a header", length));
  }
  if (length > max_frame_bytes) {
    return absl::ResourceExhaustedError(
        fmt::format("rpc frame length {} exceeds the limit of {} bytes", length, max_frame_bytes));
  }
  return length;
}

absl::StatusOr<FrameHeader> DecodeHeader(std::string_view body) {
  if (body.size() < kHeaderBytes) return absl::InvalidArgumentError("truncated rpc frame header");
  const unsigned char* p = Bytes(body);
  if (p[0] > static_cast<uint8_t>(FrameKind::kHello)) {
    return absl::InvalidArgumentError(fmt::format("unknown rpc frame kind {}", p[0]));
  }
  return FrameHeader{.kind = static_cast<FrameKind>(p[0]), .correlation_id = GetU32(p + 1), .method = GetU16(p + 5)};
}

std::string EncodeHello(uint16_t version) {
  std::string out(kHelloMagic);
  PutU16(out, version);
  return out;
}

absl::StatusOr<uint16_t> DecodeHello(std::string_view payload) {
  if (payload.size() != kHelloMagic.size() + 2 || payload.substr(0, kHelloMagic.size()) != kHelloMagic) {
    return absl::InvalidArgumentError("not a sluice rpc hello");
  }
  return GetU16(Bytes(payload) + kHelloMagic.size());
}

std::string EncodeStatus(const absl::Status& status) {
  std::string out;
  PutU32(out, static_cast<uint32_t>(status.code()));
  out.append(ToStd(status.message()));
  return out;
}

absl::Status DecodeStatus(std::string_view payload) {
  if (payload.size() < 4) return absl::InternalError("malformed rpc error reply");
  uint32_t code = GetU32(Bytes(payload));
  // An OK code or one this build does not know still has to surface as an error.
  if (code == 0 || code > static_cast<uint32_t>(absl::StatusCode::kUnauthenticated)) {
    code = static_cast<uint32_t>(absl::StatusCode::kUnknown);
  }
  return absl::Status(static_cast<absl::StatusCode>(code), ToAbsl(payload.substr(4)));
}

}  // namespace sluice::rpc
