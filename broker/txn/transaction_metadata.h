#pragma once
// One transactional id's state at its coordinator, and the state machine it moves through
// (KIP-98):
//
//   Empty ──add──▶ Ongoing ──end──▶ PrepareCommit ──markers written──▶ CompleteCommit
//     ▲              │    └──end/fence/timeout──▶ PrepareAbort ──markers──▶ CompleteAbort
//     │              └─(add more partitions: stays Ongoing)
//     └── InitProducerId from Empty / Complete*; Complete* ──add──▶ Ongoing; Empty/Complete* ──expiry──▶ Dead
//
// Every transition is first written to __transaction_state; while that write is in flight the
// metadata carries it as `pending` and other requests for the id get CONCURRENT_TRANSACTIONS.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/kafka/error_codes.h"

namespace sluice::broker::txn {

// The values are TransactionLogValue's TransactionStatus codes.
enum class TxnState : int8_t {
  kEmpty = 0,
  kOngoing = 1,
  kPrepareCommit = 2,
  kPrepareAbort = 3,
  kCompleteCommit = 4,
  kCompleteAbort = 5,
  kDead = 6,
  kPrepareEpochFence = 7,
};

// Kafka's names, as DescribeTransactions and ListTransactions report them.
std::string_view StateName(TxnState state);
std::optional<TxnState> StateFromName(std::string_view name);
std::optional<TxnState> StateFromCode(int8_t code);
// Whether `to` may follow `from`.
bool CanTransition(TxnState from, TxnState to);

using TopicPartition = std::pair<std::string, int32_t>;

inline constexpr int16_t kNoProducerEpoch = -1;
inline constexpr int64_t kNoProducerId = -1;
// An epoch this high cannot be bumped again: the next InitProducerId gets a new producer id.
inline constexpr int16_t kMaxProducerEpoch = INT16_MAX - 1;

struct TransactionMetadata {
  std::string transactional_id;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  // The epoch before the last KIP-360 bump, so a producer retrying that bump gets the same
  // answer instead of being fenced (not persisted, as in Kafka).
  int16_t last_producer_epoch = kNoProducerEpoch;
  int32_t timeout_ms = 60000;
  TxnState state = TxnState::kEmpty;
  std::set<TopicPartition> partitions;
  int64_t start_ms = -1;  // when the first partition joined the ongoing transaction
  int64_t last_update_ms = 0;
  std::optional<TxnState> pending;  // a transition being written

  bool epoch_exhausted() const { return producer_epoch >= kMaxProducerEpoch; }
  bool completing() const { return state == TxnState::kPrepareCommit || state == TxnState::kPrepareAbort; }
};

// The checks that every request naming (producer id, epoch) makes first: NONE,
// INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED or CONCURRENT_TRANSACTIONS.
kafka::ErrorCode CheckProducer(const TransactionMetadata& txn, int64_t producer_id, int16_t producer_epoch);

// InitProducerId with a KIP-360 producer id: PRODUCER_FENCED unless it is the id's current
// producer id (or the id has no epoch yet).
kafka::ErrorCode CheckExpectedProducerId(const TransactionMetadata& txn, int64_t expected_producer_id);

// What a request does to a transaction: refused with `error`, or accepted, moving it to `next`
// (nullopt: nothing to write, e.g. the partitions are already in the transaction).
struct Transition {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  std::optional<TransactionMetadata> next;
};

// AddPartitionsToTxn / AddOffsetsToTxn: Ongoing with the partitions added.
Transition PrepareAddPartitions(const TransactionMetadata& txn, int64_t producer_id, int16_t producer_epoch,
                                const std::set<TopicPartition>& partitions, int64_t now_ms);

// EndTxn from a client: PrepareCommit/PrepareAbort; no transition (NONE) when the transaction
// already completed in that direction.
Transition PrepareEnd(const TransactionMetadata& txn, int64_t producer_id, int16_t producer_epoch, bool commit,
                      int64_t now_ms);

// InitProducerId for an existing id in Empty/Complete*: Empty at the next epoch.
// `expected_epoch` is the KIP-360 epoch the producer sent (nullopt without one). The caller
// handles an exhausted epoch (a new producer id) and an ongoing transaction (fence first).
Transition PrepareEpochBump(const TransactionMetadata& txn, int32_t timeout_ms, std::optional<int16_t> expected_epoch,
                            int64_t now_ms);

// Empty at epoch 0 of `producer_id`: a new transactional id, or one whose epochs ran out.
TransactionMetadata PrepareNewProducerId(const TransactionMetadata& txn, int64_t producer_id, int32_t timeout_ms,
                                         int64_t now_ms);

// Fencing an ongoing transaction (a new producer's InitProducerId, or its timeout):
// PrepareAbort at the next epoch, so the old producer's requests are refused from now on.
TransactionMetadata PrepareFenceAndAbort(const TransactionMetadata& txn, int64_t now_ms);

// CompleteCommit/CompleteAbort once every marker of a Prepare* transaction is written.
TransactionMetadata PrepareComplete(const TransactionMetadata& txn, int64_t now_ms);

}  // namespace sluice::broker::txn
