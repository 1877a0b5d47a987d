#pragma once
// KIP-890 part 1: before a partition leader appends a producer's first transactional batch of a
// transaction to a partition, it asks the producer's transaction coordinator whether the
// partition was added to that transaction (AddPartitionsToTxn with VerifyOnly). A write that
// arrives after its transaction ended (a late retry) is refused instead of opening a
// transaction that no marker will ever close.

#include <cstdint>
#include <functional>
#include <string>

#include "protocol/kafka/error_codes.h"

namespace sluice::broker {

struct TxnPartitionCheck {
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  std::string topic;
  int32_t partition = -1;
};

class TransactionVerifier {
 public:
  virtual ~TransactionVerifier() = default;
  // `done` may run on any thread: kNone when the partition is part of the producer's ongoing
  // transaction at this epoch, otherwise the error the produce is answered with.
  virtual void Verify(TxnPartitionCheck check, std::function<void(kafka::ErrorCode)> done) = 0;
};

}  // namespace sluice::broker
