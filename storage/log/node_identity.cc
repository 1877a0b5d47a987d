#include "storage/log/node_identity.h"

#include <fmt/format.h>

#include <charconv>
#include <string>
#include <system_error>

#include "common/absl_compat.h"
#include "common/config.h"
#include "common/status_macros.h"
#include "storage/log/file.h"

namespace sluice::storage {
namespace {

constexpr const char* kFileName = "meta.properties";
constexpr int64_t kMaxFileBytes = 64 * 1024;

absl::StatusOr<int32_t> StoredNodeId(const std::filesystem::path& file) {
  SLUICE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(file, kMaxFileBytes));
  auto pairs = config::ParsePropertiesText(text);
  if (!pairs.ok()) return absl::DataLossError(fmt::format("{}: {}", file.string(), ToStd(pairs.status().message())));
  for (const auto& [key, value] : *pairs) {
    if (key != "node.id") continue;
    int32_t id = 0;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), id);
    if (error != std::errc() || end != value.data() + value.size()) {
      return absl::DataLossError(fmt::format("{}: node.id '{}' is not a number", file.string(), value));
    }
    return id;
  }
  return absl::DataLossError(fmt::format("{}: no node.id", file.string()));
}

}  // namespace

absl::Status ClaimDataDirectory(const std::filesystem::path& dir, int32_t node_id) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  const std::filesystem::path file = dir / kFileName;
  if (!std::filesystem::exists(file, ec)) {
    return WriteFileAtomically(file, fmt::format("version=1\nnode.id={}\n", node_id));
  }
  SLUICE_ASSIGN_OR_RETURN(int32_t stored, StoredNodeId(file));
  if (stored != node_id) {
    return absl::FailedPreconditionError(fmt::format(
        "{} belongs to node {}, but this process is configured as node.id={}", file.string(), stored, node_id));
  }
  return absl::OkStatus();
}

}  // namespace sluice::storage
