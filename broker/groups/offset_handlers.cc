// OffsetCommit, OffsetFetch and OffsetDelete.

#include <functional>
#include <set>

#include "broker/groups/group_handlers.h"
#include "broker/handlers/authorization.h"
#include "common/absl_compat.h"
#include "common/log.h"
#include "protocol/kafka/messages/offset_commit.h"
#include "protocol/kafka/messages/offset_delete.h"
#include "protocol/kafka/messages/offset_fetch.h"
#include "protocol/kafka/wire.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;
using kafka::ToInt;

bool PartitionExists(const metadata::MetadataImage& image, const std::string& topic, int32_t partition) {
  auto info = image.FindTopic(topic);
  return info && partition >= 0 && partition < static_cast<int32_t>(info->partitions.size());
}

// A group partition whose offset an open transaction may still replace (require_stable).
using UnstableCheck = std::function<bool(const groups::TopicPartition&)>;

// Fills an OffsetFetch topic list (the v0-7 or the v8+ shape: same fields, different types).
// Topics the principal may not describe are left out of "all topics" and refused when named.
// With `unstable` (require_stable, KIP-447), partitions with pending transactional offsets
// answer UNSTABLE_OFFSET_COMMIT, which clients retry.
template <class TopicOut, class TopicsIn>
std::vector<TopicOut> FetchOffsets(const groups::Group* group, const std::optional<TopicsIn>& wanted,
                                   const std::set<std::string>& hidden, const UnstableCheck& unstable = nullptr) {
  using PartitionOut = typename decltype(TopicOut::partitions)::value_type;
  std::vector<TopicOut> out;
  auto answer = [](int32_t partition, const groups::CommittedOffset* committed) {
    PartitionOut p;
    p.partition_index = partition;
    p.committed_offset = committed ? committed->offset : -1;
    p.committed_leader_epoch = committed ? committed->leader_epoch : -1;
    p.metadata = committed ? committed->metadata.value_or("") : "";
    return p;
  };
  auto mark_unstable = [&](const std::string& topic, PartitionOut& p) {
    if (!unstable || !unstable({topic, p.partition_index})) return;
    p = answer(p.partition_index, nullptr);
    p.error_code = ToInt(ErrorCode::kUnstableOffsetCommit);
  };
  if (!wanted) {  // every partition the group has an offset for
    if (group == nullptr) return out;
    for (const auto& [tp, committed] : group->offsets()) {
      if (hidden.count(tp.first) > 0) continue;
      if (out.empty() || out.back().name != tp.first) out.push_back(TopicOut{.name = tp.first});
      out.back().partitions.push_back(answer(tp.second, &committed));
      mark_unstable(tp.first, out.back().partitions.back());
    }
    return out;
  }
  for (const auto& topic : *wanted) {
    TopicOut t{.name = topic.name};
    for (int32_t partition : topic.partition_indexes) {
      const groups::CommittedOffset* committed = nullptr;
      if (group != nullptr) {
        auto it = group->offsets().find({topic.name, partition});
        if (it != group->offsets().end()) committed = &it->second;
      }
      t.partitions.push_back(answer(partition, committed));
      mark_unstable(topic.name, t.partitions.back());
      if (hidden.count(topic.name) > 0) {
        t.partitions.back() = answer(partition, nullptr);
        t.partitions.back().error_code = ToInt(ErrorCode::kTopicAuthorizationFailed);
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

// Topics named in the consumer protocol subscriptions of the group's members (each starts with
// int16 version and an array of topic names); nullopt when one cannot be read.
std::optional<std::set<std::string>> SubscribedTopics(const groups::Group& group) {
  std::set<std::string> topics;
  if (!group.protocol()) return topics;
  for (const auto& [id, member] : group.members()) {
    const std::string* metadata = member.MetadataFor(*group.protocol());
    if (metadata == nullptr) continue;
    kafka::Reader reader(*metadata);
    reader.ReadInt16();
    const int32_t count = reader.ReadArrayLength(false);
    for (int32_t i = 0; i < count && reader.ok(); ++i) topics.insert(reader.ReadString(false));
    if (!reader.ok()) return std::nullopt;
  }
  return topics;
}

// The topics of `topics` (or, when absent, of the group's offsets in `image`) that the principal
// may not `operation`; each refusal of a named topic is audited when `audit`.
template <class Topics>
std::set<std::string> DeniedTopics(const RequestAuthorizer& authorizer, AclOperation operation, const Topics& topics,
                                   bool audit) {
  std::set<std::string> denied;
  for (const auto& topic : topics) {
    const bool allowed = audit ? authorizer.Check(operation, ResourceType::kTopic, topic.name,
                                                  ErrorCode::kTopicAuthorizationFailed)
                               : authorizer.Allowed(operation, ResourceType::kTopic, topic.name);
    if (!allowed) denied.insert(topic.name);
  }
  return denied;
}

// The topics an OffsetFetch may not show: named ones the principal may not describe (refused,
// audited) and, when some group asks for all its topics, every such topic of the image (left
// out). Groups already refused are not looked at.
std::set<std::string> HiddenTopics(const RequestAuthorizer& authorizer, const metadata::MetadataImage& image,
                                   const kafka::OffsetFetchRequest& body, int16_t version,
                                   const std::set<std::string>& denied_groups) {
  std::set<std::string> hidden;
  if (!authorizer.enabled()) return hidden;
  bool all_topics = false;
  auto named = [&](const auto& topics) {
    if (!topics) {
      all_topics = true;
      return;
    }
    for (const auto& topic : *topics) {
      if (!authorizer.Check(AclOperation::kDescribe, ResourceType::kTopic, topic.name,
                            ErrorCode::kTopicAuthorizationFailed)) {
        hidden.insert(topic.name);
      }
    }
  };
  if (version >= 8) {
    for (const auto& g : body.groups) {
      if (denied_groups.count(g.group_id) == 0) named(g.topics);
    }
  } else if (denied_groups.count(body.group_id) == 0) {
    named(body.topics);
  }
  if (all_topics) {
    for (const auto& [name, topic] : image.topics()) {
      if (!authorizer.Allowed(AclOperation::kDescribe, ResourceType::kTopic, name)) hidden.insert(name);
    }
  }
  return hidden;
}

}  // namespace

void HandleOffsetCommit(BrokerContext& broker, RequestPtr request) {
  auto body = std::make_shared<kafka::OffsetCommitRequest>();
  if (!request->Decode(*body)) return;
  // READ on the group, then READ on each topic, as Kafka checks them.
  const RequestAuthorizer authorizer(broker, *request);
  const bool group_allowed = authorizer.Check(AclOperation::kRead, ResourceType::kGroup, body->group_id,
                                              ErrorCode::kGroupAuthorizationFailed);
  std::set<std::string> denied =
      group_allowed ? DeniedTopics(authorizer, AclOperation::kRead, body->topics, true) : std::set<std::string>();
  broker.groups.Post([&broker, request, body, group_allowed, denied = std::move(denied)] {
    auto& coordinator = broker.groups;
    const int64_t now = coordinator.NowMs();
    ErrorCode error = group_allowed ? coordinator.CheckGroupId(body->group_id) : ErrorCode::kGroupAuthorizationFailed;
    groups::Group* group = nullptr;
    if (error == ErrorCode::kNone) {
      group = coordinator.Find(body->group_id);
      if (group == nullptr && body->generation_id_or_member_epoch < 0) group = &coordinator.FindOrCreate(body->group_id);
      error = group == nullptr ? ErrorCode::kIllegalGeneration
                               : group->ValidateCommit(body->member_id, body->group_instance_id,
                                                       body->generation_id_or_member_epoch, now);
    }
    auto image = broker.metadata.Current();
    const int32_t max_metadata = coordinator.options().offset_metadata_max_bytes;
    kafka::OffsetCommitResponse response;
    std::vector<std::pair<groups::TopicPartition, groups::CommittedOffset>> accepted;
    std::vector<int16_t*> accepted_errors;
    for (const auto& topic : body->topics) {
      response.topics.push_back({.name = topic.name});
      auto& partitions = response.topics.back().partitions;
      partitions.reserve(topic.partitions.size());  // keeps accepted_errors' pointers valid
      for (const auto& p : topic.partitions) {
        partitions.push_back({.partition_index = p.partition_index});
        ErrorCode partition_error = error;
        if (partition_error == ErrorCode::kNone && denied.count(topic.name) > 0) {
          partition_error = ErrorCode::kTopicAuthorizationFailed;
        } else if (partition_error == ErrorCode::kNone && !PartitionExists(*image, topic.name, p.partition_index)) {
          partition_error = ErrorCode::kUnknownTopicOrPartition;
        } else if (partition_error == ErrorCode::kNone && p.committed_metadata &&
                   static_cast<int32_t>(p.committed_metadata->size()) > max_metadata) {
          partition_error = ErrorCode::kOffsetMetadataTooLarge;
        }
        partitions.back().error_code = ToInt(partition_error);
        if (partition_error != ErrorCode::kNone) continue;
        groups::CommittedOffset committed{.offset = p.committed_offset,
                                          .leader_epoch = p.committed_leader_epoch,
                                          .metadata = p.committed_metadata,
                                          .commit_timestamp_ms = now,
                                          .expire_timestamp_ms = body->retention_time_ms > 0 ? now + body->retention_time_ms : -1};
        accepted.emplace_back(groups::TopicPartition(topic.name, p.partition_index), std::move(committed));
        accepted_errors.push_back(&partitions.back().error_code);
      }
    }
    if (group == nullptr) return request->Respond(response);
    // Answered only once the ISR holds the records.
    auto shared = std::make_shared<kafka::OffsetCommitResponse>(std::move(response));
    coordinator.CommitOffsets(
        body->group_id, std::move(accepted),
        [request, body, shared, accepted_errors = std::move(accepted_errors)](absl::Status status) {
          if (!status.ok()) {
            log::Warn("group {}: offset commit failed: {}", body->group_id, status);
            for (int16_t* code : accepted_errors) *code = ToInt(ErrorCode::kCoordinatorNotAvailable);
          }
          request->Respond(*shared);
        });
  });
}

void HandleOffsetFetch(BrokerContext& broker, RequestPtr request) {
  auto body = std::make_shared<kafka::OffsetFetchRequest>();
  if (!request->Decode(*body)) return;
  if (request->version() < 2 && !body->topics) body->topics.emplace();  // v1 has no "all topics"
  // DESCRIBE on each group and on each topic, decided here on the connection's thread.
  const RequestAuthorizer authorizer(broker, *request);
  auto group_allowed = [&authorizer](const std::string& group) {
    return authorizer.Check(AclOperation::kDescribe, ResourceType::kGroup, group, ErrorCode::kGroupAuthorizationFailed);
  };
  std::set<std::string> denied_groups;
  if (request->version() >= 8) {
    for (const auto& g : body->groups) {
      if (!group_allowed(g.group_id)) denied_groups.insert(g.group_id);
    }
  } else if (!group_allowed(body->group_id)) {
    denied_groups.insert(body->group_id);
  }
  const std::set<std::string> hidden =
      HiddenTopics(authorizer, *broker.metadata.Current(), *body, request->version(), denied_groups);
  broker.groups.Post([&broker, request, body, hidden, denied_groups = std::move(denied_groups)] {
    auto& coordinator = broker.groups;
    auto check = [&](const std::string& group) {
      return denied_groups.count(group) > 0 ? ErrorCode::kGroupAuthorizationFailed : coordinator.CheckGroupId(group);
    };
    kafka::OffsetFetchResponse response;
    auto unstable_in = [&](const std::string& group) -> UnstableCheck {
      if (!body->require_stable) return nullptr;
      return [&coordinator, group](const groups::TopicPartition& tp) { return coordinator.HasPendingTxnOffset(group, tp); };
    };
    if (request->version() >= 8) {
      for (const auto& g : body->groups) {
        kafka::OffsetFetchResponse::OffsetFetchResponseGroup out{.group_id = g.group_id};
        const ErrorCode error = check(g.group_id);
        out.error_code = ToInt(error);
        if (error == ErrorCode::kNone) {
          out.topics = FetchOffsets<kafka::OffsetFetchResponse::OffsetFetchResponseTopics>(
              coordinator.Find(g.group_id), g.topics, hidden, unstable_in(g.group_id));
        }
        response.groups.push_back(std::move(out));
      }
      return request->Respond(response);
    }
    const ErrorCode error = check(body->group_id);
    if (error == ErrorCode::kNone) {
      response.topics = FetchOffsets<kafka::OffsetFetchResponse::OffsetFetchResponseTopic>(
          coordinator.Find(body->group_id), body->topics, hidden, unstable_in(body->group_id));
    } else if (request->version() >= 2) {
      response.error_code = ToInt(error);
    } else {  // v1 reports errors per partition only
      response.topics = FetchOffsets<kafka::OffsetFetchResponse::OffsetFetchResponseTopic>(nullptr, body->topics, {});
      for (auto& t : response.topics) {
        for (auto& p : t.partitions) p.error_code = ToInt(error);
      }
    }
    request->Respond(response);
  });
}

void HandleOffsetDelete(BrokerContext& broker, RequestPtr request) {
  auto body = std::make_shared<kafka::OffsetDeleteRequest>();
  if (!request->Decode(*body)) return;
  // DELETE on the group, READ on each topic. The answer's audit lines carry the topics' refusals.
  const RequestAuthorizer authorizer(broker, *request);
  const bool group_allowed = authorizer.Check(AclOperation::kDelete, ResourceType::kGroup, body->group_id,
                                              ErrorCode::kGroupAuthorizationFailed);
  std::set<std::string> denied =
      group_allowed ? DeniedTopics(authorizer, AclOperation::kRead, body->topics, false) : std::set<std::string>();
  broker.groups.Post([&broker, request, body, group_allowed, denied = std::move(denied)] {
    auto& coordinator = broker.groups;
    kafka::OffsetDeleteResponse response;
    ErrorCode error = group_allowed ? coordinator.CheckGroupId(body->group_id) : ErrorCode::kGroupAuthorizationFailed;
    groups::Group* group = error == ErrorCode::kNone ? coordinator.Find(body->group_id) : nullptr;
    if (error == ErrorCode::kNone && group == nullptr) error = ErrorCode::kGroupIdNotFound;
    std::optional<std::set<std::string>> subscribed = std::set<std::string>();
    if (group != nullptr && group->state() != groups::GroupState::kEmpty) {
      // Offsets of topics the live members consume cannot go (KIP-496).
      if (group->protocol_type() != "consumer") error = ErrorCode::kNonEmptyGroup;
      else subscribed = SubscribedTopics(*group);
    }
    if (error != ErrorCode::kNone) {
      response.error_code = ToInt(error);
      return request->Respond(response);
    }
    auto image = broker.metadata.Current();
    std::vector<groups::TopicPartition> deleting;
    for (const auto& topic : body->topics) {
      response.topics.push_back({.name = topic.name});
      for (const auto& p : topic.partitions) {
        ErrorCode partition_error = ErrorCode::kNone;
        if (denied.count(topic.name) > 0) partition_error = ErrorCode::kTopicAuthorizationFailed;
        else if (!subscribed || subscribed->count(topic.name)) partition_error = ErrorCode::kGroupSubscribedToTopic;
        else if (!PartitionExists(*image, topic.name, p.partition_index)) partition_error = ErrorCode::kUnknownTopicOrPartition;
        else deleting.emplace_back(topic.name, p.partition_index);
        response.topics.back().partitions.push_back({.partition_index = p.partition_index, .error_code = ToInt(partition_error)});
      }
    }
    coordinator.DeleteOffsets(*group, deleting,
                              [request, body, response = std::move(response)](absl::Status status) mutable {
                                if (!status.ok()) {
                                  log::Warn("group {}: offset delete failed: {}", body->group_id, status);
                                  response = {};
                                  response.error_code = ToInt(ErrorCode::kCoordinatorNotAvailable);
                                }
                                request->Respond(response);
                              });
  });
}

}  // namespace sluice::broker
