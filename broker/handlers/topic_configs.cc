#include "broker/handlers/topic_configs.h"

#include "protocol/metadata/topic_config.h"

namespace sluice::broker {

std::vector<DescribedConfig> DescribeTopicConfigs(const config::Properties& broker,
                                                  const std::map<std::string, std::string>& overrides) {
  std::vector<DescribedConfig> out;
  const auto effective = EffectiveTopicConfigs(broker, overrides);
  for (const auto& key : metadata::TopicConfigKeys()) {
    const TopicConfigValue& value = effective.at(key.topic_name);
    DescribedConfig described{.name = key.topic_name, .value = value.value, .source = ConfigSource::kDefault};
    const bool broker_set = broker.IsSet(key.broker_name) ||
                            (key.topic_name == "retention.ms" &&
                             (broker.IsSet("log.retention.minutes") || broker.IsSet("log.retention.hours")));
    if (broker_set) described.broker_synonym.emplace(key.broker_name, broker.GetString(key.broker_name));
    if (value.is_topic_override) {
      described.source = ConfigSource::kDynamicTopic;
    } else if (broker_set) {
      described.source = ConfigSource::kStaticBroker;
    }
    out.push_back(std::move(described));
  }
  return out;
}

}  // namespace sluice::broker
