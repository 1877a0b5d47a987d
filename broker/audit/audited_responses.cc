#include "broker/audit/audited_responses.h"

#include <fmt/format.h>

namespace sluice::broker::audit {
namespace {

// Config resource types as AlterConfigs numbers them (Kafka's ConfigResource.Type).
std::string_view ConfigResourceType(int8_t type) {
  switch (type) {
    case 2: return "TOPIC";
    case 4: return "BROKER";
    case 8: return "BROKER_LOGGER";
    default: return "UNKNOWN";
  }
}

std::string TopicPartition(const std::string& topic, int32_t partition) { return fmt::format("{}-{}", topic, partition); }

}  // namespace

void AppendResources(const kafka::CreateTopicsResponse& response, std::vector<AuditedResource>& out) {
  for (const auto& topic : response.topics) out.push_back({"TOPIC", topic.name, topic.error_code});
}

void AppendResources(const kafka::DeleteTopicsResponse& response, std::vector<AuditedResource>& out) {
  for (const auto& topic : response.responses) out.push_back({"TOPIC", topic.name.value_or(""), topic.error_code});
}

void AppendResources(const kafka::CreatePartitionsResponse& response, std::vector<AuditedResource>& out) {
  for (const auto& topic : response.results) out.push_back({"TOPIC", topic.name, topic.error_code});
}

void AppendResources(const kafka::AlterConfigsResponse& response, std::vector<AuditedResource>& out) {
  for (const auto& r : response.responses) {
    out.push_back({ConfigResourceType(r.resource_type), r.resource_name, r.error_code});
  }
}

void AppendResources(const kafka::IncrementalAlterConfigsResponse& response, std::vector<AuditedResource>& out) {
  for (const auto& r : response.responses) {
    out.push_back({ConfigResourceType(r.resource_type), r.resource_name, r.error_code});
  }
}

void AppendResources(const kafka::AlterPartitionReassignmentsResponse& response, std::vector<AuditedResource>& out) {
  for (const auto& topic : response.responses) {
    for (const auto& p : topic.partitions) {
      // A request-level error (e.g. NOT_CONTROLLER) is every partition's result.
      out.push_back({"TOPIC_PARTITION", TopicPartition(topic.name, p.partition_index),
                     response.error_code != 0 ? response.error_code : p.error_code});
    }
  }
}

void AppendResources(const kafka::DeleteRecordsResponse& response, std::vector<AuditedResource>& out) {
  for (const auto& topic : response.topics) {
    for (const auto& p : topic.partitions) {
      out.push_back({"TOPIC_PARTITION", TopicPartition(topic.name, p.partition_index), p.error_code});
    }
  }
}

void AppendResources(const kafka::ElectLeadersResponse& response, std::vector<AuditedResource>& out) {
  if (response.replica_election_results.empty() && response.error_code != 0) {
    out.push_back({"CLUSTER", "kafka-cluster", response.error_code});
  }
  for (const auto& topic : response.replica_election_results) {
    for (const auto& p : topic.partition_result) {
      out.push_back({"TOPIC_PARTITION", TopicPartition(topic.topic, p.partition_id),
                     response.error_code != 0 ? response.error_code : p.error_code});
    }
  }
}

void AppendResources(const kafka::DeleteGroupsResponse& response, std::vector<AuditedResource>& out) {
  for (const auto& group : response.results) out.push_back({"GROUP", group.group_id, group.error_code});
}

void AppendResources(const kafka::OffsetDeleteResponse& response, std::vector<AuditedResource>& out) {
  for (const auto& topic : response.topics) {
    for (const auto& p : topic.partitions) {
      out.push_back({"TOPIC_PARTITION", TopicPartition(topic.name, p.partition_index),
                     response.error_code != 0 ? response.error_code : p.error_code});
    }
  }
}

void AppendResources(const kafka::AlterUserScramCredentialsResponse& response, std::vector<AuditedResource>& out) {
  for (const auto& r : response.results) out.push_back({"USER", r.user, r.error_code});
}

}  // namespace sluice::broker::audit
