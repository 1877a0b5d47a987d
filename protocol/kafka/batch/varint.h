#pragma once
// Kafka's zig-zag varints (record fields inside a v2 batch). Decoding never reads past `end`.

#include <cstdint>
#include <optional>
#include <string>

namespace sluice::kafka::batch_internal {

inline void AppendVarlong(std::string& out, int64_t value) {
  uint64_t v = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline void AppendVarint(std::string& out, int32_t value) { AppendVarlong(out, value); }

inline size_t VarlongSize(int64_t value) {
  uint64_t v = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Reads a varint of at most `max_bytes` bytes (5 for int32, 10 for int64); nullopt when
// truncated or too long.
inline std::optional<int64_t> ReadZigZag(const char*& p, const char* end, int max_bytes) {
  uint64_t raw = 0;
  for (int i = 0; i < max_bytes; ++i) {
    if (p == end) return std::nullopt;
    uint8_t byte = static_cast<uint8_t>(*p++);
    raw |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) return static_cast<int64_t>((raw >> 1) ^ (~(raw & 1) + 1));
  }
  return std::nullopt;
}

inline std::optional<int64_t> ReadVarlong(const char*& p, const char* end) { return ReadZigZag(p, end, 10); }

inline std::optional<int32_t> ReadVarint(const char*& p, const char* end) {
  auto v = ReadZigZag(p, end, 5);
  if (!v || *v < INT32_MIN || *v > INT32_MAX) return std::nullopt;
  return static_cast<int32_t>(*v);
}

}  // namespace sluice::kafka::batch_internal
