#include "broker/security/sasl_plain.h"

#include <openssl/crypto.h>

#include <fmt/format.h>

namespace sluice::broker::security {

absl::StatusOr<PlainMessage> ParsePlainMessage(std::string_view message) {
  const size_t first = message.find('\0');
  const size_t second = first == std::string_view::npos ? first : message.find('\0', first + 1);
  if (second == std::string_view::npos || message.find('\0', second + 1) != std::string_view::npos) {
    return absl::InvalidArgumentError("Invalid SASL/PLAIN response: expected 3 tokens");
  }
  const std::string_view authzid = message.substr(0, first);
  PlainMessage parsed{.username = std::string(message.substr(first + 1, second - first - 1)),
                      .password = std::string(message.substr(second + 1))};
  if (parsed.username.empty()) return absl::InvalidArgumentError("Authentication failed: username not specified");
  if (parsed.password.empty()) return absl::InvalidArgumentError("Authentication failed: password not specified");
  if (!authzid.empty() && authzid != parsed.username) {
    return absl::InvalidArgumentError("Authentication failed: Client requested an authorization id that is different from username");
  }
  return parsed;
}

std::string PlainMessageFor(std::string_view username, std::string_view password) {
  std::string message;
  message += '\0';
  message += username;
  message += '\0';
  message += password;
  return message;
}

bool Authenticate(const PlainCredentials& credentials, const PlainMessage& message) {
  auto it = credentials.users.find(message.username);
  // Constant-time comparison, and an unknown user is compared as well, against itself.
  const std::string& expected = it != credentials.users.end() ? it->second : message.password;
  const bool same_size = expected.size() == message.password.size();
  const bool same = same_size && CRYPTO_memcmp(expected.data(), message.password.data(), expected.size()) == 0;
  return it != credentials.users.end() && same;
}

}  // namespace sluice::broker::security
