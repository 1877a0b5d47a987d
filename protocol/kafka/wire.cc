#include "protocol/kafka/wire.h"

#include <bit>
#include <cstring>
#include <limits>

#include <fmt/format.h>

namespace sluice::kafka {

void Reader::Fail(std::string_view what) {
  if (!status_.ok()) return;
  status_ = absl::InvalidArgumentError(fmt::format("malformed Kafka message at byte {}: {}", position_, what));
  position_ = data_.size();
}

void Reader::Absorb(const Reader& nested) {
  if (status_.ok() && !nested.ok()) status_ = nested.status_;
}

template <class T>
T Reader::ReadBigEndian() {
  if (!ok()) return T{};
  if (remaining() < sizeof(T)) {
    Fail(fmt::format("needs {} bytes, {} left", sizeof(T), remaining()));
    return T{};
  }
  using Unsigned = std::make_unsigned_t<T>;
  Unsigned value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    value = static_cast<Unsigned>((value << 8) | static_cast<uint8_t>(data_[position_ + i]));
  }
  position_ += sizeof(T);
  return static_cast<T>(value);
}

int8_t Reader::ReadInt8() { return ReadBigEndian<int8_t>(); }
int16_t Reader::ReadInt16() { return ReadBigEndian<int16_t>(); }
int32_t Reader::ReadInt32() { return ReadBigEndian<int32_t>(); }
int64_t Reader::ReadInt64() { return ReadBigEndian<int64_t>(); }
uint16_t Reader::ReadUint16() { return ReadBigEndian<uint16_t>(); }
uint32_t Reader::ReadUint32() { return ReadBigEndian<uint32_t>(); }
double Reader::ReadFloat64() { return std::bit_cast<double>(ReadBigEndian<uint64_t>()); }

Uuid Reader::ReadUuid() {
  Uuid uuid;
  std::string_view raw = ReadRaw(uuid.bytes.size());
  if (raw.size() == uuid.bytes.size()) std::memcpy(uuid.bytes.data(), raw.data(), raw.size());
  return uuid;
}

uint64_t Reader::ReadUnsignedVarlong() {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (!ok()) return 0;
    if (remaining() == 0) {
      Fail("truncated varint");
      return 0;
    }
    const uint8_t byte = static_cast<uint8_t>(data_[position_++]);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  Fail("varint longer than 10 bytes");
  return 0;
}

uint32_t Reader::ReadUnsignedVarint() {
  const size_t start = position_;
  const uint64_t value = ReadUnsignedVarlong();
  if (ok() && (position_ - start > 5 || value > std::numeric_limits<uint32_t>::max())) {
    Fail("unsigned varint exceeds 32 bits");
    return 0;
  }
  return static_cast<uint32_t>(value);
}

int32_t Reader::ReadVarint() {
  const uint32_t raw = ReadUnsignedVarint();
  return static_cast<int32_t>((raw >> 1) ^ (~(raw & 1) + 1));
}

int64_t Reader::ReadVarlong() {
  const uint64_t raw = ReadUnsignedVarlong();
  return static_cast<int64_t>((raw >> 1) ^ (~(raw & 1) + 1));
}

std::string_view Reader::ReadRaw(size_t size) {
  if (!ok()) return {};
  if (size > remaining()) {
    Fail(fmt::format("length {} exceeds the {} bytes left", size, remaining()));
    return {};
  }
  std::string_view out = data_.substr(position_, size);
  position_ += size;
  return out;
}

int64_t Reader::ReadLength(bool compact, bool int16_prefix) {
  int64_t length;
  if (compact) {
    length = static_cast<int64_t>(ReadUnsignedVarint()) - 1;
  } else {
    length = int16_prefix ? ReadInt16() : ReadInt32();
  }
  if (!ok()) return 0;
  if (length < -1) {
    Fail(fmt::format("negative length {}", length));
    return 0;
  }
  if (length > static_cast<int64_t>(remaining())) {
    Fail(fmt::format("length {} exceeds the {} bytes left", length, remaining()));
    return 0;
  }
  return length;
}

