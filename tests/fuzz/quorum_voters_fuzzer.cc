// controller.quorum.voters ("id@host:port,...", protocol/metadata/quorum_voters.h) as controllers
// and brokers read it from their configuration, including ParseEndpoint for each address.
// Property: parsed voters written back in the same syntax parse to the same voters.

#include <map>
#include <string>

#include <fmt/format.h>

#include "protocol/metadata/quorum_voters.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  auto voters = metadata::ParseQuorumVoters(std::string(fuzz::AsBytes(data, size)));
  if (!voters.ok()) return 0;
  std::string written;
  for (const auto& [id, address] : *voters) {
    SLUICE_FUZZ_CHECK(id >= 0);
    written += fmt::format("{}{}@{}:{}", written.empty() ? "" : ",", id, address.host, address.port);
  }
  auto again = metadata::ParseQuorumVoters(written);
  SLUICE_FUZZ_CHECK(again.ok() && again->size() == voters->size());
  for (const auto& [id, address] : *voters) {
    auto it = again->find(id);
    SLUICE_FUZZ_CHECK(it != again->end() && it->second.host == address.host && it->second.port == address.port);
  }
  return 0;
}
