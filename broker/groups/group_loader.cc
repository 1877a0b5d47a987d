#include "broker/groups/group_loader.h"

#include "common/absl_compat.h"
#include "common/log.h"
#include "protocol/kafka/batch/control_record.h"
#include "protocol/kafka/batch/record_reader.h"

namespace sluice::broker::groups {

namespace {

// A transaction marker ends what the producer's transaction wrote to this partition. A control
// batch that is no marker ends nothing.
void ApplyMarker(const kafka::RecordBatchHeader& header, std::string_view batch, int32_t partition,
                 LoadedPartition& loaded) {
  auto marker = kafka::ParseTxnMarker(batch);
  if (!marker.ok()) return;
  GroupOffsets ended = loaded.pending.Take(header.producer_id, partition);
  if (!marker->commit()) return;
  for (auto& [group, offsets] : ended) {
    for (auto& [tp, offset] : offsets) loaded.groups[group].offsets[tp] = std::move(offset);
  }
}

}  // namespace

absl::StatusOr<LoadedPartition> LoadGroups(const storage::PartitionLog& log, int32_t partition) {
  LoadedPartition loaded;
  int64_t skipped = 0;
  absl::Status status = log.ForEachBatch(log.log_start_offset(), [&](const kafka::RecordBatchHeader& header,
                                                                      std::string_view batch) {
    if (header.is_control()) {
      ApplyMarker(header, batch, partition, loaded);
      return absl::OkStatus();
    }
    const bool transactional = header.is_transactional();
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
        if (!transactional) loaded.pending.Supersede(key->group_id, tp);
        if (!record.value) {
          if (auto group = loaded.groups.find(key->group_id); group != loaded.groups.end()) group->second.offsets.erase(tp);
          return absl::OkStatus();
        }
        auto offset = DecodeOffsetValue(*record.value);
        if (!offset.ok()) {
          ++skipped;
          return absl::OkStatus();
        }
        if (transactional) {
          loaded.pending.Add(header.producer_id, partition, key->group_id, {{tp, std::move(*offset)}});
        } else {
          loaded.groups[key->group_id].offsets[tp] = std::move(*offset);
        }
        return absl::OkStatus();
      }
      if (!record.value) {
        // Deleting a group also tombstones its offsets (written before this record).
        loaded.groups.erase(key->group_id);
        loaded.pending.DropGroup(key->group_id);
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
