#pragma once
// The log cleaner for cleanup.policy=compact: keeps only the latest record of each key in the
// closed segments of a partition log. Records keep their offsets (a rewritten batch keeps its
// base offset and last offset delta and leaves gaps where records were removed), so a read at
// any offset still lands on the next surviving batch.
//
// Rules: the key -> latest offset map covers every closed segment; the active segment is
// neither read nor rewritten. A tombstone (null value) survives while it is the latest record
// of its key and its batch's max timestamp is within delete.retention.ms. Records without a key
// (the broker refuses them for compacted topics, but a topic may have changed policy) and
// control batches are kept. A batch keeps its producer id, epoch, base sequence, partition
// leader epoch, attributes and compression codec.

#include <cstdint>

#include "absl/status/statusor.h"
#include "storage/log/partition_log.h"

namespace sluice::storage {

struct CleanResult {
  int segments_rewritten = 0;
  int segments_removed = 0;
  int64_t records_removed = 0;
  int64_t bytes_before = 0;  // closed segments
  int64_t bytes_after = 0;
};

// Share of the closed segments' bytes written since the last clean (0 when there are none).
double DirtyRatio(const PartitionLog& log);

// Compacts every closed segment of `log` (see above); `now_ms` dates tombstones. Blocks on
// disk: run it on a maintenance thread.
absl::StatusOr<CleanResult> CleanLog(PartitionLog& log, int64_t now_ms);

}  // namespace sluice::storage
