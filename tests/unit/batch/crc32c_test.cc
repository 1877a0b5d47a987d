#include <catch2/catch.hpp>

#include <string>

#include "protocol/kafka/batch/crc32c.h"

using namespace sluice::kafka;

TEST_CASE("crc32c known answers") {
  CHECK(Crc32c("") == 0u);
  CHECK(Crc32c("123456789") == 0xE3069283u);
  CHECK(Crc32c("a") == 0xC1D04330u);
  CHECK(Crc32c(std::string(32, '\0')) == 0x8A9136AAu);
  CHECK(Crc32c(std::string(32, '\xff')) == 0x62A8AB43u);
}

TEST_CASE("crc32c hardware and portable agree, and extend composes") {
  std::string data;
  for (int i = 0; i < 40000; ++i) data.push_back(static_cast<char>(i * 31 + 7 + (i >> 9)));
  // Lengths around the hardware path's three-stripe blocks (3 x 256 and 3 x 4096 bytes).
  for (size_t len : {0u, 1u, 7u, 8u, 9u, 63u, 64u, 767u, 768u, 769u, 999u, 1000u, 12287u, 12288u, 12289u, 13063u,
                     36871u, 40000u}) {
    uint32_t portable = crc32c_internal::ExtendPortable(0, data.data(), len);
    if (crc32c_internal::HardwareAvailable()) {
      CHECK(crc32c_internal::ExtendHardware(0, data.data(), len) == portable);
    }
    CHECK(Crc32cExtend(0, data.data(), len) == portable);
    for (size_t split : {size_t{0}, len / 3, len}) {
      uint32_t first = Crc32cExtend(0, data.data(), split);
      CHECK(Crc32cExtend(first, data.data() + split, len - split) == portable);
    }
  }
}
