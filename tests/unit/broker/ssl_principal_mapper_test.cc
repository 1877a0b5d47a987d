#include <catch2/catch.hpp>

#include "broker/security/ssl_principal_mapper.h"

using sluice::broker::security::SslPrincipalMapper;

TEST_CASE("mapping rules name a certificate subject as Kafka's do") {
  auto mapper = SslPrincipalMapper::Parse(
      "RULE:^CN=(.*?),OU=(.*?),O=(.*?)$/$1@$2/L, RULE:^CN=([^,]*),O=ops$/$1-ops/U,\n DEFAULT");
  REQUIRE(mapper.ok());
  CHECK(*mapper->Map("CN=Alice,OU=Eng,O=acme") == "alice@eng");
  CHECK(*mapper->Map("CN=bob,O=ops") == "BOB-OPS");
  CHECK(*mapper->Map("CN=carol,C=DE") == "CN=carol,C=DE");  // DEFAULT: the subject itself
}

TEST_CASE("without a matching rule the login fails; no rules at all is DEFAULT") {
  auto strict = SslPrincipalMapper::Parse("RULE:^CN=([^,]*)$/$1/");
  REQUIRE(strict.ok());
  CHECK(*strict->Map("CN=dave") == "dave");
  CHECK(strict->Map("CN=dave,O=x").status().code() == absl::StatusCode::kNotFound);
  auto empty = SslPrincipalMapper::Parse("");
  REQUIRE(empty.ok());
  CHECK(*empty->Map("CN=x") == "CN=x");
}

TEST_CASE("an escaped slash belongs to the pattern or the replacement") {
  auto mapper = SslPrincipalMapper::Parse("RULE:^CN=([^,]*)\\/admin$/$1\\/root/");
  REQUIRE(mapper.ok());
  CHECK(*mapper->Map("CN=eve/admin") == "eve/root");
}

TEST_CASE("malformed rules are refused with the reason") {
  CHECK_FALSE(SslPrincipalMapper::Parse("RULE:^CN=(.*)$/$1").ok());        // no closing slash
  CHECK_FALSE(SslPrincipalMapper::Parse("RULE:^CN=((.*)$/$1/").ok());      // not a regular expression
  CHECK_FALSE(SslPrincipalMapper::Parse("DEFAULTS").ok());
  CHECK_FALSE(SslPrincipalMapper::Parse("RULE:a/b/X").ok());               // only L or U may follow
  CHECK_FALSE(SslPrincipalMapper::Parse("SOMETHING").ok());
  CHECK_FALSE(SslPrincipalMapper::Parse("RULE:^CN=(.*?*U)/y/").ok());  // nested repetition
  CHECK_FALSE(SslPrincipalMapper::Parse("RULE:^CN=(.*)$/$2/").ok());   // no second group
}

TEST_CASE("no pattern takes exponential time (found by ssl_principal_rules_fuzzer with std::regex)") {
  auto mapper = SslPrincipalMapper::Parse("RULE:^(a*)*(b|a*)*$/x/");
  REQUIRE(mapper.ok());
  const std::string subject = std::string(64, 'a') + "!";
  CHECK(mapper->Map(subject).status().code() == absl::StatusCode::kNotFound);
  CHECK(*mapper->Map(std::string(64, 'a')) == "x");
}
