#include <catch2/catch.hpp>

#include "broker/config/broker_config.h"
#include "common/listeners.h"

using namespace sluice;
using sluice::SecurityProtocol;

namespace {
config::Properties With(std::initializer_list<std::pair<const char*, const char*>> values) {
  config::Properties properties(&broker::BrokerSchema());
  for (const auto& [key, value] : values) REQUIRE(properties.Set(key, value).ok());
  return properties;
}
}  // namespace

TEST_CASE("several listeners take their protocols from the map and their addresses from advertised.listeners") {
  auto listeners = ParseListeners(
      With({{"listeners", "SSL://0.0.0.0:9093,internal://10.0.0.1:9094,PLAINTEXT://127.0.0.1:9092"},
            {"advertised.listeners", "SSL://kafka-0.example:9093,INTERNAL://10.0.0.1:9094,PLAINTEXT://127.0.0.1:9092"},
            {"listener.security.protocol.map", "INTERNAL:SASL_SSL,SSL:SSL,PLAINTEXT:PLAINTEXT"},
            {"inter.broker.listener.name", "INTERNAL"}}));
  REQUIRE(listeners.ok());
  REQUIRE(listeners->all.size() == 3);
  CHECK(listeners->all[0].protocol == SecurityProtocol::kSsl);
  CHECK(listeners->all[0].bind.host == "0.0.0.0");
  CHECK(listeners->all[0].advertised.host == "kafka-0.example");
  CHECK(listeners->InterBroker().name == "INTERNAL");
  CHECK(listeners->InterBroker().protocol == SecurityProtocol::kSaslSsl);
  CHECK(static_cast<int>(SecurityProtocol::kSaslPlaintext) == 2);  // Kafka's id, stored in the metadata log
}

TEST_CASE("the first listener replicates unless inter.broker.listener.name says otherwise") {
  auto listeners = ParseListeners(With({{"listeners", "SASL_PLAINTEXT://127.0.0.1:1,PLAINTEXT://127.0.0.1:2"}}));
  REQUIRE(listeners.ok());
  CHECK(listeners->InterBroker().name == "SASL_PLAINTEXT");
  CHECK(listeners->all[1].advertised.port == 2);
}

TEST_CASE("listener configurations Kafka refuses are refused with the reason") {
  auto refused = [](std::initializer_list<std::pair<const char*, const char*>> values, std::string_view reason) {
    auto listeners = ParseListeners(With(values));
    REQUIRE_FALSE(listeners.ok());
    CHECK_THAT(std::string(listeners.status().message()), Catch::Contains(std::string(reason)));
  };
  refused({{"listeners", "PLAINTEXT://127.0.0.1:1,PLAINTEXT://127.0.0.1:2"}}, "named twice");
  refused({{"listeners", "PLAINTEXT://127.0.0.1:1,SSL://127.0.0.1:1"}}, "port 1 is used twice");
  refused({{"listeners", "CUSTOM://127.0.0.1:1"}}, "no entry for listener CUSTOM");
  refused({{"listeners", "PLAINTEXT://0.0.0.0:1"}}, "set a host clients can reach");
  refused({{"listeners", "PLAINTEXT://127.0.0.1:1,SSL://127.0.0.1:2"}, {"advertised.listeners", "PLAINTEXT://h:1"}},
          "no address for listener SSL");
  refused({{"listeners", "PLAINTEXT://127.0.0.1:1"}, {"advertised.listeners", "PLAINTEXT://h:1,SSL://h:2"}},
          "SSL is not in listeners");
  refused({{"listeners", "PLAINTEXT://127.0.0.1:1"}, {"inter.broker.listener.name", "SSL"}}, "not in listeners");
  refused({{"listeners", "X://127.0.0.1:1"}, {"listener.security.protocol.map", "X:TLS"}}, "not a security protocol");
}
