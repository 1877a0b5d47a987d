// Record batches a follower takes from its leader (broker/cluster/partition.cc
// OnFetchedFromLeader): ValidateBatches, then PartitionLog::AppendAsFollower, which frames the
// batches, checks their offsets against each other and the log end, writes them and feeds the
// leader-epoch cache. Input: one flags byte, then batch bytes; flag bit 0 recomputes each framed
// batch's CRC first, so that mutations reach the append. Property: an accepted append moves the
// log end to one past its last offset. The log lives in a temporary directory for the whole run
// and is emptied after every input.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "common/clock.h"
#include "protocol/kafka/batch/validate.h"
#include "storage/log/partition_log.h"
#include "tests/fuzz/fix_batch_crcs.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice;

std::filesystem::path directory;
std::unique_ptr<storage::PartitionLog> log_under_test;

void RemoveDirectory() {
  log_under_test.reset();
  std::error_code ignored;
  std::filesystem::remove_all(directory, ignored);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::string pattern = (std::filesystem::temp_directory_path() / "sluice-fuzz-follower-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();
  directory = pattern;
  std::atexit(RemoveDirectory);
  auto opened = storage::PartitionLog::Open(directory / "topic-0", storage::LogConfig{}, SystemClock::Instance());
  if (!opened.ok()) std::abort();
  log_under_test = std::move(*opened);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string batches(fuzz::AsBytes(data + 1, size - 1));
  if (data[0] & 1) fuzz::FixBatchCrcs(batches);
  if (!kafka::ValidateBatches(batches, INT32_MAX).ok()) return 0;
  auto appended = log_under_test->AppendAsFollower(batches);
  if (appended.ok()) {
    SLUICE_FUZZ_CHECK(log_under_test->log_end_offset() == appended->last_offset + 1);
    SLUICE_FUZZ_CHECK(log_under_test->TruncateFullyAndStartAt(0).ok());
  }
  return 0;
}
