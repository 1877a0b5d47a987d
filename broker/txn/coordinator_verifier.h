#pragma once
// The TransactionVerifier partition leaders use (KIP-890 part 1): asks the producer's
// transaction coordinator whether a partition is in its ongoing transaction. When this broker
// is that coordinator it looks directly; otherwise it sends AddPartitionsToTxn v4 VerifyOnly to
// the coordinator over the inter-broker listener. When the coordinator cannot be reached
// (unknown, moving, loading, connection lost) the answer is NOT_ENOUGH_REPLICAS, which the
// producer retries, as Kafka answers it.

#include "broker/txn/transaction_coordinator.h"
#include "broker/txn/transaction_verifier.h"

namespace sluice::broker::txn {

class CoordinatorVerifier : public TransactionVerifier {
 public:
  explicit CoordinatorVerifier(TransactionCoordinator& coordinator) : coordinator_(coordinator) {}
  void Verify(TxnPartitionCheck check, std::function<void(kafka::ErrorCode)> done) override;

 private:
  TransactionCoordinator& coordinator_;
};

}  // namespace sluice::broker::txn
