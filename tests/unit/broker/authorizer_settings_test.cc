#include <catch2/catch.hpp>

#include <string>

#include "broker/config/broker_config.h"
#include "broker/security/authorizer_settings.h"

using namespace sluice;
using broker::security::AuthorizerSettingsFromConfig;

TEST_CASE("authorizer.class.name: empty is no authorization, Kafka's KRaft authorizer turns ACLs on") {
  config::Properties props(&broker::BrokerSchema());
  auto off = AuthorizerSettingsFromConfig(props);
  REQUIRE(off.ok());
  CHECK_FALSE(off->has_value());

  REQUIRE(props.Set("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer").ok());
  REQUIRE(props.Set("super.users", "User:broker; User:admin").ok());
  REQUIRE(props.Set("allow.everyone.if.no.acl.found", "true").ok());
  auto on = AuthorizerSettingsFromConfig(props);
  REQUIRE(on.ok());
  REQUIRE(on->has_value());
  CHECK((*on)->super_users == std::vector<std::string>{"User:broker", "User:admin"});
  CHECK((*on)->allow_everyone_if_no_acl_found);
}

TEST_CASE("an authorizer Sluice does not have, or a malformed super.users, is refused with the reason") {
  config::Properties props(&broker::BrokerSchema());
  REQUIRE(props.Set("authorizer.class.name", "kafka.security.authorizer.AclAuthorizer").ok());
  auto refused = AuthorizerSettingsFromConfig(props);
  REQUIRE_FALSE(refused.ok());
  CHECK(std::string(refused.status().message()).find("kafka.security.authorizer.AclAuthorizer is not supported") !=
        std::string::npos);

  REQUIRE(props.Set("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer").ok());
  REQUIRE(props.Set("super.users", "User:admin;admin").ok());
  auto malformed = AuthorizerSettingsFromConfig(props);
  REQUIRE_FALSE(malformed.ok());
  CHECK(std::string(malformed.status().message()).find("super.users") != std::string::npos);
}
