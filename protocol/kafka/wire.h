#pragma once
// Kafka wire primitives: a bounds-checked Reader over request bytes and a Writer that builds an
// OutboundMessage. Generated codecs (protocol/kafka/messages/) are written against these.
//
// Reader errors are sticky: the first failure is recorded, every later read returns a zero value,
// and the caller checks status() once at the end. Lengths from the wire are never trusted: a
// string, byte or array length beyond the remaining input is an error, so a hostile length can
// never cause a large allocation.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "protocol/kafka/records.h"
#include "protocol/kafka/uuid.h"

namespace sluice::kafka {

// A tagged field the definitions do not know; kept so that it survives decode + encode.
struct TaggedField {
  uint32_t tag = 0;
  std::string data;
  bool operator==(const TaggedField&) const = default;
};
// In ascending tag order.
using TaggedFields = std::vector<TaggedField>;

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool ok() const { return status_.ok(); }
  const absl::Status& status() const { return status_; }
  size_t position() const { return position_; }
  size_t remaining() const { return data_.size() - position_; }

  // Records `what` as the failure unless one is already recorded; later reads return zeros.
  void Fail(std::string_view what);
  // Takes over the failure of a reader that decoded a nested part of this one.
  void Absorb(const Reader& nested);

  bool ReadBool() { return ReadInt8() != 0; }
  int8_t ReadInt8();
  int16_t ReadInt16();
  int32_t ReadInt32();
  int64_t ReadInt64();
  uint16_t ReadUint16();
  uint32_t ReadUint32();
  double ReadFloat64();
  Uuid ReadUuid();
  uint32_t ReadUnsignedVarint();
  uint64_t ReadUnsignedVarlong();
  int32_t ReadVarint();  // zigzag
  int64_t ReadVarlong();  // zigzag

  // `compact`: unsigned varint length + 1 (flexible versions); otherwise int16 (strings) or
  // int32 (bytes) length. A null where the caller asked for a non-nullable value is an error.
  std::string ReadString(bool compact);
  std::optional<std::string> ReadNullableString(bool compact);
  std::string ReadBytes(bool compact);
  std::optional<std::string> ReadNullableBytes(bool compact);
  // Borrows the bytes (no copy): the input must outlive the result. Null is Records::Null().
  Records ReadRecords(bool compact);
  // Element count, -1 for a null array. A count larger than the remaining bytes is an error
  // (every element takes at least one byte), which bounds any reservation by the input size.
  int32_t ReadArrayLength(bool compact);

  std::string_view ReadRaw(size_t size);
  std::string_view ReadRemaining() { return ReadRaw(remaining()); }
  // Reads a tagged field's size and returns a reader over its body; this reader moves past it.
  Reader ReadTaggedFieldBody();

 private:
  template <class T>
  T ReadBigEndian();
  // Length of a string/bytes value; -1 for null.
  int64_t ReadLength(bool compact, bool int16_prefix);

  std::string_view data_;
  size_t position_ = 0;
  absl::Status status_;
};

// Capacity to reserve for a decoded array of `count` elements. ReadArrayLength bounds the count
// by the input size, but an element in memory can be much larger than on the wire, so only a
// modest amount is reserved up front; growth then follows the elements actually decoded.
inline size_t InitialArrayCapacity(int32_t count) {
  return count < 1024 ? static_cast<size_t>(count) : size_t{1024};
}

class Writer {
 public:
  explicit Writer(OutboundMessage& out) : out_(out) {}

  OutboundMessage& message() { return out_; }
  size_t size() const { return out_.bytes.size(); }

  void WriteBool(bool value) { WriteInt8(value ? 1 : 0); }
  void WriteInt8(int8_t value) { out_.bytes.push_back(static_cast<char>(value)); }
  void WriteInt16(int16_t value);
  void WriteInt32(int32_t value);
  void WriteInt64(int64_t value);
  void WriteUint16(uint16_t value);
  void WriteUint32(uint32_t value);
  void WriteFloat64(double value);
  void WriteUuid(const Uuid& value);
  void WriteUnsignedVarint(uint32_t value);
  void WriteUnsignedVarlong(uint64_t value);
  void WriteVarint(int32_t value);
  void WriteVarlong(int64_t value);

  // Classic (non-compact) strings carry an int16 length: callers keep them under 32768 bytes,
  // as Kafka does.
  void WriteString(std::string_view value, bool compact);
  void WriteNullableString(const std::optional<std::string>& value, bool compact);
  void WriteBytes(std::string_view value, bool compact);
  void WriteNullableBytes(const std::optional<std::string>& value, bool compact);
  // Length prefix, then memory chunks copied and file chunks recorded as splices at the current
  // position (the connection sends them with sendfile), so fetch responses stay zero-copy.
  // Memory chunks with an owner are recorded as splices too, so they are not copied.
  void WriteRecords(const Records& records, bool compact);
  void WriteArrayLength(size_t count, bool compact);
  void WriteNullArrayLength(bool compact);

  void WriteRaw(std::string_view bytes) { out_.bytes.append(bytes); }
  // Count, then every field (for structures with no known tagged fields).
  void WriteTaggedFields(const TaggedFields& fields);
  void WriteTaggedField(uint32_t tag, std::string_view body);
  void WriteTaggedField(uint32_t tag, OutboundMessage body);

 private:
  template <class T>
  void WriteBigEndian(T value);
  void Append(OutboundMessage nested);

  OutboundMessage& out_;
};

// Writes a tagged-field section in which known fields (written by generated code in ascending
// tag order) are interleaved with preserved unknown ones so that all tags ascend.
class TaggedFieldsWriter {
 public:
  // Writes the field count: `known_count` plus the unknown fields.
  TaggedFieldsWriter(Writer& writer, const TaggedFields& unknown, uint32_t known_count);

  template <class WriteBody>
  void Write(uint32_t tag, WriteBody&& write_body) {
    WriteUnknownBelow(tag);
    OutboundMessage body;
    Writer body_writer(body);
    write_body(body_writer);
    writer_.WriteTaggedField(tag, std::move(body));
  }
  // Writes the unknown fields left (tags above every known one).
  void Finish();

 private:
  void WriteUnknownBelow(uint32_t tag);

  Writer& writer_;
  const TaggedFields& unknown_;
  size_t next_unknown_ = 0;
};

}  // namespace sluice::kafka
