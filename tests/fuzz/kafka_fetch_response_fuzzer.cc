// Fetch responses as a follower reads them from its leader (broker/replication/replica_fetcher.cc):
// the response header and the FetchResponse body at every version, then each partition's record
// batches through ValidateBatches. Input: one version byte, then the response frame without its
// size prefix. Property: a body that decodes re-encodes symmetrically.

#include <string>
#include <string_view>

#include "protocol/kafka/batch/validate.h"
#include "protocol/kafka/message_headers.h"
#include "protocol/kafka/messages/fetch.h"
#include "tests/fuzz/fuzz_check.h"

namespace sluice::kafka {
namespace {

std::string Encode(const FetchResponse& response, int16_t version) {
  OutboundMessage out;
  Writer writer(out);
  response.Encode(writer, version);
  SLUICE_FUZZ_CHECK(out.splices.empty());
  return out.bytes;
}

void CheckSymmetric(const FetchResponse& decoded, int16_t version) {
  const std::string first = Encode(decoded, version);
  FetchResponse again;
  Reader reader(first);
  SLUICE_FUZZ_CHECK(again.Decode(reader, version).ok());
  SLUICE_FUZZ_CHECK(reader.remaining() == 0);
  SLUICE_FUZZ_CHECK(Encode(again, version) == first);
}

}  // namespace
}  // namespace sluice::kafka

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::kafka;
  if (size < 1) return 0;
  const int16_t version = static_cast<int16_t>(data[0] % (FetchResponse::kMaxVersion + 1));
  Reader reader(sluice::fuzz::AsBytes(data + 1, size - 1));
  ResponseHeader header;
  if (!header.Decode(reader, ResponseHeaderVersion<FetchResponse>(version)).ok()) return 0;
  FetchResponse response;
  if (!response.Decode(reader, version).ok()) return 0;
  CheckSymmetric(response, version);
  for (const auto& topic : response.responses) {
    for (const auto& partition : topic.partitions) {
      const std::string_view records = partition.records.contiguous();
      if (records.empty()) continue;
      ValidateBatches(records, INT32_MAX).IgnoreError();
    }
  }
  return 0;
}
