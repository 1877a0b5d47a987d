#pragma once
// Principals as Kafka writes them, `Type:name` (e.g. User:alice), and the `super.users` list,
// principals separated by semicolons (a TLS name may hold commas).

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sluice::broker::security {

struct Principal {
  std::string type;  // e.g. User
  std::string name;  // everything after the first colon; may itself hold colons
};

// InvalidArgument unless `text` is a non-empty type, a colon and a non-empty name.
absl::StatusOr<Principal> ParsePrincipal(std::string_view text);
// The principals of a `super.users` value; blanks around entries and empty entries are ignored.
absl::StatusOr<std::vector<std::string>> ParseSuperUsers(std::string_view text);

}  // namespace sluice::broker::security
