#include <catch2/catch.hpp>

#include "broker/config/broker_config.h"
#include "common/endpoint.h"
#include "protocol/metadata/topic_config.h"

using namespace sluice;

TEST_CASE("topic configs resolve overrides over broker defaults") {
  config::Properties broker(&broker::BrokerSchema());
  REQUIRE(broker.Set("log.retention.hours", "1").ok());
  REQUIRE(broker.Set("log.segment.bytes", "1048576").ok());
  auto effective = broker::EffectiveTopicConfigs(broker, {{"segment.bytes", "2048"}});
  CHECK(effective.at("retention.ms").value == "3600000");
  CHECK(effective.at("segment.bytes").value == "2048");
  CHECK(effective.at("segment.bytes").is_topic_override);
  CHECK(effective.at("max.message.bytes").value == "1048588");
  auto log_config = broker::ToLogConfig(effective);
  CHECK(log_config.retention_ms == 3600000);
  CHECK(log_config.segment_bytes == 2048);
  REQUIRE(broker.Set("log.retention.ms", "-1").ok());
  CHECK(broker::BrokerRetentionMs(broker) == -1);
}

TEST_CASE("every topic config has a broker default in the schema") {
  for (const auto& key : metadata::TopicConfigKeys()) {
    if (key.broker_name == "log.retention.ms") continue;  // resolved through ms/minutes/hours
    CHECK(broker::BrokerSchema().Find(key.broker_name) != nullptr);
  }
}

TEST_CASE("endpoints parse with and without a listener name") {
  auto a = ParseEndpoint("PLAINTEXT://127.0.0.1:9092");
  REQUIRE(a.ok());
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 9092);
  CHECK(ParseEndpoint("localhost:1,other:2")->host == "localhost");
  CHECK(!ParseEndpoint("nohost").ok());
  CHECK(!ParseEndpoint("PLAINTEXT://h:99999").ok());
  // Found by tests/fuzz/quorum_voters_fuzzer: the host was "b://c", which parses back as "c".
  CHECK(!ParseEndpoint("a://b://c:1").ok());
}
