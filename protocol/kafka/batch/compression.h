#pragma once
// Record batch compression codecs: gzip, snappy, lz4 (LZ4 frame format, as Kafka uses since
// magic 1 / KIP-57) and zstd.
//
// Snappy: Compress writes raw snappy (what librdkafka sends; Java's reader accepts it);
// Decompress also accepts the xerial framing that the Java client writes.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "protocol/kafka/batch/record_batch_header.h"

namespace sluice::kafka {

absl::StatusOr<std::string> Compress(Compression codec, std::string_view input);

// Never produces more than `max_output_bytes` (a bound against decompression bombs).
// Errors: kOutOfRange when the output would exceed the bound, kDataLoss for corrupt input,
// kUnimplemented for an unknown codec.
absl::StatusOr<std::string> Decompress(Compression codec, std::string_view input, size_t max_output_bytes);

}  // namespace sluice::kafka
