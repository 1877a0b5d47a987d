#pragma once
// Request and response headers: which header version goes with which API version, decoding a
// request header (also for APIs and versions we do not define, so the broker can still answer
// UNSUPPORTED_VERSION) and encoding complete messages.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "protocol/kafka/messages/headers.h"
#include "protocol/kafka/records.h"
#include "protocol/kafka/wire.h"

namespace sluice::kafka {

inline constexpr int16_t kApiVersionsKey = 18;

// 2 for flexible API versions, 1 otherwise. For an API or version we do not define: 1, except
// ApiVersions above our newest version, whose header is assumed flexible (clients send their
// newest ApiVersions first and expect a v0 answer listing our ranges).
int16_t RequestHeaderVersion(int16_t api_key, int16_t api_version);

// Reads the request header. For a defined API and version, a malformed header is an error. For an
// API or version we do not define, succeeds as long as key, version and correlation id could be
// read (client_id is then best effort), leaving the reader after what was read.
absl::StatusOr<RequestHeader> DecodeRequestHeader(Reader& reader);

// Response header v1 for flexible versions, v0 otherwise; ApiVersions always uses v0.
template <class Body>
constexpr int16_t ResponseHeaderVersion(int16_t version) {
  return Body::kApiKey != kApiVersionsKey && version >= Body::kFirstFlexibleVersion ? 1 : 0;
}

// The response without the 4-byte size prefix (the connection adds it).
template <class Body>
OutboundMessage EncodeResponse(int32_t correlation_id, int16_t version, const Body& body) {
  OutboundMessage out;
  Writer writer(out);
  ResponseHeader header;
  header.correlation_id = correlation_id;
  header.Encode(writer, ResponseHeaderVersion<Body>(version));
  body.Encode(writer, version);
  return out;
}

// A request as a client (or a follower fetching from a leader) sends it, without size prefix.
template <class Body>
OutboundMessage EncodeRequest(int32_t correlation_id, std::optional<std::string> client_id,
                              int16_t version, const Body& body) {
  OutboundMessage out;
  Writer writer(out);
  RequestHeader header;
  header.request_api_key = Body::kApiKey;
  header.request_api_version = version;
  header.correlation_id = correlation_id;
  header.client_id = std::move(client_id);
  header.Encode(writer, version >= Body::kFirstFlexibleVersion ? 2 : 1);
  body.Encode(writer, version);
  return out;
}

}  // namespace sluice::kafka