std::optional<std::string> Reader::ReadNullableString(bool compact) {
  const int64_t length = ReadLength(compact, /*int16_prefix=*/true);
  if (length < 0) return std::nullopt;
  return std::string(ReadRaw(static_cast<size_t>(length)));
}

std::string Reader::ReadString(bool compact) {
  std::optional<std::string> value = ReadNullableString(compact);
  if (!value) {
    Fail("null string in a non-nullable field");
    return {};
  }
  return std::move(*value);
}

std::optional<std::string> Reader::ReadNullableBytes(bool compact) {
  const int64_t length = ReadLength(compact, /*int16_prefix=*/false);
  if (length < 0) return std::nullopt;
  return std::string(ReadRaw(static_cast<size_t>(length)));
}

std::string Reader::ReadBytes(bool compact) {
  std::optional<std::string> value = ReadNullableBytes(compact);
  if (!value) {
    Fail("null bytes in a non-nullable field");
    return {};
  }
  return std::move(*value);
}

Records Reader::ReadRecords(bool compact) {
  const int64_t length = ReadLength(compact, /*int16_prefix=*/false);
  if (length < 0 || !ok()) return Records::Null();
  return Records::Borrow(ReadRaw(static_cast<size_t>(length)));
}

int32_t Reader::ReadArrayLength(bool compact) {
  int64_t count = compact ? static_cast<int64_t>(ReadUnsignedVarint()) - 1 : ReadInt32();
  if (!ok()) return 0;
  if (count < -1) {
    Fail(fmt::format("negative array length {}", count));
    return 0;
  }
  if (count > static_cast<int64_t>(remaining())) {
    Fail(fmt::format("array of {} elements cannot fit in the {} bytes left", count, remaining()));
    return 0;
  }
  return static_cast<int32_t>(count);
}

Reader Reader::ReadTaggedFieldBody() {
  const uint32_t size = ReadUnsignedVarint();
  Reader body(ReadRaw(size));
  if (!ok()) body.Fail("truncated tagged field");
  return body;
}

template <class T>
void Writer::WriteBigEndian(T value) {
  using Unsigned = std::make_unsigned_t<T>;
  const Unsigned raw = static_cast<Unsigned>(value);
  for (size_t i = sizeof(T); i-- > 0;) out_.bytes.push_back(static_cast<char>(raw >> (8 * i)));
}

void Writer::WriteInt16(int16_t value) { WriteBigEndian(value); }
void Writer::WriteInt32(int32_t value) { WriteBigEndian(value); }
void Writer::WriteInt64(int64_t value) { WriteBigEndian(value); }
void Writer::WriteUint16(uint16_t value) { WriteBigEndian(value); }
void Writer::WriteUint32(uint32_t value) { WriteBigEndian(value); }
void Writer::WriteFloat64(double value) { WriteBigEndian(std::bit_cast<uint64_t>(value)); }

void Writer::WriteUuid(const Uuid& value) {
  out_.bytes.append(reinterpret_cast<const char*>(value.bytes.data()), value.bytes.size());
}

