// FindCoordinator, JoinGroup, SyncGroup, Heartbeat and LeaveGroup.

#include <asio/post.hpp>

#include "broker/groups/coordinator_key.h"
#include "broker/groups/group_handlers.h"
#include "broker/handlers/authorization.h"
#include "broker/txn/transaction_records.h"
#include "common/absl_compat.h"
#include "common/log.h"
#include "protocol/kafka/messages/find_coordinator.h"
#include "protocol/kafka/messages/heartbeat.h"
#include "protocol/kafka/messages/join_group.h"
#include "protocol/kafka/messages/leave_group.h"
#include "protocol/kafka/messages/sync_group.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;
using kafka::ToInt;

constexpr int8_t kGroupKeyType = 0;
constexpr int8_t kTransactionKeyType = 1;

// Kafka reports client hosts as "/address".
std::string ClientHost(const std::string& peer) {
  const size_t colon = peer.rfind(':');
  return "/" + (colon == std::string::npos ? peer : peer.substr(0, colon));
}

// JoinGroup, SyncGroup, Heartbeat and LeaveGroup need READ on the group.
bool ReadGroupAllowed(BrokerContext& broker, const RequestContext& request, const std::string& group) {
  return RequestAuthorizer(broker, request)
      .Check(AclOperation::kRead, ResourceType::kGroup, group, ErrorCode::kGroupAuthorizationFailed);
}

std::string ClientId(const RequestContext& request) { return request.header.client_id.value_or(""); }

kafka::FindCoordinatorResponse::Coordinator Locate(BrokerContext& broker, const RequestAuthorizer& authorizer,
                                                   const metadata::MetadataImage& image, std::string_view listener,
                                                   int8_t key_type, const std::string& key) {
  kafka::FindCoordinatorResponse::Coordinator c;
  c.key = key;
  c.node_id = -1;
  c.port = -1;
  c.error_message = std::nullopt;
  auto fail = [&c](ErrorCode error, std::string message) {
    c.error_code = ToInt(error);
    c.error_message = std::move(message);
  };
  if (key_type == kTransactionKeyType &&
      !authorizer.Check(AclOperation::kDescribe, ResourceType::kTransactionalId, key,
                        ErrorCode::kTransactionalIdAuthorizationFailed)) {
    fail(ErrorCode::kTransactionalIdAuthorizationFailed, "Transactional Id authorization failed.");
  } else if (key_type == kTransactionKeyType && key.empty()) {
    fail(ErrorCode::kInvalidRequest, "the transactional id is empty");
  } else if (key_type == kGroupKeyType &&
             !authorizer.Check(AclOperation::kDescribe, ResourceType::kGroup, key, ErrorCode::kGroupAuthorizationFailed)) {
    fail(ErrorCode::kGroupAuthorizationFailed, "Group authorization failed.");
  } else if (key_type != kGroupKeyType && key_type != kTransactionKeyType) {
    fail(ErrorCode::kInvalidRequest, "unknown coordinator key type");
  } else if (key_type == kGroupKeyType && key.empty()) {
    fail(ErrorCode::kInvalidGroupId, "the group id is empty");
  } else {
    const bool txn = key_type == kTransactionKeyType;
    auto topic = image.FindTopic(txn ? txn::kTransactionStateTopic : groups::kOffsetsTopic);
    const int32_t partition = txn ? broker.txn_coordinator.PartitionFor(key) : broker.groups.PartitionFor(key);
    const int32_t leader =
        topic && partition < static_cast<int32_t>(topic->partitions.size()) ? topic->partitions[partition].leader : -1;
    const metadata::BrokerInfo* info = leader >= 0 ? image.FindBroker(leader) : nullptr;
    const std::optional<metadata::BrokerEndpointInfo> endpoint =
        info != nullptr ? info->Endpoint(listener) : std::nullopt;
    if (info == nullptr || info->fenced) {
      fail(ErrorCode::kCoordinatorNotAvailable, txn ? "the transactional id's state partition has no live leader"
                                                     : "the group's offsets partition has no live leader");
    } else if (!endpoint) {
      fail(ErrorCode::kCoordinatorNotAvailable, "the coordinator has no listener of the name this client uses");
    } else {
      c.node_id = leader;
      c.host = endpoint->host;
      c.port = endpoint->port;
    }
  }
  return c;
}

