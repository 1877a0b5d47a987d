#include <catch2/catch.hpp>

#include <string>

#include "broker/security/jaas_config.h"
#include "broker/security/sasl_plain.h"

using namespace sluice::broker::security;

namespace {
constexpr const char* kJaas =
    "org.apache.kafka.common.security.plain.PlainLoginModule required\n"
    "  username=\"admin\" password=\"admin-secret\"\n"
    "  user_admin=\"admin-secret\" user_alice=\"a \\\"quoted\\\" secret\";";
}

TEST_CASE("a PlainLoginModule entry gives the broker's login and the accepted users") {
  auto config = ParseJaasConfig(kJaas);
  REQUIRE(config.ok());
  CHECK_FALSE(config->scram.has_value());
  REQUIRE(config->plain.has_value());
  const auto& credentials = config->plain;
  CHECK(credentials->username == "admin");
  CHECK(credentials->password == "admin-secret");
  REQUIRE(credentials->users.size() == 2);
  CHECK(credentials->users.at("alice") == "a \"quoted\" secret");
}

TEST_CASE("a ScramLoginModule entry gives the broker's own SCRAM login, beside a PLAIN entry or alone") {
  const std::string scram =
      "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"broker\" password=\"b-secret\";";
  auto alone = ParseJaasConfig(scram);
  REQUIRE(alone.ok());
  CHECK_FALSE(alone->plain.has_value());
  REQUIRE(alone->scram.has_value());
  CHECK(alone->scram->username == "broker");
  CHECK(alone->scram->password == "b-secret");
  auto both = ParseJaasConfig(std::string(kJaas) + "\n" + scram);
  REQUIRE(both.ok());
  REQUIRE(both->plain.has_value());
  CHECK(both->plain->users.size() == 2);
  REQUIRE(both->scram.has_value());
  CHECK(both->scram->username == "broker");
}

TEST_CASE("a JAAS entry that is not a complete login module entry is refused with the reason") {
  auto refused = [](const std::string& text, const std::string& reason) {
    auto parsed = ParseJaasConfig(text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(std::string(parsed.status().message()).find(reason) != std::string::npos);
  };
  refused("org.apache.kafka.common.security.kerberos.KerberosLoginModule required;", "is not supported");
  refused("org.apache.kafka.common.security.scram.ScramLoginModule required;", "needs username and password");
  refused("org.apache.kafka.common.security.scram.ScramLoginModule required username=\"a\";", "needs username and password");
  refused("org.apache.kafka.common.security.scram.ScramLoginModule required username=\"a\" password=\"b\" "
          "user_c=\"d\";",
          "unknown option");
  refused("org.apache.kafka.common.security.scram.ScramLoginModule required username=\"a\" password=\"b\";"
          "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"a\" password=\"b\";",
          "appears twice");
  refused("org.apache.kafka.common.security.plain.PlainLoginModule optional user_a=\"b\";", "control flag");
  refused("org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"b\"", "missing ';'");
  refused("org.apache.kafka.common.security.plain.PlainLoginModule required user_a=b;", "double quotes");
  refused("org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"b;", "unterminated");
  refused("org.apache.kafka.common.security.plain.PlainLoginModule required colour=\"b\";", "unknown option");
  refused("org.apache.kafka.common.security.plain.PlainLoginModule required username=\"a\" password=\"b\";",
          "no user_NAME");
  refused("org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"b\"; x", "is not supported");
}

TEST_CASE("a PLAIN message logs in only the user with its password") {
  auto config = ParseJaasConfig(kJaas);
  REQUIRE(config.ok());
  const auto& credentials = config->plain;
  REQUIRE(credentials.has_value());
  auto message = ParsePlainMessage(PlainMessageFor("admin", "admin-secret"));
  REQUIRE(message.ok());
  CHECK(Authenticate(*credentials, *message));
  CHECK_FALSE(Authenticate(*credentials, PlainMessage{"admin", "admin-secreT"}));
  CHECK_FALSE(Authenticate(*credentials, PlainMessage{"admin", "admin-secret-longer"}));
  CHECK_FALSE(Authenticate(*credentials, PlainMessage{"nobody", "admin-secret"}));
  // An authorization id equal to the user is accepted, another is not.
  CHECK(ParsePlainMessage(std::string("admin\0admin\0pw", 14)).ok());
  CHECK_FALSE(ParsePlainMessage(std::string("root\0admin\0pw", 13)).ok());
  CHECK_FALSE(ParsePlainMessage(std::string("\0admin", 6)).ok());
  CHECK_FALSE(ParsePlainMessage(std::string("\0\0pw", 4)).ok());
  CHECK_FALSE(ParsePlainMessage(std::string("\0a\0b\0c", 6)).ok());
}
