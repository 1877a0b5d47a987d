#include "protocol/kafka/batch/control_record.h"

#include "protocol/kafka/batch/byte_order.h"

namespace sluice::kafka {

using batch_internal::LoadBigEndian;
using batch_internal::StoreBigEndian;

std::string EncodeControlKey(ControlType type) {
  std::string key(4, '\0');
  StoreBigEndian<int16_t>(key.data(), 0);
  StoreBigEndian<int16_t>(key.data() + 2, static_cast<int16_t>(type));
  return key;
}

std::string EncodeControlValue(int32_t coordinator_epoch) {
  std::string value(6, '\0');
  StoreBigEndian<int16_t>(value.data(), 0);
  StoreBigEndian<int32_t>(value.data() + 2, coordinator_epoch);
  return value;
}

std::optional<ControlType> DecodeControlKey(std::string_view key) {
  if (key.size() < 4 || LoadBigEndian<int16_t>(key.data()) != 0) return std::nullopt;
  const auto type = LoadBigEndian<int16_t>(key.data() + 2);
  if (type != static_cast<int16_t>(ControlType::kAbort) && type != static_cast<int16_t>(ControlType::kCommit)) {
    return std::nullopt;
  }
  return static_cast<ControlType>(type);
}

std::optional<int32_t> DecodeControlValue(std::string_view value) {
  if (value.size() < 6 || LoadBigEndian<int16_t>(value.data()) != 0) return std::nullopt;
  return LoadBigEndian<int32_t>(value.data() + 2);
}

}  // namespace sluice::kafka
