#include "broker/groups/group_loader.h"

#include "common/absl_compat.h"
#include "common/log.h"
#include "protocol/kafka/batch/record_reader.h"

namespace sluice::broker::groups {

absl::StatusOr<LoadedPartition> LoadGroups(const storage::PartitionLog& log) {
  LoadedPartition loaded;
  int64_t skipped = 0;
  absl::Status status = log.ForEachBatch(log.log_start_offset(), [&](const kafka::RecordBatchHeader& header,
                                                                      std::string_view batch) {
    if (header.is_control()) return absl::OkStatus();
    return kafka::ForEachRecord(batch, [&](const kafka::RecordView& record) {
      ++loaded.records;
      if (!record.key) return absl::OkStatus();
      auto key = DecodeKey(*record.key);
      if (!key.ok()) {
        ++skipped;
        return absl::OkStatus();
      }
      if (key->kind == RecordKind::kOffset) {
        const TopicPartition tp(key->topic, key->partition);
        if (!record.value) {
          if (auto group = loaded.groups.find(key->group_id); group != loaded.groups.end()) group->second.offsets.erase(tp);
          return absl::OkStatus();
        }
        auto offset = DecodeOffsetValue(*record.value);
        if (!offset.ok()) {
          ++skipped;
          return absl::OkStatus();
        }
        loaded.groups[key->group_id].offsets[tp] = std::move(*offset);
        return absl::OkStatus();
      }
      if (!record.value) {
        // Deleting a group also tombstones its offsets (written before this record).
        loaded.groups.erase(key->group_id);
        return absl::OkStatus();
      }
      auto group = DecodeGroupValue(*record.value);
      if (!group.ok()) {
        ++skipped;
        return absl::OkStatus();
      }
      loaded.groups[key->group_id].metadata = std::move(*group);
      return absl::OkStatus();
    });
  });
  if (!status.ok()) return status;
  if (skipped > 0) log::Warn("{}: skipped {} group records of unknown format", log.dir().string(), skipped);
  return loaded;
}

}  // namespace sluice::broker::groups
