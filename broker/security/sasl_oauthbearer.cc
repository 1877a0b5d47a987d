#include "broker/security/sasl_oauthbearer.h"

#include <fmt/format.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/absl_compat.h"

namespace sluice::broker::security {
namespace {
constexpr char kSeparator = '\x01';
}  // namespace

absl::StatusOr<OAuthBearerMessage> ParseOAuthBearerMessage(std::string_view message) {
  OAuthBearerMessage out;
  // gs2-header: a channel-binding flag (no channel binding is offered), then the authzid.
  if (message.size() < 3 || (message[0] != 'n' && message[0] != 'y') || message[1] != ',') {
    return absl::InvalidArgumentError("OAUTHBEARER: the message does not start with a GS2 header (n,,)");
  }
  std::string_view rest = message.substr(2);
  const size_t comma = rest.find(',');
  if (comma == std::string_view::npos) return absl::InvalidArgumentError("OAUTHBEARER: unterminated GS2 header");
  const std::string_view authzid = rest.substr(0, comma);
  if (!authzid.empty()) {
    if (authzid.substr(0, 2) != "a=" || authzid.size() == 2) {
      return absl::InvalidArgumentError("OAUTHBEARER: the GS2 header's authorization id is not a=NAME");
    }
    out.authorization_id = std::string(authzid.substr(2));
  }
  rest.remove_prefix(comma + 1);
  if (rest.empty() || rest.front() != kSeparator) {
    return absl::InvalidArgumentError("OAUTHBEARER: no key/value pairs after the GS2 header");
  }
  rest.remove_prefix(1);
  bool found_auth = false;
  while (true) {
    const size_t end = rest.find(kSeparator);
    if (end == std::string_view::npos) return absl::InvalidArgumentError("OAUTHBEARER: unterminated key/value pair");
    const std::string_view pair = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    if (pair.empty()) break;  // the closing separator
    const size_t equals = pair.find('=');
    if (equals == std::string_view::npos || equals == 0) {
      return absl::InvalidArgumentError("OAUTHBEARER: a key/value pair without a key");
    }
    if (pair.substr(0, equals) != "auth") continue;
    const std::string_view value = pair.substr(equals + 1);
    constexpr std::string_view kScheme = "bearer ";
    if (found_auth || value.size() <= kScheme.size() ||
        !absl::EqualsIgnoreCase(ToAbsl(value.substr(0, kScheme.size())), ToAbsl(kScheme))) {
      return absl::InvalidArgumentError("OAUTHBEARER: auth is not a single 'Bearer TOKEN'");
    }
    out.token = std::string(absl::StripAsciiWhitespace(ToAbsl(value.substr(kScheme.size()))));
    found_auth = true;
  }
  if (!rest.empty()) return absl::InvalidArgumentError("OAUTHBEARER: bytes after the closing separator");
  if (!found_auth || out.token.empty()) return absl::InvalidArgumentError("OAUTHBEARER: no auth=Bearer token");
  return out;
}

std::string OAuthBearerMessageFor(std::string_view token) {
  return fmt::format("n,,{}auth=Bearer {}{}{}", kSeparator, token, kSeparator, kSeparator);
}

}  // namespace sluice::broker::security
