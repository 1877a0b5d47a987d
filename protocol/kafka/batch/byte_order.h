#pragma once
// Big-endian loads and stores for fixed-width batch header fields (Kafka is big-endian on the wire).

#include <cstdint>
#include <cstring>

namespace sluice::kafka::batch_internal {

template <typename T>
inline T LoadBigEndian(const char* p) {
  using U = std::make_unsigned_t<T>;
  U value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) value = static_cast<U>((value << 8) | static_cast<uint8_t>(p[i]));
  return static_cast<T>(value);
}

template <typename T>
inline void StoreBigEndian(char* p, T value) {
  using U = std::make_unsigned_t<T>;
  U v = static_cast<U>(value);
  for (size_t i = sizeof(T); i > 0; --i) {
    p[i - 1] = static_cast<char>(v & 0xff);
    if constexpr (sizeof(T) > 1) v >>= 8;
  }
}

}  // namespace sluice::kafka::batch_internal
