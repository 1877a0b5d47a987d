#pragma once
// Which __consumer_offsets partition coordinates a group. Kafka clients and tools compute the
// same thing (Java's String.hashCode of the group id, made non-negative, modulo the partition
// count), so the arithmetic follows Java exactly: UTF-16 code units, 32-bit wrap-around.

#include <cstdint>
#include <string_view>

namespace sluice::broker::groups {

inline constexpr char kOffsetsTopic[] = "__consumer_offsets";

// Java's String.hashCode of the string whose UTF-8 encoding is `utf8`. Each malformed byte
// counts as one U+FFFD (clients send valid UTF-8; this only keeps bad input harmless).
int32_t JavaStringHash(std::string_view utf8);

// Kafka's Utils.abs(hash) % partitions (Integer.MIN_VALUE maps to 0).
int32_t OffsetsPartitionFor(std::string_view group_id, int32_t partitions);

}  // namespace sluice::broker::groups
