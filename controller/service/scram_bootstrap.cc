#include "controller/service/scram_bootstrap.h"

#include <charconv>
#include <map>
#include <set>
#include <string>

#include <fmt/format.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "broker/security/scram_credential.h"
#include "common/absl_compat.h"

namespace sluice::controller {
namespace {

using broker::security::ScramMechanism;

constexpr std::string_view kProperty = "scram.bootstrap.credentials";
// kafka-storage's default.
constexpr int32_t kDefaultIterations = 4096;

// "key=value,key=\"value\"" -> map; quoted values may hold ',' and ']'.
absl::StatusOr<std::map<std::string, std::string>> ParseAttributes(std::string_view text, std::string_view entry) {
  std::map<std::string, std::string> attributes;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t equals = text.find('=', pos);
    if (equals == std::string_view::npos) {
      return absl::InvalidArgumentError(fmt::format("{}: '{}': expected key=value", kProperty, entry));
    }
    const std::string key(text.substr(pos, equals - pos));
    std::string value;
    size_t end;
    if (equals + 1 < text.size() && text[equals + 1] == '"') {
      const size_t close = text.find('"', equals + 2);
      if (close == std::string_view::npos) {
        return absl::InvalidArgumentError(fmt::format("{}: '{}': unterminated quoted value", kProperty, entry));
      }
      value = std::string(text.substr(equals + 2, close - equals - 2));
      end = close + 1;
      if (end < text.size() && text[end] != ',') {
        return absl::InvalidArgumentError(fmt::format("{}: '{}': text after a quoted value", kProperty, entry));
      }
    } else {
      end = std::min(text.find(',', equals + 1), text.size());
      value = std::string(text.substr(equals + 1, end - equals - 1));
    }
    if (!attributes.emplace(key, std::move(value)).second) {
      return absl::InvalidArgumentError(fmt::format("{}: '{}': '{}' given twice", kProperty, entry, key));
    }
    pos = end + 1;
  }
  return attributes;
}

absl::StatusOr<metadata::UserScramCredential> ParseEntry(std::string_view entry) {
  const size_t equals = entry.find('=');
  const size_t open = entry.find('[');
  if (equals == std::string_view::npos || open != equals + 1 || !entry.ends_with("]")) {
    return absl::InvalidArgumentError(
        fmt::format("{}: '{}': expected MECHANISM=[name=NAME,password=PASSWORD]", kProperty, entry));
  }
  const std::string_view mechanism_name = entry.substr(0, equals);
  std::optional<ScramMechanism> mechanism = broker::security::ScramMechanismNamed(mechanism_name);
  if (!mechanism.has_value()) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: '{}': unknown mechanism '{}' (SCRAM-SHA-256 or SCRAM-SHA-512)", kProperty, entry, mechanism_name));
  }
  auto attributes = ParseAttributes(entry.substr(open + 1, entry.size() - open - 2), entry);
  if (!attributes.ok()) return attributes.status();
  std::string name, password;
  int32_t iterations = kDefaultIterations;
  for (const auto& [key, value] : *attributes) {
    if (key == "name") {
      name = value;
    } else if (key == "password") {
      password = value;
    } else if (key == "iterations") {
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), iterations);
      if (ec != std::errc() || ptr != value.data() + value.size()) {
        return absl::InvalidArgumentError(fmt::format("{}: '{}': iterations is not a number", kProperty, entry));
      }
    } else {
      return absl::InvalidArgumentError(
          fmt::format("{}: '{}': unknown attribute '{}' (name, password, iterations)", kProperty, entry, key));
    }
  }
  if (name.empty() || password.empty()) {
    return absl::InvalidArgumentError(fmt::format("{}: '{}': name and password are needed", kProperty, entry));
  }
  if (iterations < broker::security::kScramMinIterations || iterations > broker::security::kScramMaxIterations) {
    return absl::InvalidArgumentError(fmt::format("{}: '{}': iterations must be {}..{}", kProperty, entry,
                                                  broker::security::kScramMinIterations,
                                                  broker::security::kScramMaxIterations));
  }
  auto credential = broker::security::NewScramCredential(*mechanism, password, iterations);
  if (!credential.ok()) return credential.status();
  metadata::UserScramCredential record;
  record.set_name(name);
  record.set_mechanism(static_cast<int32_t>(*mechanism));
  record.set_salt(credential->salt);
  record.set_stored_key(credential->stored_key);
  record.set_server_key(credential->server_key);
  record.set_iterations(iterations);
  return record;
}

}  // namespace

absl::StatusOr<std::vector<metadata::UserScramCredential>> ParseScramBootstrap(std::string_view text) {
  std::vector<metadata::UserScramCredential> credentials;
  std::set<std::pair<std::string, int32_t>> seen;
  for (absl::string_view part : absl::StrSplit(ToAbsl(text), ';', absl::SkipWhitespace())) {
    auto credential = ParseEntry(ToStd(absl::StripAsciiWhitespace(part)));
    if (!credential.ok()) return credential.status();
    if (!seen.emplace(credential->name(), credential->mechanism()).second) {
      return absl::InvalidArgumentError(
          fmt::format("{}: user '{}' has two entries for one mechanism", kProperty, credential->name()));
    }
    credentials.push_back(std::move(*credential));
  }
  return credentials;
}

}  // namespace sluice::controller
