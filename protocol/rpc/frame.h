#pragma once
// Wire format of the controller<->broker RPC. Every frame is
//   u32 length (bytes after this field) | u8 kind | u32 correlation id | u16 method | payload
// in big-endian. The first frame on a connection is a Hello from the client, answered by a
// Hello from the server (or an Error on a version mismatch, after which the server closes).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sluice::rpc {

inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr std::string_view kHelloMagic = "SLUICE-RPC";
inline constexpr uint32_t kDefaultMaxFrameBytes = 64u << 20;
inline constexpr size_t kLengthFieldBytes = 4;
// kind + correlation id + method.
inline constexpr size_t kHeaderBytes = 1 + 4 + 2;

enum class FrameKind : uint8_t { kRequest = 0, kResponse = 1, kError = 2, kHello = 3 };

struct FrameHeader {
  FrameKind kind = FrameKind::kRequest;
  uint32_t correlation_id = 0;
  uint16_t method = 0;
};

// The whole frame, length prefix included, ready for the socket.
std::string EncodeFrame(const FrameHeader& header, std::string_view payload);

// Validates the length prefix: at least a header, at most `max_frame_bytes` after the prefix.
absl::StatusOr<uint32_t> DecodeLength(const unsigned char* prefix, uint32_t max_frame_bytes);
// Parses the header that starts `body` (the bytes after the length prefix).
absl::StatusOr<FrameHeader> DecodeHeader(std::string_view body);

std::string EncodeHello(uint16_t version);
// Returns the peer's protocol version; an error when the magic is wrong.
absl::StatusOr<uint16_t> DecodeHello(std::string_view payload);

// An error reply carries the absl status code and message across the wire.
std::string EncodeStatus(const absl::Status& status);
absl::Status DecodeStatus(std::string_view payload);

}  // namespace sluice::rpc
