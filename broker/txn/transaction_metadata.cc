#include "broker/txn/transaction_metadata.h"

#include <algorithm>
#include <array>

namespace sluice::broker::txn {
namespace {

using kafka::ErrorCode;

constexpr std::array<std::pair<TxnState, std::string_view>, 8> kNames = {{
    {TxnState::kEmpty, "Empty"},
    {TxnState::kOngoing, "Ongoing"},
    {TxnState::kPrepareCommit, "PrepareCommit"},
    {TxnState::kPrepareAbort, "PrepareAbort"},
    {TxnState::kCompleteCommit, "CompleteCommit"},
    {TxnState::kCompleteAbort, "CompleteAbort"},
    {TxnState::kDead, "Dead"},
    {TxnState::kPrepareEpochFence, "PrepareEpochFence"},
}};

bool Complete(TxnState state) { return state == TxnState::kCompleteCommit || state == TxnState::kCompleteAbort; }

Transition Refuse(ErrorCode error) { return {.error = error, .next = std::nullopt}; }

}  // namespace

std::string_view StateName(TxnState state) {
  for (const auto& [s, name] : kNames) {
    if (s == state) return name;
  }
  return "Unknown";
}

std::optional<TxnState> StateFromName(std::string_view name) {
  for (const auto& [s, n] : kNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

std::optional<TxnState> StateFromCode(int8_t code) {
  if (code < 0 || code > static_cast<int8_t>(TxnState::kPrepareEpochFence)) return std::nullopt;
  return static_cast<TxnState>(code);
}

bool CanTransition(TxnState from, TxnState to) {
  switch (to) {
    case TxnState::kEmpty:
      return from == TxnState::kEmpty || Complete(from);
    case TxnState::kOngoing:
      return from == TxnState::kOngoing || from == TxnState::kEmpty || Complete(from);
    case TxnState::kPrepareCommit:
      return from == TxnState::kOngoing;
    case TxnState::kPrepareAbort:
      return from == TxnState::kOngoing || from == TxnState::kPrepareEpochFence;
    case TxnState::kCompleteCommit:
      return from == TxnState::kPrepareCommit;
    case TxnState::kCompleteAbort:
      return from == TxnState::kPrepareAbort;
    case TxnState::kDead:
      return from == TxnState::kEmpty || Complete(from);
    case TxnState::kPrepareEpochFence:
      return from == TxnState::kOngoing;
  }
  return false;
}

ErrorCode CheckProducer(const TransactionMetadata& txn, int64_t producer_id, int16_t producer_epoch) {
  if (txn.producer_id != producer_id) return ErrorCode::kInvalidProducerIdMapping;
  if (txn.producer_epoch != producer_epoch) return ErrorCode::kProducerFenced;
  if (txn.pending) return ErrorCode::kConcurrentTransactions;
  return ErrorCode::kNone;
}

ErrorCode CheckExpectedProducerId(const TransactionMetadata& txn, int64_t expected_producer_id) {
  if (txn.producer_epoch == kNoProducerEpoch || txn.producer_id == expected_producer_id) return ErrorCode::kNone;
  return ErrorCode::kProducerFenced;
}

Transition PrepareAddPartitions(const TransactionMetadata& txn, int64_t producer_id, int16_t producer_epoch,
                                const std::set<TopicPartition>& partitions, int64_t now_ms) {
  if (ErrorCode error = CheckProducer(txn, producer_id, producer_epoch); error != ErrorCode::kNone) return Refuse(error);
  if (!CanTransition(txn.state, TxnState::kOngoing)) return Refuse(ErrorCode::kConcurrentTransactions);
  if (txn.state == TxnState::kOngoing &&
      std::includes(txn.partitions.begin(), txn.partitions.end(), partitions.begin(), partitions.end())) {
    return {};
  }
  TransactionMetadata next = txn;
  if (txn.state != TxnState::kOngoing) {
    next.partitions.clear();
    next.start_ms = now_ms;
  }
  next.state = TxnState::kOngoing;
  next.partitions.insert(partitions.begin(), partitions.end());
  next.last_update_ms = now_ms;
  return {.error = ErrorCode::kNone, .next = std::move(next)};
}

Transition PrepareEnd(const TransactionMetadata& txn, int64_t producer_id, int16_t producer_epoch, bool commit,
                      int64_t now_ms) {
  if (ErrorCode error = CheckProducer(txn, producer_id, producer_epoch); error != ErrorCode::kNone) return Refuse(error);
  switch (txn.state) {
    case TxnState::kOngoing: {
      TransactionMetadata next = txn;
      next.state = commit ? TxnState::kPrepareCommit : TxnState::kPrepareAbort;
      next.last_update_ms = now_ms;
      return {.error = ErrorCode::kNone, .next = std::move(next)};
    }
    // A retry of an EndTxn whose answer was lost.
    case TxnState::kCompleteCommit:
      return Refuse(commit ? ErrorCode::kNone : ErrorCode::kInvalidTxnState);
    case TxnState::kCompleteAbort:
      return Refuse(commit ? ErrorCode::kInvalidTxnState : ErrorCode::kNone);
    case TxnState::kPrepareCommit:
      return Refuse(commit ? ErrorCode::kConcurrentTransactions : ErrorCode::kInvalidTxnState);
    case TxnState::kPrepareAbort:
      return Refuse(commit ? ErrorCode::kInvalidTxnState : ErrorCode::kConcurrentTransactions);
    case TxnState::kEmpty:
      return Refuse(ErrorCode::kInvalidTxnState);
    case TxnState::kDead:
    case TxnState::kPrepareEpochFence:
      break;
  }
  return Refuse(ErrorCode::kConcurrentTransactions);
}

Transition PrepareEpochBump(const TransactionMetadata& txn, int32_t timeout_ms, std::optional<int16_t> expected_epoch,
                            int64_t now_ms) {
  if (txn.pending || !CanTransition(txn.state, TxnState::kEmpty)) return Refuse(ErrorCode::kConcurrentTransactions);
  TransactionMetadata next = txn;
  if (!expected_epoch) {
    next.producer_epoch = static_cast<int16_t>(txn.producer_epoch + 1);
    next.last_producer_epoch = kNoProducerEpoch;
  } else if (txn.producer_epoch == kNoProducerEpoch || *expected_epoch == txn.producer_epoch) {
    next.producer_epoch = static_cast<int16_t>(txn.producer_epoch + 1);
    next.last_producer_epoch = txn.producer_epoch;
  } else if (*expected_epoch != txn.last_producer_epoch || txn.last_producer_epoch == kNoProducerEpoch) {
    return Refuse(ErrorCode::kProducerFenced);
  }
  // else: a retry of the bump that made the current epoch; it gets the same answer.
  next.state = TxnState::kEmpty;
  next.timeout_ms = timeout_ms;
  next.partitions.clear();
  next.start_ms = -1;
  next.last_update_ms = now_ms;
  return {.error = ErrorCode::kNone, .next = std::move(next)};
}

TransactionMetadata PrepareNewProducerId(const TransactionMetadata& txn, int64_t producer_id, int32_t timeout_ms,
                                         int64_t now_ms) {
  TransactionMetadata next = txn;
  next.producer_id = producer_id;
  next.producer_epoch = 0;
  next.last_producer_epoch = kNoProducerEpoch;
  next.timeout_ms = timeout_ms;
  next.state = TxnState::kEmpty;
  next.partitions.clear();
  next.start_ms = -1;
  next.last_update_ms = now_ms;
  next.pending.reset();
  return next;
}

TransactionMetadata PrepareFenceAndAbort(const TransactionMetadata& txn, int64_t now_ms) {
  TransactionMetadata next = txn;
  // An exhausted epoch is not bumped: the abort still fences nothing newer, and the next
  // InitProducerId moves to a new producer id.
  if (!txn.epoch_exhausted()) next.producer_epoch = static_cast<int16_t>(txn.producer_epoch + 1);
  next.last_producer_epoch = kNoProducerEpoch;
  next.state = TxnState::kPrepareAbort;
  next.last_update_ms = now_ms;
  return next;
}

TransactionMetadata PrepareComplete(const TransactionMetadata& txn, int64_t now_ms) {
  TransactionMetadata next = txn;
  next.state = txn.state == TxnState::kPrepareCommit ? TxnState::kCompleteCommit : TxnState::kCompleteAbort;
  next.partitions.clear();
  next.last_update_ms = now_ms;
  return next;
}

}  // namespace sluice::broker::txn
