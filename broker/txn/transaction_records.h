#pragma once
// The records of __transaction_state, in Kafka's layouts (so Kafka's tools can read our topic):
//
//   key   TransactionLogKey v0   = int16 version 0 | string transactional id
//   value TransactionLogValue v0 = int16 version 0 | int64 producer id | int16 producer epoch |
//         int32 transaction timeout ms | int8 status (TxnState) | array of (string topic,
//         array of int32 partition) | int64 last update ms | int64 start ms
//
// Strings use int16 lengths and arrays int32 counts, big-endian. A null value (tombstone)
// removes an expired transactional id. Keys and values of other versions are refused, so a
// reader can skip what a newer broker wrote.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/txn/transaction_metadata.h"

namespace sluice::broker::txn {

inline constexpr char kTransactionStateTopic[] = "__transaction_state";

std::string EncodeTxnKey(std::string_view transactional_id);
std::string EncodeTxnValue(const TransactionMetadata& txn);

// kInvalidArgument for bytes that are not a record of a known version.
absl::StatusOr<std::string> DecodeTxnKey(std::string_view bytes);
// The metadata without its transactional id (that is in the key).
absl::StatusOr<TransactionMetadata> DecodeTxnValue(std::string_view bytes);

}  // namespace sluice::broker::txn
