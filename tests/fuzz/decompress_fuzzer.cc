// The record batch codecs (protocol/kafka/batch/compression.h) on compressed bytes from outside.
// Input: one byte choosing the codec (values above zstd are unknown codecs), then the data.
// Properties: output never exceeds the bound, however the input expands; and any data
// compresses to bytes that decompress back to it.

#include <string>
#include <string_view>

#include "protocol/kafka/batch/compression.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::kafka;
  // Small enough that decompression bombs stay fast, large enough for several output chunks
  // (they grow from 64 KiB).
  constexpr size_t kMaxOutputBytes = 256 << 10;
  if (size < 1) return 0;
  const auto codec = static_cast<Compression>(data[0] & 0x07);
  const std::string_view input = sluice::fuzz::AsBytes(data + 1, size - 1);

  auto output = Decompress(codec, input, kMaxOutputBytes);
  SLUICE_FUZZ_CHECK(!output.ok() || output->size() <= kMaxOutputBytes);

  auto compressed = Compress(codec, input);
  if (codec > Compression::kZstd) {
    SLUICE_FUZZ_CHECK(!compressed.ok());
    return 0;
  }
  SLUICE_FUZZ_CHECK(compressed.ok());
  auto restored = Decompress(codec, *compressed, input.size());
  SLUICE_FUZZ_CHECK(restored.ok() && *restored == input);
  return 0;
}
