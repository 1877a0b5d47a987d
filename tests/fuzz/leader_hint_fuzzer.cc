// The leader hint a non-leader controller puts in its Unavailable answer
// (protocol/metadata/leader_hint.h), as a broker reads it from an RPC error: the message comes
// from the network. Property: a parsed hint, written by NotLeaderStatus, parses to the same hint.

#include <string>

#include "common/absl_compat.h"
#include "protocol/metadata/leader_hint.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  const auto hint = metadata::ParseLeaderHint(absl::UnavailableError(ToAbsl(fuzz::AsBytes(data, size))));
  if (!hint) return 0;
  SLUICE_FUZZ_CHECK(hint->leader_id >= 0 && !hint->host.empty());
  const auto again = metadata::ParseLeaderHint(metadata::NotLeaderStatus(hint->leader_id, hint->host, hint->port));
  SLUICE_FUZZ_CHECK(again && again->leader_id == hint->leader_id && again->host == hint->host &&
                    again->port == hint->port);
  return 0;
}
