#pragma once
// host:port endpoints as Kafka properties write them: "NAME://host:port" or "host:port",
// possibly the first of a comma-separated list.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace sluice {

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

absl::StatusOr<HostPort> ParseEndpoint(const std::string& text);

}  // namespace sluice
