// Every version of every request and response: sample -> encode -> decode -> encode gives the
// same bytes, the decoder consumes exactly what the encoder wrote, and unknown tagged fields
// survive.
#include <string>

#include <catch2/catch.hpp>

#include "protocol/kafka/messages/all.h"
#include "protocol/kafka/messages/samples.h"

namespace sluice::kafka {
namespace {

template <class Message>
std::string EncodeToString(const Message& message, int16_t version) {
  OutboundMessage out;
  Writer writer(out);
  message.Encode(writer, version);
  REQUIRE(out.splices.empty());
  return out.bytes;
}

template <class Message>
void CheckRoundTrip(const char* name) {
  for (int16_t version = Message::kMinVersion; version <= Message::kMaxVersion; ++version) {
    INFO(name << " v" << version);
    for (bool filled : {false, true}) {
      Message original;
      if (filled) testing::FillSample(original, version);
      const std::string first = EncodeToString(original, version);

      Message decoded;
      Reader reader(first);
      const absl::Status status = decoded.Decode(reader, version);
      INFO(status.ToString());
      REQUIRE(status.ok());
      REQUIRE(reader.remaining() == 0);
      REQUIRE(EncodeToString(decoded, version) == first);

      const bool flexible = version >= Message::kFirstFlexibleVersion;
      REQUIRE(decoded.unknown_tagged_fields == original.unknown_tagged_fields);
      REQUIRE(decoded.unknown_tagged_fields.empty() == !(filled && flexible));
    }
  }
}

TEST_CASE("every message version round-trips byte for byte", "[kafka][codec]") {
#define SLUICE_CHECK_ROUND_TRIP(Type) CheckRoundTrip<Type>(#Type);
  SLUICE_KAFKA_FOR_EACH_MESSAGE(SLUICE_CHECK_ROUND_TRIP)
  SLUICE_CHECK_ROUND_TRIP(RequestHeader)
  SLUICE_CHECK_ROUND_TRIP(ResponseHeader)
#undef SLUICE_CHECK_ROUND_TRIP
}

TEST_CASE("samples set fields that exist only in some versions", "[kafka][codec]") {
  ProduceResponse response;
  testing::FillSample(response, 10);
  REQUIRE(!response.node_endpoints.empty());
  REQUIRE(response.responses.at(0).partition_responses.at(0).current_leader.leader_id != -1);
  // A known tagged field must come back as a member, not as an unknown field.
  const std::string bytes = EncodeToString(response, 10);
  ProduceResponse decoded;
  Reader reader(bytes);
  REQUIRE(decoded.Decode(reader, 10).ok());
  REQUIRE(decoded.node_endpoints == response.node_endpoints);
  REQUIRE(decoded.responses.at(0).partition_responses.at(0).current_leader ==
          response.responses.at(0).partition_responses.at(0).current_leader);

  // Absent in v9: not encoded, so the decoder keeps the defaults.
  const std::string v9 = EncodeToString(response, 9);
  ProduceResponse old;
  Reader old_reader(v9);
  REQUIRE(old.Decode(old_reader, 9).ok());
  REQUIRE(old.node_endpoints.empty());
  REQUIRE(old.responses.at(0).partition_responses.at(0).current_leader.leader_id == -1);
}

TEST_CASE("decoded records borrow the request bytes", "[kafka][codec]") {
  ProduceRequest request;
  testing::FillSample(request, 9);
  const std::string bytes = EncodeToString(request, 9);
  ProduceRequest decoded;
  Reader reader(bytes);
  REQUIRE(decoded.Decode(reader, 9).ok());
  const std::string_view records = decoded.topic_data.at(0).partition_data.at(0).records.contiguous();
  REQUIRE(!records.empty());
  REQUIRE(records.data() >= bytes.data());
  REQUIRE(records.data() + records.size() <= bytes.data() + bytes.size());
}

TEST_CASE("a version outside the definitions is rejected", "[kafka][codec]") {
  MetadataRequest request;
  Reader reader("");
  REQUIRE(!request.Decode(reader, MetadataRequest::kMaxVersion + 1).ok());
  REQUIRE(!request.Decode(reader, -1).ok());
}

}  // namespace
}  // namespace sluice::kafka
