#pragma once
// Topic-level configuration: the properties a topic may override, each with the broker
// property that supplies its default (Kafka's naming). Shared by the controller, which
// validates changes, and the broker, which resolves effective values.

#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"

namespace sluice::metadata {

struct TopicConfigKey {
  std::string topic_name;   // e.g. retention.ms
  std::string broker_name;  // e.g. log.retention.ms: its value is the topic default
};

const std::vector<TopicConfigKey>& TopicConfigKeys();
// Validation schema for topic configs (defaults there are Kafka's built-in ones).
const config::Schema& TopicConfigSchema();
// Checks a proposed topic config value: known key, valid value, and supported by Sluice.
absl::Status ValidateTopicConfig(std::string_view key, std::string_view value);
// Comma-separated lists in Kafka (cleanup.policy), which IncrementalAlterConfigs' APPEND and
// SUBTRACT edit element by element.
bool IsListTopicConfig(std::string_view key);

}  // namespace sluice::metadata
