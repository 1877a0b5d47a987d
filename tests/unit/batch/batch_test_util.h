#pragma once
// Small helpers shared by the record batch tests.

#include <string>

#include "protocol/kafka/batch/record_batch_builder.h"

namespace sluice::kafka::testing {

inline std::string MakeBatch(int records, Compression compression = Compression::kNone, int64_t timestamp = 1000,
                             size_t value_size = 10) {
  RecordBatchBuilder builder(RecordBatchBuilder::Options{.compression = compression});
  for (int i = 0; i < records; ++i) {
    std::string value(value_size, static_cast<char>('a' + i % 26));
    builder.Add("key" + std::to_string(i), value, timestamp + i);
  }
  return builder.Build().value();
}

}  // namespace sluice::kafka::testing