void AnswerFindCoordinator(BrokerContext& broker, const RequestPtr& request,
                           std::shared_ptr<kafka::FindCoordinatorRequest> body, bool may_create) {
  const std::vector<std::string> keys =
      request->version() >= 4 ? body->coordinator_keys : std::vector<std::string>{body->key};
  auto image = broker.metadata.Current();
  // Like Kafka, the internal topics are created on first use; answer once they exist here.
  auto answer_later = [&broker, request, body](bool) {
    asio::post(request->io, [&broker, request, body] { AnswerFindCoordinator(broker, request, body, false); });
  };
  if (may_create && body->key_type == kGroupKeyType && !image->FindTopic(groups::kOffsetsTopic)) {
    broker.groups.EnsureOffsetsTopic(answer_later);
    return;
  }
  if (may_create && body->key_type == kTransactionKeyType && !image->FindTopic(txn::kTransactionStateTopic)) {
    broker.txn_coordinator.EnsureStateTopic(answer_later);
    return;
  }
  kafka::FindCoordinatorResponse response;
  const RequestAuthorizer authorizer(broker, *request);
  for (const auto& key : keys) {
    response.coordinators.push_back(Locate(broker, authorizer, *image, request->listener, body->key_type, key));
  }
  if (request->version() < 4 && !response.coordinators.empty()) {
    const auto& c = response.coordinators.front();
    response.error_code = c.error_code;
    response.error_message = c.error_message;
    response.node_id = c.node_id;
    response.host = c.host;
    response.port = c.port;
    response.coordinators.clear();
  }
  request->Respond(response);
}

}  // namespace

void HandleFindCoordinator(BrokerContext& broker, RequestPtr request) {
  auto body = std::make_shared<kafka::FindCoordinatorRequest>();
  if (!request->Decode(*body)) return;
  AnswerFindCoordinator(broker, request, std::move(body), true);
}

void HandleJoinGroup(BrokerContext& broker, RequestPtr request) {
  kafka::JoinGroupRequest body;
  if (!request->Decode(body)) return;
  const int16_t version = request->version();
  auto respond = [request, version](groups::JoinResult result) {
    kafka::JoinGroupResponse response;
    response.error_code = ToInt(result.error);
    response.generation_id = result.generation;
    if (version >= 7) {
      if (!result.protocol_type.empty() && result.error == ErrorCode::kNone) response.protocol_type = result.protocol_type;
      response.protocol_name = result.protocol_name;
    } else {
      response.protocol_name = result.protocol_name.value_or("");
    }
    response.leader = result.leader;
    response.member_id = result.member_id;
    response.skip_assignment = result.skip_assignment;
    for (auto& m : result.members) {
      kafka::JoinGroupResponse::JoinGroupResponseMember member;
      member.member_id = std::move(m.member_id);
      member.group_instance_id = std::move(m.instance_id);
      member.metadata = std::move(m.metadata);
      response.members.push_back(std::move(member));
    }
    request->Respond(response);
  };
  if (!ReadGroupAllowed(broker, *request, body.group_id)) {
    return respond({.error = ErrorCode::kGroupAuthorizationFailed, .member_id = body.member_id});
  }
  const auto& options = broker.groups.options();
  if (body.session_timeout_ms < options.min_session_timeout_ms || body.session_timeout_ms > options.max_session_timeout_ms) {
    return respond({.error = ErrorCode::kInvalidSessionTimeout, .member_id = body.member_id});
  }
  groups::JoinParams params{.member_id = body.member_id,
                            .instance_id = body.group_instance_id,
                            .client_id = ClientId(*request),
                            .client_host = ClientHost(request->peer),
                            .session_timeout_ms = body.session_timeout_ms,
                            // v0 has no rebalance timeout: the session timeout bounds the rebalance.
                            .rebalance_timeout_ms = version == 0 ? body.session_timeout_ms : body.rebalance_timeout_ms,
                            .protocol_type = body.protocol_type,
                            .require_known_member_id = version >= 4,
                            .supports_skip_assignment = version >= 9};
  for (auto& p : body.protocols) params.protocols.push_back({std::move(p.name), std::move(p.metadata)});
  broker.groups.Post([&broker, group_id = std::move(body.group_id), params = std::move(params),
                      respond = std::move(respond)]() mutable {
    auto& coordinator = broker.groups;
    if (ErrorCode error = coordinator.CheckGroupId(group_id); error != ErrorCode::kNone) {
      return respond({.error = error, .member_id = params.member_id});
    }
    groups::Group* group = coordinator.Find(group_id);
    if (group == nullptr) {
      if (!params.member_id.empty()) return respond({.error = ErrorCode::kUnknownMemberId, .member_id = params.member_id});
      group = &coordinator.FindOrCreate(group_id);
    }
    group->Join(std::move(params), coordinator.NowMs(), std::move(respond));
  });
}

