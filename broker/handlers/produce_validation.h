#pragma once
// The checks a produce request's record batches pass on the connection's shard, before their
// partition's owner appends them: framing, CRC32C and size (the expensive part, so it runs
// where the request was read), then the rules of the partition's topic.

#include <string>
#include <string_view>
#include <vector>

#include "broker/cluster/partition.h"
#include "protocol/kafka/batch/record_batch_header.h"
#include "protocol/kafka/error_codes.h"

namespace sluice::broker {

// A record that made its batch fail (KIP-467): its index within the batch, and why.
struct RecordError {
  int32_t batch_index = 0;
  std::string message;
};

struct ValidatedBatches {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  std::string message;
  std::vector<RecordError> record_errors;  // the records to blame, when the error is theirs
  kafka::RecordBatchHeader first;          // set when error is kNone
};

ValidatedBatches ValidateProduceBatches(std::string_view batches, const Partition& partition);

}  // namespace sluice::broker
