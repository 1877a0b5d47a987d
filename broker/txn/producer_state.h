#pragma once
// Producer state of one partition: for each producer id, its epoch and the last few batches'
// sequence ranges, so that a retried batch is answered with its original offset instead of
// being appended twice, and a gap in sequences is refused; and its transaction in this
// partition (KIP-98): the offset of its first transactional batch since its last marker. A
// marker ends it; an ABORT marker adds it to the aborted transactions read_committed consumers
// skip. Leader, followers and a reopened log feed the same batches through Apply, so all of
// them hold the same state for the same log.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/kafka/batch/control_record.h"
#include "protocol/kafka/batch/record_batch_header.h"
#include "protocol/kafka/error_codes.h"

namespace sluice::storage {
class PartitionLog;
}

namespace sluice::broker {

// The sequence of a batch's last record. Sequences wrap from INT32_MAX to 0, so the sum may not
// be taken in 32 bits.
int32_t LastSequence(int32_t base_sequence, int32_t last_offset_delta);

struct ProducerBatch {
  int32_t first_sequence = 0;
  int32_t last_sequence = 0;
  int64_t base_offset = 0;
  int64_t log_append_time_ms = -1;

  // The batch as the log holds it (its base offset assigned).
  static ProducerBatch From(const kafka::RecordBatchHeader& header, int64_t log_append_time_ms);
};

struct SequenceCheck {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  // Set when the batch is a retry of one already in the log: answer with this batch's result.
  const ProducerBatch* duplicate_of = nullptr;
};

// A transaction its ABORT marker ended: offsets [first_offset, last_offset], last_offset being
// the marker's.
struct AbortedTxn {
  int64_t producer_id = -1;
  int64_t first_offset = -1;
  int64_t last_offset = -1;
  bool operator==(const AbortedTxn&) const = default;
};

// One producer as DescribeProducers reports it.
struct ProducerSummary {
  int64_t producer_id = -1;
  int16_t epoch = -1;
  int32_t last_sequence = -1;
  int64_t last_timestamp = -1;
  int32_t coordinator_epoch = -1;  // from its last marker
  int64_t txn_start_offset = -1;   // its ongoing transaction's first offset
};

class ProducerStateTable {
 public:
  // Kafka keeps the last five batches per producer: the most a client has in flight.
  static constexpr size_t kRetainedBatches = 5;

  SequenceCheck Check(int64_t producer_id, int16_t epoch, int32_t first_sequence, int32_t last_sequence) const;
  // Records an appended batch's sequence range.
  void Record(int64_t producer_id, int16_t epoch, const ProducerBatch& batch);
  // Applies a batch as the log holds it (base offset assigned): its sequences, the transaction
  // a transactional batch opens, or, with `marker` (a control batch), the end of the producer's
  // transaction. `log_append_time_ms` is -1 unless the log stamped LogAppendTime.
  void Apply(const kafka::RecordBatchHeader& header, int64_t log_append_time_ms, const kafka::TxnMarker* marker);

  // Whether the leader may write a marker at these epochs: INVALID_PRODUCER_EPOCH for an older
  // producer epoch, TRANSACTION_COORDINATOR_FENCED for an older coordinator epoch than the
  // producer's last marker carried (Kafka's rules).
  kafka::ErrorCode CheckMarker(int64_t producer_id, int16_t epoch, int32_t coordinator_epoch) const;
  // The first offset of the producer's ongoing transaction here, or -1.
  int64_t OngoingTxnStart(int64_t producer_id) const;
  // The offset of the producer's last marker here, or -1: a verification is stale when a
  // marker was written while it was asked (Kafka's verification guard).
  int64_t LastMarkerOffset(int64_t producer_id) const;

  // The first offset no read_committed consumer may read yet: the earliest transaction that is
  // ongoing, or whose marker `high_watermark` does not cover yet (dropping those it covers);
  // nullopt when there is none.
  std::optional<int64_t> FirstUnstableOffset(int64_t high_watermark);
  // Aborted transactions that overlap [from, to): the ones a fetch returning those offsets
  // must report.
  std::vector<AbortedTxn> AbortedOverlapping(int64_t from, int64_t to) const;
  // Retention moved the log start: transactions that ended below it are gone with their data.
  void RemoveAbortedBelow(int64_t log_start_offset);

  // producer.id.expiration.ms: forgets producers without an ongoing transaction whose last
  // batch is older than `expiration_ms`, except those in `keep`; returns how many went. Their
  // next write starts afresh, as in Kafka.
  size_t ExpireIdle(int64_t now_ms, int64_t expiration_ms, const std::function<bool(int64_t)>& keep);

  std::vector<ProducerSummary> Summaries() const;
  const std::deque<AbortedTxn>& aborted() const { return aborted_; }
  size_t size() const { return producers_.size(); }

 private:
  struct Producer {
    int16_t epoch = -1;
    std::deque<ProducerBatch> batches;
    int64_t last_timestamp = -1;
    int32_t coordinator_epoch = -1;
    int64_t txn_first_offset = -1;
    int64_t last_marker_offset = -1;
  };
  std::unordered_map<int64_t, Producer> producers_;
  std::map<int64_t, int64_t> ongoing_;     // first offset -> producer id
  std::map<int64_t, int64_t> completing_;  // first offset -> marker offset, until committed
  std::deque<AbortedTxn> aborted_;          // in marker order, so by last offset
};

// Rebuilds a partition's table from the batch headers in its log (and the markers of its
// control batches), after opening or truncating it. Reads the disk: never on an I/O thread.
absl::StatusOr<ProducerStateTable> LoadProducerState(const storage::PartitionLog& log);
// Applies one batch of the log: `control_batch` is the whole batch when it is a control batch
// (its marker is read from it). kDataLoss for a malformed marker.
absl::Status ApplyLoggedBatch(ProducerStateTable& table, const kafka::RecordBatchHeader& header,
                              std::string_view control_batch);

}  // namespace sluice::broker
