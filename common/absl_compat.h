#pragma once
// Debian 12 builds Abseil as C++14, so absl::string_view is its own type, distinct from
// std::string_view. These bridges convert explicitly and let fmt print absl types.

#include <string_view>

#include <fmt/format.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sluice {
inline absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }
}  // namespace sluice

template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(absl::string_view s, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(s.data(), s.size()), ctx);
  }
};

template <>
struct fmt::formatter<absl::Status> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(const absl::Status& status, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(status.ToString(), ctx);
  }
};
