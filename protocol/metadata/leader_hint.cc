#include "protocol/metadata/leader_hint.h"

#include <charconv>
#include <string_view>

#include <fmt/format.h>

#include "common/absl_compat.h"

namespace sluice::metadata {
namespace {
constexpr std::string_view kMarker = "; leader: ";

template <class Int>
bool ParseInt(std::string_view text, Int* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}
}  // namespace

absl::Status NotLeaderStatus(int32_t leader_id, const std::string& host, uint16_t port) {
  if (leader_id < 0) return absl::UnavailableError(fmt::format("not the controller quorum leader{}unknown", kMarker));
  return absl::UnavailableError(
      fmt::format("not the controller quorum leader{}{}@{}:{}", kMarker, leader_id, host, port));
}

std::optional<LeaderHint> ParseLeaderHint(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kUnavailable) return std::nullopt;
  const std::string_view message = ToStd(status.message());
  const size_t marker = message.rfind(kMarker);
  if (marker == std::string_view::npos) return std::nullopt;
  const std::string_view hint = message.substr(marker + kMarker.size());
  const size_t at = hint.find('@');
  const size_t colon = hint.rfind(':');
  if (at == std::string_view::npos || colon == std::string_view::npos || colon < at) return std::nullopt;
  LeaderHint parsed;
  if (!ParseInt(hint.substr(0, at), &parsed.leader_id) || parsed.leader_id < 0) return std::nullopt;
  if (!ParseInt(hint.substr(colon + 1), &parsed.port)) return std::nullopt;
  parsed.host = std::string(hint.substr(at + 1, colon - at - 1));
  if (parsed.host.empty()) return std::nullopt;
  return parsed;
}

}  // namespace sluice::metadata
