#pragma once
// CRC32C (Castagnoli), the checksum of record batch v2. Uses the SSE4.2 crc32 instruction when
// the CPU has it (checked once at run time) and a table-driven fallback otherwise.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::kafka {

// Continues a running CRC: Crc32c(ab) == Crc32cExtend(Crc32c(a), b).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size);
inline uint32_t Crc32c(std::string_view data) { return Crc32cExtend(0, data.data(), data.size()); }

namespace crc32c_internal {
// Exposed so tests can check both implementations against each other.
uint32_t ExtendPortable(uint32_t crc, const void* data, size_t size);
bool HardwareAvailable();
uint32_t ExtendHardware(uint32_t crc, const void* data, size_t size);  // only if HardwareAvailable()
}  // namespace crc32c_internal

}  // namespace sluice::kafka
