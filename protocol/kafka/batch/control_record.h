#pragma once
// The one record of a control batch (a transaction marker): key = int16 version (0) | int16
// type, value = int16 version (0) | int32 coordinator epoch, big-endian.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::kafka {

enum class ControlType : int16_t { kAbort = 0, kCommit = 1 };

std::string EncodeControlKey(ControlType type);
std::string EncodeControlValue(int32_t coordinator_epoch);
// nullopt for a key too short or of another version or type (Kafka's readers skip those).
std::optional<ControlType> DecodeControlKey(std::string_view key);
// The coordinator epoch, or nullopt for a malformed value.
std::optional<int32_t> DecodeControlValue(std::string_view value);

}  // namespace sluice::kafka
