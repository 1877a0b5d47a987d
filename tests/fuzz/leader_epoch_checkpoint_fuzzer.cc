// The leader-epoch-checkpoint file of a partition directory (Kafka's text format;
// storage/log/leader_epoch_checkpoint.h) as a broker reads it when it opens a log. Property: the
// parsed entries keep the cache's invariants and format to contents that parse to them again.

#include "storage/log/leader_epoch_checkpoint.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::storage;
  absl::StatusOr<LeaderEpochCache> cache = ParseLeaderEpochCheckpoint(sluice::fuzz::AsBytes(data, size), "fuzz input");
  if (!cache.ok()) {
    SLUICE_FUZZ_CHECK(cache.status().code() == absl::StatusCode::kDataLoss);
    return 0;
  }
  const std::vector<EpochEntry>& entries = cache->entries();
  for (size_t i = 0; i < entries.size(); ++i) {
    SLUICE_FUZZ_CHECK(entries[i].epoch >= 0 && entries[i].start_offset >= 0);
    if (i == 0) continue;
    SLUICE_FUZZ_CHECK(entries[i].epoch > entries[i - 1].epoch);
    SLUICE_FUZZ_CHECK(entries[i].start_offset >= entries[i - 1].start_offset);
  }
  auto again = ParseLeaderEpochCheckpoint(FormatLeaderEpochCheckpoint(entries), "formatted");
  SLUICE_FUZZ_CHECK(again.ok() && again->entries() == entries);
  return 0;
}
