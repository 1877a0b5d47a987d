#include "protocol/kafka/batch/crc32c.h"

#include <array>
#include <bit>
#include <cstring>

namespace sluice::kafka {
namespace crc32c_internal {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78;  // reflected Castagnoli polynomial

// Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes.
struct Tables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  constexpr Tables() {
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t crc = b;
      for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ ((crc & 1) ? kPolynomial : 0);
      t[0][b] = crc;
    }
    for (uint32_t b = 0; b < 256; ++b) {
      for (int k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
    }
  }
};
constexpr Tables kTables;

}  // namespace

uint32_t ExtendPortable(uint32_t crc, const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  const auto& t = kTables.t;
  uint32_t c = ~crc;
  while (size >= 8) {
    uint32_t lo;
    uint32_t hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    if constexpr (std::endian::native == std::endian::big) {
      lo = __builtin_bswap32(lo);
      hi = __builtin_bswap32(hi);
    }
    lo ^= c;
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
        t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    p += 8;
    size -= 8;
  }
  while (size-- > 0) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xff];
  return ~c;
}

#if defined(__x86_64__)
bool HardwareAvailable() {
  static const bool available = __builtin_cpu_supports("sse4.2");
  return available;
}

// The crc32 instruction takes 3 cycles but can start one per cycle: three independent streams
// over adjacent stripes keep it busy. Appending n zero bytes to a CRC register multiplies it by
// x^(8n) modulo the polynomial, which is how the stripes' registers are joined.

// a * b mod P, reflected: bit 31 holds the coefficient of x^0.
constexpr uint32_t MultiplyModP(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (int power = 0; power < 32; ++power) {
    if (a & (0x80000000u >> power)) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kPolynomial : b >> 1;  // b *= x
  }
  return product;
}

// x^(8 * bytes) mod P.
constexpr uint32_t ZeroBytesOperator(size_t bytes) {
  uint32_t result = 0x80000000u;  // x^0
  uint32_t square = 0x80000000u >> 8;  // x^8, one byte
  for (; bytes > 0; bytes >>= 1) {
    if (bytes & 1) result = MultiplyModP(result, square);
    square = MultiplyModP(square, square);
  }
  return result;
}

template <size_t kStripe>
__attribute__((target("sse4.2"))) uint64_t ThreeStripes(uint64_t c0, const uint8_t*& p, size_t& size) {
  static constexpr uint32_t kShiftOne = ZeroBytesOperator(kStripe);
  static constexpr uint32_t kShiftTwo = ZeroBytesOperator(2 * kStripe);
  while (size >= 3 * kStripe) {
    uint64_t c1 = 0;
    uint64_t c2 = 0;
    for (size_t i = 0; i < kStripe; i += 8) {
      uint64_t w0, w1, w2;
      std::memcpy(&w0, p + i, 8);
      std::memcpy(&w1, p + kStripe + i, 8);
      std::memcpy(&w2, p + 2 * kStripe + i, 8);
      c0 = __builtin_ia32_crc32di(c0, w0);
      c1 = __builtin_ia32_crc32di(c1, w1);
      c2 = __builtin_ia32_crc32di(c2, w2);
    }
    c0 = MultiplyModP(static_cast<uint32_t>(c0), kShiftTwo) ^ MultiplyModP(static_cast<uint32_t>(c1), kShiftOne) ^
         static_cast<uint32_t>(c2);
    p += 3 * kStripe;
    size -= 3 * kStripe;
  }
  return c0;
}

__attribute__((target("sse4.2"))) uint32_t ExtendHardware(uint32_t crc, const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t c = ~crc;
  c = ThreeStripes<4096>(c, p, size);
  c = ThreeStripes<256>(c, p, size);
  while (size >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = __builtin_ia32_crc32di(c, word);
    p += 8;
    size -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (size-- > 0) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return ~c32;
}
#else
bool HardwareAvailable() { return false; }
uint32_t ExtendHardware(uint32_t crc, const void* data, size_t size) { return ExtendPortable(crc, data, size); }
#endif

}  // namespace crc32c_internal

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size) {
  if (crc32c_internal::HardwareAvailable()) return crc32c_internal::ExtendHardware(crc, data, size);
  return crc32c_internal::ExtendPortable(crc, data, size);
}

}  // namespace sluice::kafka
