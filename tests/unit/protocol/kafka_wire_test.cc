// Wire primitives: integer encodings, strings, lengths, records splices, tagged fields, uuids.
#include <limits>
#include <memory>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "protocol/kafka/wire.h"

namespace sluice::kafka {
namespace {

std::string Bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

template <class WriteFn>
std::string Written(WriteFn&& write) {
  OutboundMessage out;
  Writer writer(out);
  write(writer);
  return out.bytes;
}

TEST_CASE("varints use zigzag and unsigned base-128 encodings", "[kafka][wire]") {
  REQUIRE(Written([](Writer& w) { w.WriteVarint(0); }) == Bytes({0x00}));
  REQUIRE(Written([](Writer& w) { w.WriteVarint(-1); }) == Bytes({0x01}));
  REQUIRE(Written([](Writer& w) { w.WriteVarint(1); }) == Bytes({0x02}));
  REQUIRE(Written([](Writer& w) { w.WriteVarint(-64); }) == Bytes({0x7f}));
  REQUIRE(Written([](Writer& w) { w.WriteVarint(64); }) == Bytes({0x80, 0x01}));
  REQUIRE(Written([](Writer& w) { w.WriteUnsignedVarint(300); }) == Bytes({0xac, 0x02}));

  for (int32_t value : {0, 1, -1, 1000, -1000, std::numeric_limits<int32_t>::min(),
                        std::numeric_limits<int32_t>::max()}) {
    const std::string bytes = Written([&](Writer& w) { w.WriteVarint(value); });
    Reader reader(bytes);
    REQUIRE(reader.ReadVarint() == value);
    REQUIRE(reader.ok());
    REQUIRE(reader.remaining() == 0);
  }
  for (int64_t value : {int64_t{0}, int64_t{-1}, int64_t{1} << 40, std::numeric_limits<int64_t>::min(),
                        std::numeric_limits<int64_t>::max()}) {
    const std::string bytes = Written([&](Writer& w) { w.WriteVarlong(value); });
    Reader reader(bytes);
    REQUIRE(reader.ReadVarlong() == value);
    REQUIRE(reader.remaining() == 0);
  }
}

TEST_CASE("overlong or truncated varints are errors", "[kafka][wire]") {
  const std::string six = Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x01});
  Reader overlong(six);
  overlong.ReadUnsignedVarint();
  REQUIRE(!overlong.ok());

  const std::string truncated = Bytes({0x80, 0x80});
  Reader short_reader(truncated);
  short_reader.ReadVarlong();
  REQUIRE(!short_reader.ok());
}

TEST_CASE("fixed-width integers are big-endian", "[kafka][wire]") {
  const std::string bytes = Written([](Writer& w) {
    w.WriteInt16(0x0102);
    w.WriteInt32(-2);
    w.WriteInt64(0x0102030405060708);
    w.WriteFloat64(1.5);
    w.WriteBool(true);
  });
  REQUIRE(bytes.substr(0, 6) == Bytes({0x01, 0x02, 0xff, 0xff, 0xff, 0xfe}));
  Reader reader(bytes);
  REQUIRE(reader.ReadInt16() == 0x0102);
  REQUIRE(reader.ReadInt32() == -2);
  REQUIRE(reader.ReadInt64() == 0x0102030405060708);
  REQUIRE(reader.ReadFloat64() == 1.5);
  REQUIRE(reader.ReadBool());
  REQUIRE(reader.ok());
  REQUIRE(reader.remaining() == 0);
}

TEST_CASE("errors are sticky and later reads return zeros", "[kafka][wire]") {
  const std::string bytes = Bytes({0x00, 0x01, 0x7f});
  Reader reader(bytes);
  REQUIRE(reader.ReadInt32() == 0);
  REQUIRE(!reader.ok());
  REQUIRE(reader.ReadInt8() == 0);
  REQUIRE(reader.ReadString(false).empty());
  REQUIRE(!reader.status().ok());
}

TEST_CASE("classic and compact strings, bytes and nulls", "[kafka][wire]") {
  REQUIRE(Written([](Writer& w) { w.WriteString("hi", false); }) == Bytes({0x00, 0x02, 'h', 'i'}));
  REQUIRE(Written([](Writer& w) { w.WriteString("hi", true); }) == Bytes({0x03, 'h', 'i'}));
  REQUIRE(Written([](Writer& w) { w.WriteNullableString(std::nullopt, false); }) == Bytes({0xff, 0xff}));
  REQUIRE(Written([](Writer& w) { w.WriteNullableString(std::nullopt, true); }) == Bytes({0x00}));
  REQUIRE(Written([](Writer& w) { w.WriteBytes("x", false); }) == Bytes({0, 0, 0, 1, 'x'}));
  REQUIRE(Written([](Writer& w) { w.WriteNullableBytes(std::nullopt, false); }) == Bytes({0xff, 0xff, 0xff, 0xff}));

  const std::string null_compact = Bytes({0x00});
  Reader nullable(null_compact);
  REQUIRE(!nullable.ReadNullableString(true).has_value());
  REQUIRE(nullable.ok());
  Reader non_nullable(null_compact);
  non_nullable.ReadString(true);
  REQUIRE(!non_nullable.ok());

  const std::string too_long = Bytes({0x00, 0x05, 'a', 'b'});
  Reader reader(too_long);
  reader.ReadString(false);
  REQUIRE(!reader.ok());

  const std::string negative = Bytes({0xff, 0xfe});
  Reader negative_reader(negative);
  negative_reader.ReadNullableString(false);
  REQUIRE(!negative_reader.ok());
}

