#pragma once
// The log cleaner for cleanup.policy=compact: keeps only the latest record of each key in the
// closed segments of a partition log. Records keep their offsets (a rewritten batch keeps its
// base offset and last offset delta and leaves gaps where records were removed), so a read at
// any offset still lands on the next surviving batch.
//
// Rules: only cleanable segments are read and rewritten: the closed ones (never the active
// segment) that end at or below a maximum offset, the last stable offset, since replicas may
// still fetch what lies above the high watermark as written and transactions above the LSO are
// undecided. The key -> latest offset map covers every cleanable segment, without the records
// of aborted transactions (found from the markers up to the log end), which are removed: they
// must not shadow committed records of their keys. A tombstone (null value) survives while it
// is the latest record of its key and its batch's max timestamp is within delete.retention.ms.
// Records without a key (the broker refuses them for compacted topics, but a topic may have
// changed policy) and control batches (transaction markers) are kept. A batch keeps its
// producer id, epoch, base sequence, partition leader epoch, attributes and compression codec.

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

// Share of the bytes of the segments cleanable below `max_offset` (INT64_MAX: no bound) that
// were written since the last clean (0 when there are none).
double DirtyRatio(const PartitionLog& log, int64_t max_offset);

// Compacts every segment of `log` cleanable below `max_offset` (see above; INT64_MAX: every
// closed segment); `now_ms` dates tombstones. Blocks on disk: run it on a maintenance thread.
absl::StatusOr<CleanResult> CleanLog(PartitionLog& log, int64_t now_ms, int64_t max_offset);

}  // namespace sluice::storage
