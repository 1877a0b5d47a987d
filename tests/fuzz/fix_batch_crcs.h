#pragma once
// Recomputes the CRC of every complete batch framed in `batches`, up to the first that does not
// frame: lets a target's mutations get past the CRC check to the checks behind it.

#include <string>
#include <string_view>

#include "protocol/kafka/batch/byte_order.h"
#include "protocol/kafka/batch/record_batch_header.h"

namespace sluice::fuzz {

inline void FixBatchCrcs(std::string& batches) {
  for (size_t position = 0; position < batches.size();) {
    auto header = kafka::ParseBatchHeader(std::string_view(batches).substr(position));
    if (!header.ok() || header->total_size() > static_cast<int64_t>(batches.size() - position)) return;
    const auto size = static_cast<size_t>(header->total_size());
    char* batch = batches.data() + position;
    kafka::batch_internal::StoreBigEndian<uint32_t>(batch + kafka::batch_layout::kCrc, kafka::ComputeBatchCrc(batch, size));
    position += size;
  }
}

}  // namespace sluice::fuzz
