#pragma once
// Which resources an admin response reports on, with each one's result: what the audit log
// records. Overloads exist for exactly the audited APIs; `Audited<Response>` tells them apart.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/security/acl_binding.h"
#include "protocol/kafka/messages/alter_configs.h"
#include "protocol/kafka/messages/alter_partition_reassignments.h"
#include "protocol/kafka/messages/alter_user_scram_credentials.h"
#include "protocol/kafka/messages/create_acls.h"
#include "protocol/kafka/messages/create_partitions.h"
#include "protocol/kafka/messages/create_topics.h"
#include "protocol/kafka/messages/delete_acls.h"
#include "protocol/kafka/messages/delete_groups.h"
#include "protocol/kafka/messages/delete_records.h"
#include "protocol/kafka/messages/delete_topics.h"
#include "protocol/kafka/messages/elect_leaders.h"
#include "protocol/kafka/messages/incremental_alter_configs.h"
#include "protocol/kafka/messages/offset_delete.h"

namespace sluice::broker::audit {

struct AuditedResource {
  // TOPIC, TOPIC_PARTITION, GROUP, BROKER, BROKER_LOGGER, CLUSTER, USER, TRANSACTIONAL_ID, ACL
  std::string_view type;
  std::string name;
  int16_t error_code = 0;
};

void AppendResources(const kafka::CreateTopicsResponse& response, std::vector<AuditedResource>& out);
void AppendResources(const kafka::DeleteTopicsResponse& response, std::vector<AuditedResource>& out);
void AppendResources(const kafka::CreatePartitionsResponse& response, std::vector<AuditedResource>& out);
void AppendResources(const kafka::AlterConfigsResponse& response, std::vector<AuditedResource>& out);
void AppendResources(const kafka::IncrementalAlterConfigsResponse& response, std::vector<AuditedResource>& out);
void AppendResources(const kafka::AlterPartitionReassignmentsResponse& response, std::vector<AuditedResource>& out);
void AppendResources(const kafka::DeleteRecordsResponse& response, std::vector<AuditedResource>& out);
void AppendResources(const kafka::ElectLeadersResponse& response, std::vector<AuditedResource>& out);
void AppendResources(const kafka::DeleteGroupsResponse& response, std::vector<AuditedResource>& out);
void AppendResources(const kafka::OffsetDeleteResponse& response, std::vector<AuditedResource>& out);
void AppendResources(const kafka::AlterUserScramCredentialsResponse& response, std::vector<AuditedResource>& out);

// CreateAcls and DeleteAcls answers do not name what they created or matched on failure, so
// these take the request's bindings (parallel to the results) and filters: one ACL line per
// creation, per deleted binding, and per filter that failed.
void AppendAclResources(const std::vector<security::AclBinding>& creations, const kafka::CreateAclsResponse& response,
                        std::vector<AuditedResource>& out);
void AppendAclResources(const std::vector<security::AclBindingFilter>& filters,
                        const kafka::DeleteAclsResponse& response, std::vector<AuditedResource>& out);

template <class Response>
concept Audited = requires(const Response& response, std::vector<AuditedResource>& out) {
  AppendResources(response, out);
};

}  // namespace sluice::broker::audit
