#include "protocol/kafka/batch/control_record.h"

#include <optional>

#include "protocol/kafka/batch/record_batch_builder.h"
#include "protocol/kafka/batch/record_reader.h"

namespace sluice::kafka {
namespace {

int16_t ReadInt16(std::string_view bytes, size_t at) {
  return static_cast<int16_t>((static_cast<uint8_t>(bytes[at]) << 8) | static_cast<uint8_t>(bytes[at + 1]));
}

int32_t ReadInt32(std::string_view bytes, size_t at) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[at + i]);
  return static_cast<int32_t>(value);
}

void WriteInt16(std::string& out, int16_t value) {
  out.push_back(static_cast<char>((static_cast<uint16_t>(value) >> 8) & 0xff));
  out.push_back(static_cast<char>(static_cast<uint16_t>(value) & 0xff));
}

}  // namespace

absl::StatusOr<TxnMarker> ParseTxnMarker(std::string_view batch) {
  std::optional<TxnMarker> marker;
  absl::Status status = ForEachRecord(batch, [&](const RecordView& record) -> absl::Status {
    if (marker) return absl::OkStatus();  // Kafka reads the first record only
    if (!record.key || record.key->size() < 4) return absl::DataLossError("control record key too short");
    const int16_t type = ReadInt16(*record.key, 2);
    if (type != static_cast<int16_t>(ControlType::kAbort) && type != static_cast<int16_t>(ControlType::kCommit)) {
      return absl::UnimplementedError("control record is not a transaction marker");
    }
    // Version 0 values carry the coordinator epoch after the version; later versions extend it.
    if (!record.value || record.value->size() < 6) return absl::DataLossError("transaction marker value too short");
    marker = TxnMarker{.type = static_cast<ControlType>(type), .coordinator_epoch = ReadInt32(*record.value, 2)};
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!marker) return absl::DataLossError("control batch without a record");
  return *marker;
}

absl::StatusOr<std::string> BuildTxnMarkerBatch(int64_t producer_id, int16_t producer_epoch, TxnMarker marker,
                                                int64_t timestamp_ms) {
  std::string key;
  WriteInt16(key, 0);
  WriteInt16(key, static_cast<int16_t>(marker.type));
  std::string value;
  WriteInt16(value, 0);
  WriteInt16(value, static_cast<int16_t>((static_cast<uint32_t>(marker.coordinator_epoch) >> 16) & 0xffff));
  WriteInt16(value, static_cast<int16_t>(static_cast<uint32_t>(marker.coordinator_epoch) & 0xffff));
  RecordBatchBuilder builder({.producer_id = producer_id,
                              .producer_epoch = producer_epoch,
                              .transactional = true,
                              .control = true});
  builder.Add(key, value, timestamp_ms);
  return builder.Build();
}

}  // namespace sluice::kafka
