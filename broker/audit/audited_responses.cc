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

// e.g. TOPIC:PREFIXED:orders- User:alice ALLOW READ from *
std::string DescribeBinding(const security::AclBinding& b) {
  return fmt::format("{}:{}:{} {} {} {} from {}", security::ResourceTypeName(b.resource_type),
                     security::PatternTypeName(b.pattern_type), b.resource_name, b.principal,
                     security::AclPermissionName(b.permission), security::AclOperationName(b.operation), b.host);
}

std::string DescribeFilter(const security::AclBindingFilter& f) {
  return fmt::format("filter {}:{}:{} {} {} {} from {}", security::ResourceTypeName(f.resource_type),
                     security::PatternTypeName(f.pattern_type), f.resource_name.value_or("(any)"),
                     f.principal.value_or("(any)"), security::AclPermissionName(f.permission),
                     security::AclOperationName(f.operation), f.host.value_or("(any)"));
}

}  // namespace

void AppendAclResources(const std::vector<security::AclBinding>& creations, const kafka::CreateAclsResponse& response,
                        std::vector<AuditedResource>& out) {
  for (size_t i = 0; i < creations.size() && i < response.results.size(); ++i) {
    out.push_back({"ACL", DescribeBinding(creations[i]), response.results[i].error_code});
  }
}

void AppendAclResources(const std::vector<security::AclBindingFilter>& filters,
                        const kafka::DeleteAclsResponse& response, std::vector<AuditedResource>& out) {
  for (size_t i = 0; i < filters.size() && i < response.filter_results.size(); ++i) {
    const auto& result = response.filter_results[i];
    if (result.error_code != 0) out.push_back({"ACL", DescribeFilter(filters[i]), result.error_code});
    for (const auto& m : result.matching_acls) {
      const security::AclBinding b{.resource_type = security::ToResourceType(m.resource_type),
                                   .resource_name = m.resource_name,
                                   .pattern_type = security::ToPatternType(m.pattern_type),
                                   .principal = m.principal,
                                   .host = m.host,
                                   .operation = security::ToAclOperation(m.operation),
                                   .permission = security::ToAclPermission(m.permission_type)};
      out.push_back({"ACL", DescribeBinding(b), m.error_code});
    }
  }
}

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
