#pragma once
// The broker's properties (Kafka names) and the effective configuration of a topic: its own
// overrides on top of the broker-level defaults.

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "storage/log/partition_log.h"

namespace sluice::broker {

const config::Schema& BrokerSchema();

// Effective topic configs: every topic config key with its value and whether the topic set it.
struct TopicConfigValue {
  std::string value;
  bool is_topic_override = false;
};
std::map<std::string, TopicConfigValue> EffectiveTopicConfigs(const config::Properties& broker,
                                                              const std::map<std::string, std::string>& overrides);
storage::LogConfig ToLogConfig(const std::map<std::string, TopicConfigValue>& effective);

// log.retention.ms, else .minutes, else .hours (Kafka's precedence).
int64_t BrokerRetentionMs(const config::Properties& broker);

}  // namespace sluice::broker
