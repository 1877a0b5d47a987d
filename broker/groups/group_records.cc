#include "broker/groups/group_records.h"

#include "protocol/kafka/wire.h"

namespace sluice::broker::groups {
namespace {

constexpr int16_t kKeyVersion = 0;
constexpr int16_t kValueVersion = 0;
constexpr bool kClassic = false;  // int16 string / int32 bytes lengths

absl::Status Finish(const kafka::Reader& reader, std::string_view what) {
  if (!reader.ok()) return absl::InvalidArgumentError(std::string(what) + ": " + reader.status().ToString());
  if (reader.remaining() != 0) return absl::InvalidArgumentError(std::string(what) + ": trailing bytes");
  return absl::OkStatus();
}

absl::Status CheckValueVersion(kafka::Reader& reader, std::string_view what) {
  const int16_t version = reader.ReadInt16();
  if (reader.ok() && version != kValueVersion) {
    return absl::InvalidArgumentError(std::string(what) + ": unknown value version " + std::to_string(version));
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeKey(const RecordKey& key) {
  kafka::OutboundMessage out;
  kafka::Writer writer(out);
  writer.WriteInt16(kKeyVersion);
  writer.WriteInt8(static_cast<int8_t>(key.kind));
  writer.WriteString(key.group_id, kClassic);
  if (key.kind == RecordKind::kOffset) {
    writer.WriteString(key.topic, kClassic);
    writer.WriteInt32(key.partition);
  }
  return std::move(out.bytes);
}

std::string EncodeOffsetValue(const CommittedOffset& offset) {
  kafka::OutboundMessage out;
  kafka::Writer writer(out);
  writer.WriteInt16(kValueVersion);
  writer.WriteInt64(offset.offset);
  writer.WriteInt32(offset.leader_epoch);
  writer.WriteNullableString(offset.metadata, kClassic);
  writer.WriteInt64(offset.commit_timestamp_ms);
  writer.WriteInt64(offset.expire_timestamp_ms);
  return std::move(out.bytes);
}

std::string EncodeGroupValue(const Group& group) {
  kafka::OutboundMessage out;
  kafka::Writer writer(out);
  writer.WriteInt16(kValueVersion);
  writer.WriteString(group.protocol_type(), kClassic);
  writer.WriteInt32(group.generation());
  writer.WriteNullableString(group.protocol(), kClassic);
  writer.WriteNullableString(group.leader().empty() ? std::nullopt : std::optional<std::string>(group.leader()),
                             kClassic);
  writer.WriteInt64(group.state_timestamp_ms());
  writer.WriteInt32(static_cast<int32_t>(group.members().size()));
  for (const auto& [id, member] : group.members()) {
    writer.WriteString(id, kClassic);
    writer.WriteNullableString(member.instance_id, kClassic);
    writer.WriteString(member.client_id, kClassic);
    writer.WriteString(member.client_host, kClassic);
    writer.WriteInt32(member.session_timeout_ms);
    writer.WriteInt32(member.rebalance_timeout_ms);
    const std::string* subscription = group.protocol() ? member.MetadataFor(*group.protocol()) : nullptr;
    writer.WriteBytes(subscription ? *subscription : std::string_view(), kClassic);
    writer.WriteBytes(member.assignment, kClassic);
  }
  return std::move(out.bytes);
}

absl::StatusOr<RecordKey> DecodeKey(std::string_view bytes) {
  kafka::Reader reader(bytes);
  const int16_t version = reader.ReadInt16();
  if (reader.ok() && version != kKeyVersion) {
    return absl::InvalidArgumentError("group record key: unknown version " + std::to_string(version));
  }
  RecordKey key;
  const int8_t kind = reader.ReadInt8();
  if (reader.ok() && kind != static_cast<int8_t>(RecordKind::kOffset) && kind != static_cast<int8_t>(RecordKind::kGroup)) {
    return absl::InvalidArgumentError("group record key: unknown kind " + std::to_string(kind));
  }
  key.kind = static_cast<RecordKind>(kind);
  key.group_id = reader.ReadString(kClassic);
  if (key.kind == RecordKind::kOffset) {
    key.topic = reader.ReadString(kClassic);
    key.partition = reader.ReadInt32();
  }
  if (absl::Status status = Finish(reader, "group record key"); !status.ok()) return status;
  return key;
}

absl::StatusOr<CommittedOffset> DecodeOffsetValue(std::string_view bytes) {
  kafka::Reader reader(bytes);
  if (absl::Status status = CheckValueVersion(reader, "offset value"); !status.ok()) return status;
  CommittedOffset offset;
  offset.offset = reader.ReadInt64();
  offset.leader_epoch = reader.ReadInt32();
  offset.metadata = reader.ReadNullableString(kClassic);
  offset.commit_timestamp_ms = reader.ReadInt64();
  offset.expire_timestamp_ms = reader.ReadInt64();
  if (absl::Status status = Finish(reader, "offset value"); !status.ok()) return status;
  return offset;
}

absl::StatusOr<GroupSnapshot> DecodeGroupValue(std::string_view bytes) {
  kafka::Reader reader(bytes);
  if (absl::Status status = CheckValueVersion(reader, "group value"); !status.ok()) return status;
  GroupSnapshot group;
  group.protocol_type = reader.ReadString(kClassic);
  group.generation = reader.ReadInt32();
  group.protocol = reader.ReadNullableString(kClassic);
  group.leader = reader.ReadNullableString(kClassic);
  group.state_timestamp_ms = reader.ReadInt64();
  const int32_t count = reader.ReadInt32();
  // Each member takes at least 20 bytes: a count beyond that is corrupt, not a reason to allocate.
  if (count < 0 || static_cast<size_t>(count) > reader.remaining() / 20) {
    return absl::InvalidArgumentError("group value: bad member count");
  }
  for (int32_t i = 0; i < count && reader.ok(); ++i) {
    Member member;
    member.member_id = reader.ReadString(kClassic);
    member.instance_id = reader.ReadNullableString(kClassic);
    member.client_id = reader.ReadString(kClassic);
    member.client_host = reader.ReadString(kClassic);
    member.session_timeout_ms = reader.ReadInt32();
    member.rebalance_timeout_ms = reader.ReadInt32();
    std::string subscription = reader.ReadBytes(kClassic);
    member.assignment = reader.ReadBytes(kClassic);
    if (group.protocol) member.protocols.push_back({*group.protocol, std::move(subscription)});
    group.members.push_back(std::move(member));
  }
  if (absl::Status status = Finish(reader, "group value"); !status.ok()) return status;
  return group;
}

}  // namespace sluice::broker::groups
