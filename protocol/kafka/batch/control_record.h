#pragma once
// Transaction markers (KIP-98): a control batch holds one record whose key is
// int16 version (0) + int16 type (0 = ABORT, 1 = COMMIT) and whose value is
// int16 version (0) + int32 coordinator epoch.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sluice::kafka {

enum class ControlType : int16_t { kAbort = 0, kCommit = 1 };

struct TxnMarker {
  ControlType type = ControlType::kAbort;
  int32_t coordinator_epoch = -1;
  bool commit() const { return type == ControlType::kCommit; }
};

// The marker in the control batch `batch` (one complete batch). kDataLoss when the record is
// malformed; kUnimplemented for a control type other than ABORT and COMMIT (Kafka has others,
// e.g. KRaft's, that carry no transaction outcome).
absl::StatusOr<TxnMarker> ParseTxnMarker(std::string_view batch);

// A control batch (transactional, base offset 0, no leader epoch) holding `marker` for the
// producer, timestamped `timestamp_ms`.
absl::StatusOr<std::string> BuildTxnMarkerBatch(int64_t producer_id, int16_t producer_epoch, TxnMarker marker,
                                                int64_t timestamp_ms);

}  // namespace sluice::kafka
