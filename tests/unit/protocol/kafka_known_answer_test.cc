// Hand-written frames (as a client sends them, without the 4-byte size) checked against the
// decoders, plus header selection for flexible versions and ApiVersions.
#include <string>

#include <catch2/catch.hpp>

#include "protocol/kafka/message_headers.h"
#include "protocol/kafka/messages/all.h"

namespace sluice::kafka {
namespace {

std::string Bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

TEST_CASE("ApiVersions v0 request", "[kafka][known-answer]") {
  const std::string frame = Bytes({0x00, 0x12, 0x00, 0x00,  // key 18, version 0
                                   0x00, 0x00, 0x00, 0x07,  // correlation id
                                   0x00, 0x03, 'a', 'b', 'c'});
  Reader reader(frame);
  const absl::StatusOr<RequestHeader> header = DecodeRequestHeader(reader);
  REQUIRE(header.ok());
  REQUIRE(header->request_api_key == 18);
  REQUIRE(header->request_api_version == 0);
  REQUIRE(header->correlation_id == 7);
  REQUIRE(header->client_id == "abc");
  ApiVersionsRequest request;
  REQUIRE(request.Decode(reader, 0).ok());
  REQUIRE(reader.remaining() == 0);
  REQUIRE(request.client_software_name.empty());
}

TEST_CASE("Metadata v1 request", "[kafka][known-answer]") {
  const std::string frame = Bytes({0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2a,  // key 3, v1, id 42
                                   0x00, 0x06, 'c', 'l', 'i', 'e', 'n', 't',
                                   0x00, 0x00, 0x00, 0x02,  // two topics
                                   0x00, 0x03, 'f', 'o', 'o', 0x00, 0x03, 'b', 'a', 'r'});
  Reader reader(frame);
  const absl::StatusOr<RequestHeader> header = DecodeRequestHeader(reader);
  REQUIRE(header.ok());
  REQUIRE(header->correlation_id == 42);
  REQUIRE(header->client_id == "client");
  MetadataRequest request;
  REQUIRE(request.Decode(reader, header->request_api_version).ok());
  REQUIRE(reader.remaining() == 0);
  REQUIRE(request.topics.has_value());
  REQUIRE(request.topics->size() == 2);
  REQUIRE((*request.topics)[0].name == "foo");
  REQUIRE((*request.topics)[1].name == "bar");
  REQUIRE(request.allow_auto_topic_creation);  // absent before v4: keeps the default

  const std::string all_topics = Bytes({0xff, 0xff, 0xff, 0xff});
  Reader null_reader(all_topics);
  MetadataRequest every_topic;
  REQUIRE(every_topic.Decode(null_reader, 1).ok());
  REQUIRE(!every_topic.topics.has_value());
}

TEST_CASE("Produce v3 request header and body", "[kafka][known-answer]") {
  const std::string frame = Bytes({0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x05,  // key 0, v3, id 5
                                   0x00, 0x02, 'r', 'p',                          // client id
                                   0xff, 0xff,                                    // no transactional id
                                   0xff, 0xff,                                    // acks -1
                                   0x00, 0x00, 0x75, 0x30,                        // timeout 30000
                                   0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',       // topic "t"
                                   0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,  // partition 2
                                   0x00, 0x00, 0x00, 0x04, 'R', 'E', 'C', 'S'});
  Reader reader(frame);
  const absl::StatusOr<RequestHeader> header = DecodeRequestHeader(reader);
  REQUIRE(header.ok());
  REQUIRE(header->request_api_key == ProduceRequest::kApiKey);
  REQUIRE(header->request_api_version == 3);
  REQUIRE(header->client_id == "rp");
  ProduceRequest request;
  REQUIRE(request.Decode(reader, 3).ok());
  REQUIRE(reader.remaining() == 0);
  REQUIRE(!request.transactional_id.has_value());
  REQUIRE(request.acks == -1);
  REQUIRE(request.timeout_ms == 30000);
  REQUIRE(request.topic_data.size() == 1);
  REQUIRE(request.topic_data[0].name == "t");
  REQUIRE(request.topic_data[0].partition_data.size() == 1);
  REQUIRE(request.topic_data[0].partition_data[0].index == 2);
  REQUIRE(request.topic_data[0].partition_data[0].records.contiguous() == "RECS");

  // Encoding the decoded request gives the same frame back.
  OutboundMessage out = EncodeRequest(5, std::string("rp"), 3, request);
  REQUIRE(out.bytes == frame);
}

TEST_CASE("flexible request header keeps a classic client id", "[kafka][headers]") {
  const std::string frame = Bytes({0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,  // ApiVersions v3
                                   0x00, 0x03, 'a', 'b', 'c',                     // classic string
                                   0x00,                                          // no tagged fields
                                   0x04, 'l', 'i', 'b', 0x02, '2', 0x00});        // body
  Reader reader(frame);
  const absl::StatusOr<RequestHeader> header = DecodeRequestHeader(reader);
  REQUIRE(header.ok());
  REQUIRE(header->client_id == "abc");
  ApiVersionsRequest request;
  REQUIRE(request.Decode(reader, 3).ok());
  REQUIRE(request.client_software_name == "lib");
  REQUIRE(request.client_software_version == "2");
  REQUIRE(reader.remaining() == 0);
}

TEST_CASE("headers of unknown APIs and future versions still decode", "[kafka][headers]") {
  // ApiVersions v9 (newer than ours): flexible header assumed, so the tagged-field byte is read.
  const std::string future = Bytes({0x00, 0x12, 0x00, 0x09, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 'x', 0x00});
  Reader reader(future);
  const absl::StatusOr<RequestHeader> header = DecodeRequestHeader(reader);
  REQUIRE(header.ok());
  REQUIRE(header->request_api_version == 9);
  REQUIRE(header->correlation_id == 256);
  REQUIRE(header->client_id == "x");
  REQUIRE(reader.remaining() == 0);

  // Unknown API key with a garbled client id: key, version and correlation id are enough.
  const std::string unknown = Bytes({0x03, 0xe7, 0x00, 0x01, 0x00, 0x00, 0x00, 0x09, 0x7f, 0xff});
  Reader unknown_reader(unknown);
  const absl::StatusOr<RequestHeader> unknown_header = DecodeRequestHeader(unknown_reader);
  REQUIRE(unknown_header.ok());
  REQUIRE(unknown_header->request_api_key == 999);
  REQUIRE(unknown_header->correlation_id == 9);

  // A known API and version with a malformed header is an error.
  const std::string bad = Bytes({0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x09, 0x7f, 0xff});
  Reader bad_reader(bad);
  REQUIRE(!DecodeRequestHeader(bad_reader).ok());

  const std::string too_short = Bytes({0x00, 0x03, 0x00});
  Reader short_reader(too_short);
  REQUIRE(!DecodeRequestHeader(short_reader).ok());
}

TEST_CASE("response headers: v1 when flexible, v0 always for ApiVersions", "[kafka][headers]") {
  ApiVersionsResponse versions;
  const OutboundMessage v3 = EncodeResponse(77, 3, versions);
  // correlation id, error code, compact empty array, throttle time, tagged fields: no header tag byte.
  REQUIRE(v3.bytes == Bytes({0, 0, 0, 77, 0, 0, 1, 0, 0, 0, 0, 0}));

  MetadataResponse metadata;
  const OutboundMessage v9 = EncodeResponse(5, 9, metadata);
  const OutboundMessage v8 = EncodeResponse(5, 8, metadata);
  REQUIRE(v9.bytes.substr(0, 5) == Bytes({0, 0, 0, 5, 0}));  // correlation id + no tagged fields
  REQUIRE(v8.bytes.substr(0, 4) == Bytes({0, 0, 0, 5}));
  MetadataResponse decoded;
  Reader v9_body(std::string_view(v9.bytes).substr(5));
  REQUIRE(decoded.Decode(v9_body, 9).ok());
  REQUIRE(v9_body.remaining() == 0);
  Reader v8_body(std::string_view(v8.bytes).substr(4));
  REQUIRE(decoded.Decode(v8_body, 8).ok());
  REQUIRE(v8_body.remaining() == 0);
}

}  // namespace
}  // namespace sluice::kafka
