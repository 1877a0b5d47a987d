// Kafka requests as a broker reads them (broker/server/request_dispatcher.cc, then
// RequestContext::Decode): the request header, then the body decoder of the API and version it
// names, for every API and version defined in protocol/kafka. Input: one frame without its
// 4-byte size prefix. Property: a body that decodes re-encodes to bytes that decode and
// re-encode to the same bytes (the codec is symmetric).

#include <string>
#include <string_view>

#include "protocol/kafka/message_headers.h"
#include "protocol/kafka/messages/all.h"
#include "tests/fuzz/fuzz_check.h"

namespace sluice::kafka {
namespace {

template <class Message>
std::string Encode(const Message& message, int16_t version) {
  OutboundMessage out;
  Writer writer(out);
  message.Encode(writer, version);
  SLUICE_FUZZ_CHECK(out.splices.empty());
  return out.bytes;
}

// Decodes as RequestContext::Decode does: the body, ignoring bytes after it.
template <class Message>
bool DecodeBody(std::string_view bytes, int16_t version, Message& message) {
  Reader reader(bytes);
  return message.Decode(reader, version).ok();
}

// Our own encoding decodes to its last byte.
template <class Message>
bool DecodeAll(std::string_view bytes, int16_t version, Message& message) {
  Reader reader(bytes);
  return message.Decode(reader, version).ok() && reader.remaining() == 0;
}

template <class Message>
void CheckSymmetric(const Message& decoded, int16_t version) {
  const std::string first = Encode(decoded, version);
  Message again;
  SLUICE_FUZZ_CHECK(DecodeAll(first, version, again));
  SLUICE_FUZZ_CHECK(Encode(again, version) == first);
}

template <class Request>
void FuzzBody(std::string_view body, int16_t version) {
  Request request;
  if (DecodeBody(body, version, request)) CheckSymmetric(request, version);
}

constexpr bool IsRequest(std::string_view type_name) { return type_name.ends_with("Request"); }

}  // namespace
}  // namespace sluice::kafka

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::kafka;
  const std::string_view frame = sluice::fuzz::AsBytes(data, size);
  Reader reader(frame);
  absl::StatusOr<RequestHeader> header = DecodeRequestHeader(reader);
  if (!header.ok()) return 0;
  const int16_t key = header->request_api_key;
  const int16_t version = header->request_api_version;
  const int16_t header_version = RequestHeaderVersion(key, version);
  // A header read in full re-encodes symmetrically too (a partial one is for undefined APIs).
  RequestHeader full;
  if (DecodeAll(frame.substr(0, reader.position()), header_version, full)) CheckSymmetric(full, header_version);
  const std::string_view body = frame.substr(reader.position());
#define SLUICE_FUZZ_BODY(Type)                                                                      \
  if constexpr (IsRequest(#Type)) {                                                                 \
    if (key == Type::kApiKey && version >= Type::kMinVersion && version <= Type::kMaxVersion) {    \
      FuzzBody<Type>(body, version);                                                                \
    }                                                                                               \
  }
  SLUICE_KAFKA_FOR_EACH_MESSAGE(SLUICE_FUZZ_BODY)
#undef SLUICE_FUZZ_BODY
  return 0;
}
