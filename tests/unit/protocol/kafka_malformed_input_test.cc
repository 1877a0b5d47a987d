// Hostile input never crashes a decoder: random bytes for every message version (fixed seed),
// every truncation of a valid encoding (always an error) and random byte flips.
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "protocol/kafka/message_headers.h"
#include "protocol/kafka/messages/all.h"
#include "protocol/kafka/messages/samples.h"

namespace sluice::kafka {
namespace {

template <class Message>
absl::Status DecodeBytes(std::string_view bytes, int16_t version, Message& message) {
  Reader reader(bytes);
  return message.Decode(reader, version);
}

template <class Message>
void ReencodeDoesNotCrash(const Message& message, int16_t version) {
  OutboundMessage out;
  Writer writer(out);
  message.Encode(writer, version);
}

template <class Message>
void CheckMalformed(const char* name, std::mt19937& rng) {
  for (int16_t version = Message::kMinVersion; version <= Message::kMaxVersion; ++version) {
    INFO(name << " v" << version);
    for (int i = 0; i < 200; ++i) {
      std::string garbage(rng() % 96, '\0');
      for (char& c : garbage) c = static_cast<char>(rng());
      Message message;
      if (DecodeBytes(garbage, version, message).ok()) ReencodeDoesNotCrash(message, version);
    }

    Message sample;
    testing::FillSample(sample, version);
    OutboundMessage out;
    Writer writer(out);
    sample.Encode(writer, version);
    const std::string& valid = out.bytes;
    for (size_t length = 0; length < valid.size(); ++length) {
      Message message;
      INFO("truncated to " << length << " of " << valid.size() << " bytes");
      REQUIRE(!DecodeBytes(std::string_view(valid).substr(0, length), version, message).ok());
    }
    for (int i = 0; i < 100 && !valid.empty(); ++i) {
      std::string mutated = valid;
      for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips) {
        mutated[rng() % mutated.size()] = static_cast<char>(rng());
      }
      Message message;
      if (DecodeBytes(mutated, version, message).ok()) ReencodeDoesNotCrash(message, version);
    }
  }
}

TEST_CASE("garbage and truncated input give errors, never crashes", "[kafka][codec]") {
  std::mt19937 rng(20241022);
#define SLUICE_CHECK_MALFORMED(Type) CheckMalformed<Type>(#Type, rng);
  SLUICE_KAFKA_FOR_EACH_MESSAGE(SLUICE_CHECK_MALFORMED)
#undef SLUICE_CHECK_MALFORMED
}

TEST_CASE("hostile lengths are rejected without allocating", "[kafka][codec]") {
  // Metadata v1: topics array claiming 2^31-1 elements in a 4-byte body.
  const std::string huge_array("\x7f\xff\xff\xff", 4);
  MetadataRequest request;
  REQUIRE(!DecodeBytes(huge_array, 1, request).ok());
  // Metadata v9 (compact): uvarint 0xffffffff elements.
  const std::string huge_compact("\xff\xff\xff\xff\x0f", 5);
  REQUIRE(!DecodeBytes(huge_compact, 9, request).ok());
  // Negative string length in a non-nullable field.
  const std::string negative("\x00\x00\x00\x01\xff\xfe", 6);
  REQUIRE(!DecodeBytes(negative, 1, request).ok());
}

TEST_CASE("random request headers never crash", "[kafka][codec]") {
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string garbage(rng() % 40, '\0');
    for (char& c : garbage) c = static_cast<char>(rng());
    Reader reader(garbage);
    const absl::StatusOr<RequestHeader> header = DecodeRequestHeader(reader);
    if (garbage.size() < 8) REQUIRE(!header.ok());
  }
}

}  // namespace
}  // namespace sluice::kafka
