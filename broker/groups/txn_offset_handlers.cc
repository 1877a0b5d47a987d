// TxnOffsetCommit: a transactional producer's consumer offsets (KIP-98, KIP-447), written into
// its transaction so that they count only if it commits.

#include <memory>
#include <set>

#include "broker/groups/group_handlers.h"
#include "broker/handlers/authorization.h"
#include "protocol/kafka/messages/txn_offset_commit.h"

namespace sluice::broker {

using kafka::ErrorCode;
using kafka::ToInt;

void HandleTxnOffsetCommit(BrokerContext& broker, RequestPtr request) {
  auto body = std::make_shared<kafka::TxnOffsetCommitRequest>();
  if (!request->Decode(*body)) return;
  // WRITE on the transactional id, READ on the group, then READ on each topic, as Kafka checks.
  const RequestAuthorizer authorizer(broker, *request);
  ErrorCode refused = ErrorCode::kNone;
  if (!authorizer.Check(AclOperation::kWrite, ResourceType::kTransactionalId, body->transactional_id,
                        ErrorCode::kTransactionalIdAuthorizationFailed)) {
    refused = ErrorCode::kTransactionalIdAuthorizationFailed;
  } else if (!authorizer.Check(AclOperation::kRead, ResourceType::kGroup, body->group_id,
                               ErrorCode::kGroupAuthorizationFailed)) {
    refused = ErrorCode::kGroupAuthorizationFailed;
  }
  std::set<std::string> denied_topics;
  if (refused == ErrorCode::kNone) {
    for (const auto& topic : body->topics) {
      if (!authorizer.Check(AclOperation::kRead, ResourceType::kTopic, topic.name,
                            ErrorCode::kTopicAuthorizationFailed)) {
        denied_topics.insert(topic.name);
      }
    }
  }
  broker.groups.Post([&broker, request, body, refused, denied_topics = std::move(denied_topics)] {
    auto& coordinator = broker.groups;
    ErrorCode error = refused != ErrorCode::kNone ? refused : coordinator.CheckGroupId(body->group_id);
    groups::Group* group = nullptr;
    if (error == ErrorCode::kNone) {
      group = coordinator.Find(body->group_id);
      // A producer that commits for a group nobody has joined (assign() consumers) creates it.
      if (group == nullptr && body->generation_id < 0) group = &coordinator.FindOrCreate(body->group_id);
      error = group == nullptr ? ErrorCode::kIllegalGeneration
                               : group->ValidateTxnCommit(body->member_id, body->group_instance_id,
                                                          body->generation_id);
    }
    auto image = broker.metadata.Current();
    const int32_t max_metadata = coordinator.options().offset_metadata_max_bytes;
    const int64_t now = coordinator.NowMs();
    auto response = std::make_shared<kafka::TxnOffsetCommitResponse>();
    std::vector<std::pair<groups::TopicPartition, groups::CommittedOffset>> accepted;
    std::vector<std::pair<size_t, size_t>> accepted_at;  // (topic, partition) indexes in the response
    for (const auto& topic : body->topics) {
      auto& out = response->topics.emplace_back();
      out.name = topic.name;
      auto info = image->FindTopic(topic.name);
      for (const auto& p : topic.partitions) {
        auto& partition = out.partitions.emplace_back();
        partition.partition_index = p.partition_index;
        ErrorCode partition_error = error;
        if (partition_error == ErrorCode::kNone && denied_topics.count(topic.name) > 0) {
          partition_error = ErrorCode::kTopicAuthorizationFailed;
        } else if (partition_error == ErrorCode::kNone &&
                   (!info || p.partition_index < 0 || p.partition_index >= static_cast<int32_t>(info->partitions.size()))) {
          partition_error = ErrorCode::kUnknownTopicOrPartition;
        } else if (partition_error == ErrorCode::kNone && p.committed_metadata &&
                   static_cast<int32_t>(p.committed_metadata->size()) > max_metadata) {
          partition_error = ErrorCode::kOffsetMetadataTooLarge;
        }
        partition.error_code = ToInt(partition_error);
        if (partition_error != ErrorCode::kNone) continue;
        accepted.emplace_back(groups::TopicPartition(topic.name, p.partition_index),
                              groups::CommittedOffset{.offset = p.committed_offset,
                                                      .leader_epoch = p.committed_leader_epoch,
                                                      .metadata = p.committed_metadata,
                                                      .commit_timestamp_ms = now});
        accepted_at.emplace_back(response->topics.size() - 1, out.partitions.size() - 1);
      }
    }
    if (accepted.empty()) return request->Respond(*response);
    coordinator.CommitTxnOffsets(body->group_id, body->producer_id, body->producer_epoch, std::move(accepted),
                                 [request, response, accepted_at = std::move(accepted_at)](ErrorCode written) {
                                   for (const auto& [t, p] : accepted_at) {
                                     response->topics[t].partitions[p].error_code = ToInt(written);
                                   }
                                   request->Respond(*response);
                                 });
  });
}

}  // namespace sluice::broker