void HandleSyncGroup(BrokerContext& broker, RequestPtr request) {
  kafka::SyncGroupRequest body;
  if (!request->Decode(body)) return;
  auto respond = [request](groups::SyncResult result) {
    kafka::SyncGroupResponse response;
    response.error_code = ToInt(result.error);
    if (result.error == ErrorCode::kNone) {
      response.protocol_type = result.protocol_type;
      response.protocol_name = result.protocol_name;
    }
    response.assignment = std::move(result.assignment);
    request->Respond(response);
  };
  if (!ReadGroupAllowed(broker, *request, body.group_id)) return respond({.error = ErrorCode::kGroupAuthorizationFailed});
  groups::SyncParams params{.member_id = body.member_id,
                            .instance_id = body.group_instance_id,
                            .generation = body.generation_id,
                            .protocol_type = body.protocol_type,
                            .protocol_name = body.protocol_name};
  for (auto& a : body.assignments) params.assignments.emplace_back(std::move(a.member_id), std::move(a.assignment));
  broker.groups.Post([&broker, group_id = std::move(body.group_id), params = std::move(params),
                      respond = std::move(respond)]() mutable {
    auto& coordinator = broker.groups;
    if (ErrorCode error = coordinator.CheckGroupId(group_id); error != ErrorCode::kNone) return respond({.error = error});
    groups::Group* group = coordinator.Find(group_id);
    if (group == nullptr) return respond({.error = ErrorCode::kUnknownMemberId});
    group->Sync(std::move(params), coordinator.NowMs(), std::move(respond));
  });
}

void HandleHeartbeat(BrokerContext& broker, RequestPtr request) {
  auto body = std::make_shared<kafka::HeartbeatRequest>();
  if (!request->Decode(*body)) return;
  if (!ReadGroupAllowed(broker, *request, body->group_id)) {
    kafka::HeartbeatResponse response;
    response.error_code = ToInt(ErrorCode::kGroupAuthorizationFailed);
    return request->Respond(response);
  }
  broker.groups.Post([&broker, request, body] {
    auto& coordinator = broker.groups;
    ErrorCode error = coordinator.CheckGroupId(body->group_id);
    if (error == ErrorCode::kNone) {
      groups::Group* group = coordinator.Find(body->group_id);
      error = group == nullptr ? ErrorCode::kUnknownMemberId
                               : group->Heartbeat(body->member_id, body->group_instance_id, body->generation_id,
                                                  coordinator.NowMs());
    }
    kafka::HeartbeatResponse response;
    response.error_code = ToInt(error);
    request->Respond(response);
  });
}

void HandleLeaveGroup(BrokerContext& broker, RequestPtr request) {
  auto body = std::make_shared<kafka::LeaveGroupRequest>();
  if (!request->Decode(*body)) return;
  if (request->version() < 3) body->members = {{.member_id = body->member_id}};
  if (!ReadGroupAllowed(broker, *request, body->group_id)) {
    kafka::LeaveGroupResponse response;
    response.error_code = ToInt(ErrorCode::kGroupAuthorizationFailed);
    return request->Respond(response);
  }
  broker.groups.Post([&broker, request, body] {
    auto& coordinator = broker.groups;
    kafka::LeaveGroupResponse response;
    ErrorCode error = coordinator.CheckGroupId(body->group_id);
    if (error != ErrorCode::kNone) {
      response.error_code = ToInt(error);
      return request->Respond(response);
    }
    groups::Group* group = coordinator.Find(body->group_id);
    for (const auto& m : body->members) {
      kafka::LeaveGroupResponse::MemberResponse out;
      out.member_id = m.member_id;
      out.group_instance_id = m.group_instance_id;
      out.error_code = ToInt(group == nullptr ? ErrorCode::kUnknownMemberId
                                              : group->Leave(m.member_id, m.group_instance_id, coordinator.NowMs()));
      response.members.push_back(std::move(out));
    }
    if (request->version() < 3) {
      response.error_code = response.members.empty() ? 0 : response.members.front().error_code;
      response.members.clear();
    }
    request->Respond(response);
  });
}

}  // namespace sluice::broker
