#include "broker/txn/transaction_records.h"

#include <map>
#include <vector>

#include "protocol/kafka/wire.h"

namespace sluice::broker::txn {
namespace {

constexpr int16_t kKeyVersion = 0;
constexpr int16_t kValueVersion = 0;
constexpr bool kClassic = false;  // int16 string lengths, int32 array counts

absl::Status Finish(const kafka::Reader& reader, std::string_view what) {
  if (!reader.ok()) return absl::InvalidArgumentError(std::string(what) + ": " + reader.status().ToString());
  if (reader.remaining() != 0) return absl::InvalidArgumentError(std::string(what) + ": trailing bytes");
  return absl::OkStatus();
}

}  // namespace

std::string EncodeTxnKey(std::string_view transactional_id) {
  kafka::OutboundMessage out;
  kafka::Writer writer(out);
  writer.WriteInt16(kKeyVersion);
  writer.WriteString(transactional_id, kClassic);
  return std::move(out.bytes);
}

std::string EncodeTxnValue(const TransactionMetadata& txn) {
  std::map<std::string, std::vector<int32_t>> by_topic;
  for (const auto& [topic, partition] : txn.partitions) by_topic[topic].push_back(partition);
  kafka::OutboundMessage out;
  kafka::Writer writer(out);
  writer.WriteInt16(kValueVersion);
  writer.WriteInt64(txn.producer_id);
  writer.WriteInt16(txn.producer_epoch);
  writer.WriteInt32(txn.timeout_ms);
  writer.WriteInt8(static_cast<int8_t>(txn.state));
  writer.WriteArrayLength(by_topic.size(), kClassic);
  for (const auto& [topic, partitions] : by_topic) {
    writer.WriteString(topic, kClassic);
    writer.WriteArrayLength(partitions.size(), kClassic);
    for (int32_t p : partitions) writer.WriteInt32(p);
  }
  writer.WriteInt64(txn.last_update_ms);
  writer.WriteInt64(txn.start_ms);
  return std::move(out.bytes);
}

absl::StatusOr<std::string> DecodeTxnKey(std::string_view bytes) {
  kafka::Reader reader(bytes);
  const int16_t version = reader.ReadInt16();
  if (reader.ok() && version != kKeyVersion) {
    return absl::InvalidArgumentError("transaction key: unknown version " + std::to_string(version));
  }
  std::string id = reader.ReadString(kClassic);
  if (absl::Status status = Finish(reader, "transaction key"); !status.ok()) return status;
  return id;
}

absl::StatusOr<TransactionMetadata> DecodeTxnValue(std::string_view bytes) {
  kafka::Reader reader(bytes);
  const int16_t version = reader.ReadInt16();
  if (reader.ok() && version != kValueVersion) {
    return absl::InvalidArgumentError("transaction value: unknown version " + std::to_string(version));
  }
  TransactionMetadata txn;
  txn.producer_id = reader.ReadInt64();
  txn.producer_epoch = reader.ReadInt16();
  txn.timeout_ms = reader.ReadInt32();
  const int8_t status = reader.ReadInt8();
  const int32_t topics = reader.ReadArrayLength(kClassic);
  for (int32_t t = 0; t < topics && reader.ok(); ++t) {
    std::string topic = reader.ReadString(kClassic);
    const int32_t partitions = reader.ReadArrayLength(kClassic);
    for (int32_t p = 0; p < partitions && reader.ok(); ++p) txn.partitions.emplace(topic, reader.ReadInt32());
  }
  txn.last_update_ms = reader.ReadInt64();
  txn.start_ms = reader.ReadInt64();
  if (absl::Status finished = Finish(reader, "transaction value"); !finished.ok()) return finished;
  const std::optional<TxnState> state = StateFromCode(status);
  if (!state) return absl::InvalidArgumentError("transaction value: unknown status " + std::to_string(status));
  txn.state = *state;
  return txn;
}

}  // namespace sluice::broker::txn
