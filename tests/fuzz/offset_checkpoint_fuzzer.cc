// The offset checkpoint files of a partition directory (log start offset, recovery point, high
// watermark; storage/log/checkpoint.h) as a broker reads them when it opens a log: whatever a
// crash or a disk left there. Property: a parsed offset is not negative and formats to contents
// that parse to it again.

#include "storage/log/checkpoint.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::storage;
  absl::StatusOr<int64_t> offset = ParseOffsetCheckpoint(sluice::fuzz::AsBytes(data, size), "fuzz input");
  if (!offset.ok()) {
    SLUICE_FUZZ_CHECK(offset.status().code() == absl::StatusCode::kDataLoss);
    return 0;
  }
  SLUICE_FUZZ_CHECK(*offset >= 0);
  absl::StatusOr<int64_t> again = ParseOffsetCheckpoint(FormatOffsetCheckpoint(*offset), "formatted");
  SLUICE_FUZZ_CHECK(again.ok() && *again == *offset);
  return 0;
}
