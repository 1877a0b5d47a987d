#include "broker/security/jaas_config.h"

#include <cctype>

#include <fmt/format.h>

namespace sluice::broker::security {
namespace {

constexpr std::string_view kPlainModule = "org.apache.kafka.common.security.plain.PlainLoginModule";
constexpr std::string_view kScramModule = "org.apache.kafka.common.security.scram.ScramLoginModule";

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ == text_.size();
  }
  bool Take(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  // A run of characters up to whitespace, '=' or ';'.
  std::string_view Word() {
    SkipSpace();
    const size_t start = pos_;
    while (pos_ < text_.size() && !std::isspace(static_cast<unsigned char>(text_[pos_])) && text_[pos_] != '=' &&
           text_[pos_] != ';') {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }
  // A double-quoted value with \" and \\ escapes.
  absl::StatusOr<std::string> Quoted() {
    if (!Take('"')) return absl::InvalidArgumentError("sasl.jaas.config: a value must be in double quotes");
    std::string value;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      value += text_[pos_++];
    }
    if (pos_ == text_.size()) return absl::InvalidArgumentError("sasl.jaas.config: unterminated quoted value");
    ++pos_;
    return value;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<JaasConfig> ParseJaasConfig(std::string_view text) {
  Scanner scan(text);
  JaasConfig config;
  do {
    const std::string_view module = scan.Word();
    const bool plain = module == kPlainModule;
    if (!plain && module != kScramModule) {
      return absl::InvalidArgumentError(fmt::format(
          "sasl.jaas.config: login module '{}' is not supported (only {} and {})", module, kPlainModule, kScramModule));
    }
    if ((plain && config.plain) || (!plain && config.scram)) {
      return absl::InvalidArgumentError(fmt::format("sasl.jaas.config: {} appears twice", module));
    }
    if (std::string_view flag = scan.Word(); flag != "required") {
      return absl::InvalidArgumentError(fmt::format("sasl.jaas.config: control flag '{}': expected 'required'", flag));
    }
    PlainCredentials credentials;
    while (!scan.Take(';')) {
      if (scan.AtEnd()) return absl::InvalidArgumentError("sasl.jaas.config: missing ';' at the end");
      const std::string key(scan.Word());
      if (key.empty() || !scan.Take('=')) {
        return absl::InvalidArgumentError(fmt::format("sasl.jaas.config: expected key=\"value\" near '{}'", key));
      }
      auto value = scan.Quoted();
      if (!value.ok()) return value.status();
      if (key == "username") {
        credentials.username = std::move(*value);
      } else if (key == "password") {
        credentials.password = std::move(*value);
      } else if (plain && key.starts_with("user_") && key.size() > 5) {
        credentials.users[key.substr(5)] = std::move(*value);
      } else {
        return absl::InvalidArgumentError(fmt::format("sasl.jaas.config: unknown option '{}' of {}", key, module));
      }
    }
    if (plain) {
      if (credentials.users.empty()) {
        return absl::InvalidArgumentError("sasl.jaas.config: no user_NAME=\"PASSWORD\" entries: no client could log in");
      }
      config.plain = std::move(credentials);
    } else {
      // SCRAM users live in the cluster metadata: the entry is this broker's own login only.
      if (credentials.username.empty() || credentials.password.empty()) {
        return absl::InvalidArgumentError("sasl.jaas.config: the ScramLoginModule entry needs username and password");
      }
      config.scram = ScramLogin{std::move(credentials.username), std::move(credentials.password)};
    }
  } while (!scan.AtEnd());
  return config;
}

}  // namespace sluice::broker::security
