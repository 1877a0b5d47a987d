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
  auto credentials = ParsePlainJaasConfig(kJaas);
  REQUIRE(credentials.ok());
  CHECK(credentials->username == "admin");
  CHECK(credentials->password == "admin-secret");
  REQUIRE(credentials->users.size() == 2);
  CHECK(credentials->users.at("alice") == "a \"quoted\" secret");
}

TEST_CASE("a JAAS entry that is not a complete PlainLoginModule entry is refused with the reason") {
  auto refused = [](const std::string& text, const std::string& reason) {
    auto parsed = ParsePlainJaasConfig(text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(std::string(parsed.status().message()).find(reason) != std::string::npos);
  };
  refused("org.apache.kafka.common.security.scram.ScramLoginModule required;", "is not supported");
  refused("org.apache.kafka.common.security.plain.PlainLoginModule optional user_a=\"b\";", "control flag");
  refused("org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"b\"", "missing ';'");
  refused("org.apache.kafka.common.security.plain.PlainLoginModule required user_a=b;", "double quotes");
  refused("org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"b;", "unterminated");
  refused("org.apache.kafka.common.security.plain.PlainLoginModule required colour=\"b\";", "unknown option");
  refused("org.apache.kafka.common.security.plain.PlainLoginModule required username=\"a\" password=\"b\";",
          "no user_NAME");
  refused("org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"b\"; x", "after the entry");
}

TEST_CASE("a PLAIN message logs in only the user with its password") {
  auto credentials = ParsePlainJaasConfig(kJaas);
  REQUIRE(credentials.ok());
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
