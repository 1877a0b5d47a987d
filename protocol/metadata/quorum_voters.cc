#include "protocol/metadata/quorum_voters.h"

#include <charconv>

#include <fmt/format.h>

#include "common/absl_compat.h"

namespace sluice::metadata {

absl::StatusOr<std::map<int32_t, HostPort>> ParseQuorumVoters(const std::string& text) {
  std::map<int32_t, HostPort> voters;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    start = end + 1;
    const size_t first = item.find_first_not_of(' ');
    const size_t last = item.find_last_not_of(' ');
    item = first == std::string::npos ? "" : item.substr(first, last - first + 1);
    if (item.empty()) {
      if (end == text.size()) break;
      return absl::InvalidArgumentError(fmt::format("empty entry in voters '{}'", text));
    }
    const size_t at = item.find('@');
    int32_t id = -1;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + (at == std::string::npos ? 0 : at), id);
    if (at == std::string::npos || ec != std::errc() || ptr != item.data() + at || id < 0) {
      return absl::InvalidArgumentError(fmt::format("voter '{}' is not id@host:port", item));
    }
    absl::StatusOr<HostPort> address = ParseEndpoint(item.substr(at + 1));
    if (!address.ok()) {
      return absl::InvalidArgumentError(fmt::format("voter '{}': {}", item, address.status().message()));
    }
    if (!voters.emplace(id, *address).second) {
      return absl::InvalidArgumentError(fmt::format("voter id {} appears twice", id));
    }
  }
  return voters;
}

}  // namespace sluice::metadata
