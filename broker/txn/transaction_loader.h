#pragma once
// Replays one __transaction_state partition into the transactional ids it describes: the last
// record per id wins, a tombstone removes the id. Runs on the coordinator's loader thread (it
// reads the whole log); the coordinator installs the result on its own thread.

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "broker/txn/transaction_metadata.h"
#include "storage/log/partition_log.h"

namespace sluice::broker::txn {

struct LoadedTransactions {
  std::map<std::string, TransactionMetadata> transactions;
  int64_t records = 0;
};

// Fails only when the log cannot be read; records of unknown versions are skipped (and counted
// in the log), so a newer broker's records never stop an older one from loading.
absl::StatusOr<LoadedTransactions> LoadTransactions(const storage::PartitionLog& log);

}  // namespace sluice::broker::txn
