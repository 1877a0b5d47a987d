#include "protocol/kafka/message_headers.h"

#include "protocol/kafka/api_registry.h"

namespace sluice::kafka {

int16_t RequestHeaderVersion(int16_t api_key, int16_t api_version) {
  const DefinedApi* api = FindDefinedApi(api_key);
  if (api == nullptr) return 1;
  if (api_version > api->max_version) return api_key == kApiVersionsKey ? 2 : 1;
  return api_version >= api->first_flexible_version ? 2 : 1;
}

absl::StatusOr<RequestHeader> DecodeRequestHeader(Reader& reader) {
  Reader peek = reader;
  const int16_t api_key = peek.ReadInt16();
  const int16_t api_version = peek.ReadInt16();
  const int32_t correlation_id = peek.ReadInt32();
  if (!peek.ok()) return peek.status();

  const DefinedApi* api = FindDefinedApi(api_key);
  const bool defined = api != nullptr && api_version >= api->min_version && api_version <= api->max_version;
  Reader attempt = reader;
  RequestHeader header;
  const absl::Status status = header.Decode(attempt, RequestHeaderVersion(api_key, api_version));
  if (status.ok()) {
    reader = attempt;
    return header;
  }
  if (defined) return status;
  // Unknown API or version: the body is unreadable anyway; key, version and correlation id are
  // enough to answer UNSUPPORTED_VERSION.
  reader = peek;
  RequestHeader partial;
  partial.request_api_key = api_key;
  partial.request_api_version = api_version;
  partial.correlation_id = correlation_id;
  return partial;
}

}  // namespace sluice::kafka
