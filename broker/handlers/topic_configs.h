#pragma once
// Effective topic configuration as clients see it (CreateTopics v5+, DescribeConfigs).

#include <cstdint>
#include <map>
#include <string>

#include "broker/config/broker_config.h"

namespace sluice::broker {

// Kafka's DescribeConfigs config sources.
enum class ConfigSource : int8_t {
  kDynamicTopic = 1,
  kStaticBroker = 4,
  kDefault = 5,
};

struct DescribedConfig {
  std::string name;
  std::string value;
  ConfigSource source;
  // The broker property behind a topic config, when it was set explicitly.
  std::optional<std::pair<std::string, std::string>> broker_synonym;
};

std::vector<DescribedConfig> DescribeTopicConfigs(const config::Properties& broker,
                                                  const std::map<std::string, std::string>& overrides);

}  // namespace sluice::broker
