#include "broker/security/acl_principal.h"

#include <fmt/format.h>

namespace sluice::broker::security {
namespace {

std::string_view Trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace

absl::StatusOr<Principal> ParsePrincipal(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(fmt::format(
        "could not parse principal '{}': no colon separates the principal type from the name", text));
  }
  if (colon == 0 || colon + 1 == text.size()) {
    return absl::InvalidArgumentError(fmt::format("could not parse principal '{}': empty type or name", text));
  }
  return Principal{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

absl::StatusOr<std::vector<std::string>> ParseSuperUsers(std::string_view text) {
  std::vector<std::string> principals;
  while (true) {
    const auto semicolon = text.find(';');
    const std::string_view entry = Trim(text.substr(0, semicolon));
    if (!entry.empty()) {
      auto principal = ParsePrincipal(entry);
      if (!principal.ok()) {
        return absl::InvalidArgumentError(fmt::format("super.users: {}", std::string(principal.status().message())));
      }
      principals.emplace_back(entry);
    }
    if (semicolon == std::string_view::npos) break;
    text.remove_prefix(semicolon + 1);
  }
  return principals;
}

}  // namespace sluice::broker::security
