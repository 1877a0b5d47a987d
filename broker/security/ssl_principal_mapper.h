#pragma once
// `ssl.principal.mapping.rules`: how a client certificate's subject (RFC 2253, e.g.
// "CN=alice,OU=eng,O=acme") becomes a user name, as Kafka applies them:
//   RULE:^CN=(.*?),OU=(.*?)$/$1@$2/L, RULE:^CN=([^,]*).*$/$1/, DEFAULT
// The first rule whose pattern matches the whole subject gives the name (its replacement, with
// $1.. for groups, then lower- or upper-cased with a trailing L or U); DEFAULT gives the subject
// unchanged. No matching rule fails the login, as in Kafka. Patterns are RE2 expressions, which
// run in linear time: Java's forms without backreferences or lookaround mean the same, and no
// pattern can stall the connection thread that names a client.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace re2 {
class RE2;
}

namespace sluice::broker::security {

class SslPrincipalMapper {
 public:
  static absl::StatusOr<SslPrincipalMapper> Parse(std::string_view rules);

  // The user name for `subject`; NotFound when no rule matches.
  absl::StatusOr<std::string> Map(const std::string& subject) const;

 private:
  struct Rule {
    bool is_default = false;
    std::shared_ptr<const re2::RE2> pattern;
    std::string rewrite;  // RE2's form of the replacement (\\1 for $1)
    char case_change = 0;  // 'L', 'U' or 0
  };
  std::vector<Rule> rules_;
};

}  // namespace sluice::broker::security
