#include "protocol/kafka/batch/validate.h"

#include "absl/strings/str_cat.h"
#include "protocol/kafka/batch/crc32c.h"

namespace sluice::kafka {

absl::StatusOr<std::vector<RecordBatchHeader>> ValidateBatches(std::string_view data, int32_t max_batch_bytes) {
  if (data.empty()) return absl::InvalidArgumentError("no record batches");
  std::vector<RecordBatchHeader> headers;
  size_t position = 0;
  while (position < data.size()) {
    std::string_view rest = data.substr(position);
    auto header = ParseBatchHeader(rest);
    if (!header.ok()) return header.status();
    const RecordBatchHeader& h = *header;
    if (h.total_size() > max_batch_bytes) {
      return absl::OutOfRangeError(
          absl::StrCat("record batch of ", h.total_size(), " bytes exceeds the limit of ", max_batch_bytes));
    }
    if (h.total_size() > static_cast<int64_t>(rest.size())) {
      return absl::DataLossError(
          absl::StrCat("truncated record batch: ", h.total_size(), " bytes declared, ", rest.size(), " present"));
    }
    uint32_t actual = ComputeBatchCrc(rest.data(), static_cast<size_t>(h.total_size()));
    if (actual != h.crc) {
      return absl::DataLossError(absl::StrCat("record batch CRC mismatch at byte ", position, ": stored ", h.crc,
                                              ", computed ", actual));
    }
    if (h.records_count < 0 || h.last_offset_delta < 0 ||
        static_cast<int64_t>(h.records_count) > static_cast<int64_t>(h.last_offset_delta) + 1) {
      return absl::InvalidArgumentError(absl::StrCat("record batch with ", h.records_count,
                                                     " records and last offset delta ", h.last_offset_delta));
    }
    if (h.compression() > Compression::kZstd) {
      return absl::DataLossError(absl::StrCat("unknown compression codec ", static_cast<int>(h.compression())));
    }
    headers.push_back(h);
    position += static_cast<size_t>(h.total_size());
  }
  return headers;
}

}  // namespace sluice::kafka
