#include "common/endpoint.h"

#include <charconv>

#include <fmt/format.h>

namespace sluice {

absl::StatusOr<HostPort> ParseEndpoint(const std::string& text) {
  std::string first = text.substr(0, text.find(','));
  size_t scheme = first.find("://");
  std::string rest = scheme == std::string::npos ? first : first.substr(scheme + 3);
  size_t colon = rest.rfind(':');
  HostPort out;
  const char* end = rest.data() + rest.size();
  const auto parsed = colon == std::string::npos ? std::from_chars_result{nullptr, std::errc::invalid_argument}
                                                 : std::from_chars(rest.data() + colon + 1, end, out.port);
  // A second "://" is no host: the host returned could not be written back as an endpoint.
  if (colon == 0 || parsed.ec != std::errc() || parsed.ptr != end || rest.find("://") != std::string::npos) {
    return absl::InvalidArgumentError(fmt::format("cannot parse endpoint '{}' (expected NAME://host:port)", text));
  }
  out.host = rest.substr(0, colon);
  return out;
}

}  // namespace sluice
