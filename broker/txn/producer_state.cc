#include "broker/txn/producer_state.h"

#include <limits>

namespace sluice::broker {
namespace {
// Sequences wrap from INT32_MAX to 0.
int32_t NextSequence(int32_t sequence) {
  return sequence == std::numeric_limits<int32_t>::max() ? 0 : sequence + 1;
}
}  // namespace

SequenceCheck ProducerStateTable::Check(int64_t producer_id, int16_t epoch, int32_t first_sequence,
                                        int32_t last_sequence) const {
  auto it = producers_.find(producer_id);
  // An unknown producer (new, or its state aged out with the log) may start at any sequence.
  if (it == producers_.end()) return {};
  const Producer& producer = it->second;
  if (epoch < producer.epoch) return {.error = kafka::ErrorCode::kInvalidProducerEpoch};
  if (epoch > producer.epoch) {
    if (first_sequence != 0) return {.error = kafka::ErrorCode::kOutOfOrderSequenceNumber};
    return {};
  }
  for (const auto& batch : producer.batches) {
    if (batch.first_sequence == first_sequence && batch.last_sequence == last_sequence) {
      return {.duplicate_of = &batch};
    }
  }
  if (!producer.batches.empty() && first_sequence != NextSequence(producer.batches.back().last_sequence)) {
    return {.error = kafka::ErrorCode::kOutOfOrderSequenceNumber};
  }
  return {};
}

void ProducerStateTable::Record(int64_t producer_id, int16_t epoch, const ProducerBatch& batch) {
  Producer& producer = producers_[producer_id];
  if (epoch != producer.epoch) {
    producer.epoch = epoch;
    producer.batches.clear();
  }
  producer.batches.push_back(batch);
  if (producer.batches.size() > kRetainedBatches) producer.batches.pop_front();
}

}  // namespace sluice::broker
