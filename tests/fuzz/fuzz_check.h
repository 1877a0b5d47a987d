#pragma once
// What the fuzz targets share: the input as bytes, and a property check that aborts with a
// message, so that libFuzzer reports a crash and saves the input that broke the property.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace sluice::fuzz {

inline std::string_view AsBytes(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

[[noreturn]] inline void PropertyFailed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n", file, line, what);
  std::abort();
}

}  // namespace sluice::fuzz

#define SLUICE_FUZZ_CHECK(condition)                                                  \
  do {                                                                                \
    if (!(condition)) ::sluice::fuzz::PropertyFailed(#condition, __FILE__, __LINE__); \
  } while (false)
