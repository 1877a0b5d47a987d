#pragma once
// The records the group coordinator writes to __consumer_offsets. Our own format, versioned:
//
//   key   = int16 key version (0) | int8 kind | string group id | (offset kind) string topic, int32 partition
//   value = int16 value version (0) | fields below; a null value (tombstone) deletes the key
//
//   offset value v0: int64 offset, int32 leader epoch, nullable string metadata,
//                    int64 commit timestamp, int64 expire timestamp (-1: by retention policy)
//   group value v0:  string protocol type, int32 generation, nullable string protocol,
//                    nullable string leader, int64 state timestamp, int32 member count, then per
//                    member: string id, nullable string instance id, string client id,
//                    string client host, int32 session timeout, int32 rebalance timeout,
//                    bytes subscription (of the selected protocol), bytes assignment
//
// Strings use int16 lengths and bytes int32 lengths, big-endian (Kafka's classic encoding).
// A reader skips keys whose version it does not know, so newer formats can be added.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/groups/group.h"

namespace sluice::broker::groups {

enum class RecordKind : int8_t { kOffset = 0, kGroup = 1 };

struct RecordKey {
  RecordKind kind = RecordKind::kOffset;
  std::string group_id;
  std::string topic;      // offset keys only
  int32_t partition = 0;  // offset keys only
};

struct GroupSnapshot {
  std::string protocol_type;
  int32_t generation = 0;
  std::optional<std::string> protocol;
  std::optional<std::string> leader;
  int64_t state_timestamp_ms = 0;
  std::vector<Member> members;  // protocols hold the selected protocol only
};

std::string EncodeKey(const RecordKey& key);
std::string EncodeOffsetValue(const CommittedOffset& offset);
std::string EncodeGroupValue(const Group& group);

// kInvalidArgument for bytes that are not a record of a known version.
absl::StatusOr<RecordKey> DecodeKey(std::string_view bytes);
absl::StatusOr<CommittedOffset> DecodeOffsetValue(std::string_view bytes);
absl::StatusOr<GroupSnapshot> DecodeGroupValue(std::string_view bytes);

}  // namespace sluice::broker::groups