void Writer::WriteUnsignedVarlong(uint64_t value) {
  while (value >= 0x80) {
    out_.bytes.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out_.bytes.push_back(static_cast<char>(value));
}

void Writer::WriteUnsignedVarint(uint32_t value) { WriteUnsignedVarlong(value); }

void Writer::WriteVarint(int32_t value) {
  const uint32_t raw = static_cast<uint32_t>(value);
  WriteUnsignedVarint((raw << 1) ^ static_cast<uint32_t>(value >> 31));
}

void Writer::WriteVarlong(int64_t value) {
  const uint64_t raw = static_cast<uint64_t>(value);
  WriteUnsignedVarlong((raw << 1) ^ static_cast<uint64_t>(value >> 63));
}

void Writer::WriteString(std::string_view value, bool compact) {
  if (compact) {
    WriteUnsignedVarint(static_cast<uint32_t>(value.size() + 1));
  } else {
    WriteInt16(static_cast<int16_t>(value.size()));
  }
  WriteRaw(value);
}

void Writer::WriteNullableString(const std::optional<std::string>& value, bool compact) {
  if (value) {
    WriteString(*value, compact);
  } else if (compact) {
    WriteUnsignedVarint(0);
  } else {
    WriteInt16(-1);
  }
}

void Writer::WriteBytes(std::string_view value, bool compact) {
  if (compact) {
    WriteUnsignedVarint(static_cast<uint32_t>(value.size() + 1));
  } else {
    WriteInt32(static_cast<int32_t>(value.size()));
  }
  WriteRaw(value);
}

void Writer::WriteNullableBytes(const std::optional<std::string>& value, bool compact) {
  if (value) {
    WriteBytes(*value, compact);
  } else {
    WriteNullArrayLength(compact);  // same encoding as a null array: -1 or 0
  }
}

void Writer::WriteRecords(const Records& records, bool compact) {
  if (records.is_null) {
    WriteNullArrayLength(compact);
    return;
  }
  const int64_t size = records.size();
  if (compact) {
    WriteUnsignedVarint(static_cast<uint32_t>(size + 1));
  } else {
    WriteInt32(static_cast<int32_t>(size));
  }
  for (const RecordsChunk& chunk : records.chunks) {
    if (chunk.is_file()) {
      out_.splices.push_back(OutboundMessage::Splice{.at = out_.bytes.size(), .slice = chunk.file});
    } else if (chunk.owner) {
      out_.splices.push_back(
          OutboundMessage::Splice{.at = out_.bytes.size(), .memory = chunk.memory, .owner = chunk.owner});
    } else {
      WriteRaw(chunk.memory);
    }
  }
}

void Writer::WriteArrayLength(size_t count, bool compact) {
  if (compact) {
    WriteUnsignedVarint(static_cast<uint32_t>(count + 1));
  } else {
    WriteInt32(static_cast<int32_t>(count));
  }
}

void Writer::WriteNullArrayLength(bool compact) {
  if (compact) {
    WriteUnsignedVarint(0);
  } else {
    WriteInt32(-1);
  }
}

void Writer::WriteTaggedFields(const TaggedFields& fields) {
  WriteUnsignedVarint(static_cast<uint32_t>(fields.size()));
  for (const TaggedField& field : fields) WriteTaggedField(field.tag, field.data);
}

void Writer::WriteTaggedField(uint32_t tag, std::string_view body) {
  WriteUnsignedVarint(tag);
  WriteUnsignedVarint(static_cast<uint32_t>(body.size()));
  WriteRaw(body);
}

void Writer::WriteTaggedField(uint32_t tag, OutboundMessage body) {
  WriteUnsignedVarint(tag);
  WriteUnsignedVarint(static_cast<uint32_t>(body.size()));
  Append(std::move(body));
}

void Writer::Append(OutboundMessage nested) {
  const size_t base = out_.bytes.size();
  out_.bytes.append(nested.bytes);
  for (OutboundMessage::Splice& splice : nested.splices) {
    splice.at += base;
    out_.splices.push_back(std::move(splice));
  }
}

TaggedFieldsWriter::TaggedFieldsWriter(Writer& writer, const TaggedFields& unknown, uint32_t known_count)
    : writer_(writer), unknown_(unknown) {
  writer_.WriteUnsignedVarint(known_count + static_cast<uint32_t>(unknown.size()));
}

void TaggedFieldsWriter::WriteUnknownBelow(uint32_t tag) {
  while (next_unknown_ < unknown_.size() && unknown_[next_unknown_].tag < tag) {
    writer_.WriteTaggedField(unknown_[next_unknown_].tag, unknown_[next_unknown_].data);
    ++next_unknown_;
  }
}

void TaggedFieldsWriter::Finish() {
  for (; next_unknown_ < unknown_.size(); ++next_unknown_) {
    writer_.WriteTaggedField(unknown_[next_unknown_].tag, unknown_[next_unknown_].data);
  }
}

}  // namespace sluice::kafka
