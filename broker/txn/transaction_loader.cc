#include "broker/txn/transaction_loader.h"

#include "broker/txn/transaction_records.h"
#include "common/absl_compat.h"
#include "common/log.h"
#include "protocol/kafka/batch/record_reader.h"

namespace sluice::broker::txn {

absl::StatusOr<LoadedTransactions> LoadTransactions(const storage::PartitionLog& log) {
  LoadedTransactions loaded;
  int64_t skipped = 0;
  absl::Status status = log.ForEachBatch(log.log_start_offset(), [&](const kafka::RecordBatchHeader& header,
                                                                      std::string_view batch) {
    if (header.is_control()) return absl::OkStatus();
    return kafka::ForEachRecord(batch, [&](const kafka::RecordView& record) {
      ++loaded.records;
      if (!record.key) return absl::OkStatus();
      auto id = DecodeTxnKey(*record.key);
      if (!id.ok()) {
        ++skipped;
        return absl::OkStatus();
      }
      if (!record.value) {
        loaded.transactions.erase(*id);
        return absl::OkStatus();
      }
      auto txn = DecodeTxnValue(*record.value);
      if (!txn.ok()) {
        ++skipped;
        return absl::OkStatus();
      }
      txn->transactional_id = *id;
      loaded.transactions[*id] = std::move(*txn);
      return absl::OkStatus();
    });
  });
  if (!status.ok()) return status;
  if (skipped > 0) log::Warn("{}: skipped {} transaction records of unknown format", log.dir().string(), skipped);
  return loaded;
}

}  // namespace sluice::broker::txn