TEST_CASE("array lengths cannot exceed the remaining bytes", "[kafka][wire]") {
  const std::string claims_three = Bytes({0, 0, 0, 3, 1, 2});
  Reader reader(claims_three);
  reader.ReadArrayLength(false);
  REQUIRE(!reader.ok());

  const std::string null_array = Bytes({0xff, 0xff, 0xff, 0xff});
  Reader null_reader(null_array);
  REQUIRE(null_reader.ReadArrayLength(false) == -1);
  REQUIRE(null_reader.ok());

  const std::string compact_two = Bytes({0x03, 1, 2});
  Reader compact(compact_two);
  REQUIRE(compact.ReadArrayLength(true) == 2);
}

struct FakeFile : FileRef {
  int fd() const override { return -1; }
};

TEST_CASE("records copy memory chunks and splice file chunks", "[kafka][wire]") {
  Records records = Records::Borrow("ab");
  records.chunks.push_back(RecordsChunk{.file = FileSlice{.file = std::make_shared<FakeFile>(), .position = 100, .size = 10}});
  records.chunks.push_back(RecordsChunk{.memory = "cd"});

  OutboundMessage out;
  Writer writer(out);
  writer.WriteInt8(7);
  writer.WriteRecords(records, false);
  REQUIRE(out.bytes == Bytes({7, 0, 0, 0, 14, 'a', 'b', 'c', 'd'}));
  REQUIRE(out.splices.size() == 1);
  REQUIRE(out.splices[0].at == 7);
  REQUIRE(out.splices[0].slice.position == 100);
  REQUIRE(out.size() == 19);

  OutboundMessage compact;
  Writer compact_writer(compact);
  compact_writer.WriteRecords(records, true);
  REQUIRE(compact.bytes.substr(0, 1) == Bytes({15}));
  REQUIRE(compact.splices.at(0).at == 3);

  // Owned memory (records decrypted from an encrypted segment) is spliced, not copied.
  auto owned = std::make_shared<std::string>("decrypted");
  Records with_owned = Records::Borrow("ab");
  with_owned.chunks.push_back(RecordsChunk{.memory = *owned, .owner = owned});
  OutboundMessage spliced;
  Writer spliced_writer(spliced);
  spliced_writer.WriteRecords(with_owned, false);
  REQUIRE(spliced.bytes == Bytes({0, 0, 0, 11, 'a', 'b'}));
  REQUIRE(spliced.splices.size() == 1);
  REQUIRE(spliced.splices[0].at == 6);
  REQUIRE(spliced.splices[0].memory.data() == owned->data());
  REQUIRE(spliced.size() == 15);

  REQUIRE(Written([](Writer& w) { w.WriteRecords(Records::Null(), true); }) == Bytes({0}));
  REQUIRE(Written([](Writer& w) { w.WriteRecords(Records::Null(), false); }) == Bytes({0xff, 0xff, 0xff, 0xff}));
}

TEST_CASE("decoded records borrow the input", "[kafka][wire]") {
  const std::string bytes = Bytes({0, 0, 0, 3, 'x', 'y', 'z'});
  Reader reader(bytes);
  const Records records = reader.ReadRecords(false);
  REQUIRE(!records.is_null);
  REQUIRE(records.contiguous().data() == bytes.data() + 4);
  REQUIRE(records.size() == 3);

  const std::string null_bytes = Bytes({0xff, 0xff, 0xff, 0xff});
  Reader null_reader(null_bytes);
  REQUIRE(null_reader.ReadRecords(false).is_null);
}

TEST_CASE("tagged fields are written in ascending tag order", "[kafka][wire]") {
  const TaggedFields unknown = {{1, "a"}, {5, "b"}};
  const std::string bytes = Written([&](Writer& w) {
    TaggedFieldsWriter tagged(w, unknown, 1);
    tagged.Write(3, [](Writer& body) { body.WriteInt8(9); });
    tagged.Finish();
  });
  REQUIRE(bytes == Bytes({3, 1, 1, 'a', 3, 1, 9, 5, 1, 'b'}));

  Reader reader(bytes);
  REQUIRE(reader.ReadUnsignedVarint() == 3);
  REQUIRE(reader.ReadUnsignedVarint() == 1);
  Reader body = reader.ReadTaggedFieldBody();
  REQUIRE(body.ReadRemaining() == "a");

  const std::string truncated = Bytes({1, 5, 'x'});
  Reader bad(truncated);
  bad.ReadUnsignedVarint();
  Reader bad_body = bad.ReadTaggedFieldBody();
  REQUIRE(!bad.ok());
  REQUIRE(!bad_body.ok());
}

TEST_CASE("uuid text form and random ids", "[kafka][uuid]") {
  REQUIRE(Uuid{}.IsZero());
  REQUIRE(Uuid{}.ToString() == "AAAAAAAAAAAAAAAAAAAAAA");
  Uuid counting;
  for (size_t i = 0; i < counting.bytes.size(); ++i) counting.bytes[i] = static_cast<uint8_t>(i);
  REQUIRE(counting.ToString() == "AAECAwQFBgcICQoLDA0ODw");
  Uuid high;
  high.bytes.fill(0xff);
  REQUIRE(high.ToString() == "_____________________w");

  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const Uuid id = Uuid::Random();
    REQUIRE(!id.IsZero());
    REQUIRE((id.bytes[6] >> 4) == 4);
    const std::string text = id.ToString();
    REQUIRE(text.size() == 22);
    REQUIRE(text[0] != '-');
    seen.insert(text);
  }
  REQUIRE(seen.size() == 1000);

  const std::string bytes = Written([&](Writer& w) { w.WriteUuid(counting); });
  Reader reader(bytes);
  REQUIRE(reader.ReadUuid() == counting);
}

}  // namespace
}  // namespace sluice::kafka
