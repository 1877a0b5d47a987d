#include "broker/security/ssl_principal_mapper.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include "absl/strings/ascii.h"

namespace sluice::broker::security {
namespace {

// Reads up to the next '/' that is not escaped as "\/"; `unescape` turns "\/" into "/".
std::optional<std::string> ReadPart(std::string_view& text, bool unescape) {
  std::string part;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '/') {
      if (!unescape) part += '\\';
      part += '/';
      ++i;
      continue;
    }
    if (text[i] == '/') {
      text.remove_prefix(i + 1);
      return part;
    }
    part += text[i];
  }
  return std::nullopt;
}

// Java's replacement syntax ($n groups, \$ and \\ escapes) in RE2's (\n groups, \\ a backslash).
std::string ToRe2Rewrite(std::string_view replacement) {
  std::string out;
  for (size_t i = 0; i < replacement.size(); ++i) {
    const char c = replacement[i];
    if (c == '$' && i + 1 < replacement.size() && absl::ascii_isdigit(static_cast<unsigned char>(replacement[i + 1]))) {
      out += '\\';
      out += replacement[++i];
    } else if (c == '\\' && i + 1 < replacement.size()) {
      const char escaped = replacement[++i];
      if (escaped == '\\') out += "\\\\";
      else out += escaped;
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += c;
    }
  }
  return out;
}

void SkipSeparators(std::string_view& text) {
  while (!text.empty() && (text.front() == ',' || absl::ascii_isspace(static_cast<unsigned char>(text.front())))) {
    text.remove_prefix(1);
  }
}

}  // namespace

absl::StatusOr<SslPrincipalMapper> SslPrincipalMapper::Parse(std::string_view rules) {
  SslPrincipalMapper mapper;
  std::string_view rest = rules;
  SkipSeparators(rest);
  while (!rest.empty()) {
    Rule rule;
    if (rest.substr(0, 7) == "DEFAULT") {
      rule.is_default = true;
      rest.remove_prefix(7);
    } else if (rest.substr(0, 5) == "RULE:") {
      rest.remove_prefix(5);
      std::optional<std::string> pattern = ReadPart(rest, false);
      std::optional<std::string> replacement = pattern ? ReadPart(rest, true) : std::nullopt;
      if (!replacement) {
        return absl::InvalidArgumentError(
            fmt::format("ssl.principal.mapping.rules: a RULE needs pattern/replacement/ in '{}'", rules));
      }
      auto compiled = std::make_shared<const re2::RE2>(*pattern, re2::RE2::Quiet);
      if (!compiled->ok()) {
        return absl::InvalidArgumentError(fmt::format("ssl.principal.mapping.rules: '{}' is not a regular expression: {}",
                                                      *pattern, compiled->error()));
      }
      rule.rewrite = ToRe2Rewrite(*replacement);
      std::string why;
      if (!compiled->CheckRewriteString(rule.rewrite, &why)) {
        return absl::InvalidArgumentError(
            fmt::format("ssl.principal.mapping.rules: replacement '{}': {}", *replacement, why));
      }
      rule.pattern = std::move(compiled);
      if (!rest.empty() && (rest.front() == 'L' || rest.front() == 'U')) {
        rule.case_change = rest.front();
        rest.remove_prefix(1);
      }
    } else {
      return absl::InvalidArgumentError(
          fmt::format("ssl.principal.mapping.rules: expected RULE:... or DEFAULT at '{}'", rest));
    }
    if (!rest.empty() && rest.front() != ',' && !absl::ascii_isspace(static_cast<unsigned char>(rest.front()))) {
      return absl::InvalidArgumentError(fmt::format("ssl.principal.mapping.rules: unexpected '{}' after a rule", rest));
    }
    mapper.rules_.push_back(std::move(rule));
    SkipSeparators(rest);
  }
  if (mapper.rules_.empty()) mapper.rules_.push_back(Rule{.is_default = true});
  return mapper;
}

absl::StatusOr<std::string> SslPrincipalMapper::Map(const std::string& subject) const {
  for (const Rule& rule : rules_) {
    if (rule.is_default) return subject;
    if (!re2::RE2::FullMatch(subject, *rule.pattern)) continue;
    std::string name = subject;
    re2::RE2::GlobalReplace(&name, *rule.pattern, rule.rewrite);
    if (rule.case_change == 'L') absl::AsciiStrToLower(&name);
    if (rule.case_change == 'U') absl::AsciiStrToUpper(&name);
    return name;
  }
  return absl::NotFoundError(fmt::format("no ssl.principal.mapping.rules rule matches the certificate subject {}", subject));
}

}  // namespace sluice::broker::security
