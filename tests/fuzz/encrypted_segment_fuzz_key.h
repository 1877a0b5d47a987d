#pragma once
// The master key file the encrypted segment fuzzer opens its inputs with; seed_writer.cc writes
// its seeds under the same key, so that mutations get past the data key's unwrap.

#include <string_view>

namespace sluice::fuzz {

inline constexpr std::string_view kEncryptedSegmentFuzzKeys =
    "fz1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";

}  // namespace sluice::fuzz
