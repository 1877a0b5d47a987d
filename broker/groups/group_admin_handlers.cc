// DescribeGroups, ListGroups and DeleteGroups.

#include <algorithm>
#include <cctype>
#include <optional>

#include "broker/groups/group_handlers.h"
#include "broker/handlers/authorization.h"
#include "common/absl_compat.h"
#include "common/log.h"
#include "protocol/kafka/messages/delete_groups.h"
#include "protocol/kafka/messages/describe_groups.h"
#include "protocol/kafka/messages/list_groups.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;
using kafka::ToInt;

constexpr char kClassicGroupType[] = "classic";

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool Matches(const std::vector<std::string>& filter, std::string_view value) {
  return filter.empty() ||
         std::any_of(filter.begin(), filter.end(), [&](const std::string& f) { return EqualsIgnoreCase(f, value); });
}

kafka::DescribeGroupsResponse::DescribedGroup Describe(const groups::Group& group, std::optional<int32_t> operations) {
  kafka::DescribeGroupsResponse::DescribedGroup out;
  out.group_id = group.id();
  out.group_state = groups::GroupStateName(group.state());
  out.protocol_type = group.protocol_type();
  const bool settled = group.state() == groups::GroupState::kStable ||
                       group.state() == groups::GroupState::kCompletingRebalance;
  if (settled) out.protocol_data = group.protocol().value_or("");
  for (const auto& [id, member] : group.members()) {
    kafka::DescribeGroupsResponse::DescribedGroupMember m;
    m.member_id = id;
    m.group_instance_id = member.instance_id;
    m.client_id = member.client_id;
    m.client_host = member.client_host;
    // Like Kafka, subscriptions and assignments are shown only once they are settled.
    if (group.state() == groups::GroupState::kStable && group.protocol()) {
      const std::string* metadata = member.MetadataFor(*group.protocol());
      m.member_metadata = metadata ? *metadata : std::string();
      m.member_assignment = member.assignment;
    }
    out.members.push_back(std::move(m));
  }
  if (operations) out.authorized_operations = *operations;
  return out;
}

}  // namespace

void HandleDescribeGroups(BrokerContext& broker, RequestPtr request) {
  auto body = std::make_shared<kafka::DescribeGroupsRequest>();
  if (!request->Decode(*body)) return;
  broker.groups.Post([&broker, request, body] {
    auto& coordinator = broker.groups;
    kafka::DescribeGroupsResponse response;
    const RequestAuthorizer authorizer(broker, *request);
    for (const auto& id : body->groups) {
      const ErrorCode error =
          authorizer.Check(AclOperation::kDescribe, ResourceType::kGroup, id, ErrorCode::kGroupAuthorizationFailed)
              ? coordinator.CheckGroupId(id)
              : ErrorCode::kGroupAuthorizationFailed;
      const groups::Group* group = error == ErrorCode::kNone ? coordinator.Find(id) : nullptr;
      if (group != nullptr) {
        std::optional<int32_t> operations;
        if (body->include_authorized_operations) operations = authorizer.AuthorizedOperations(ResourceType::kGroup, id);
        response.groups.push_back(Describe(*group, operations));
        continue;
      }
      kafka::DescribeGroupsResponse::DescribedGroup out;
      out.group_id = id;
      out.error_code = ToInt(error);
      // An unknown group is described as Dead with no error, as Kafka does before v6.
      if (error == ErrorCode::kNone) out.group_state = groups::GroupStateName(groups::GroupState::kDead);
      response.groups.push_back(std::move(out));
    }
    request->Respond(response);
  });
}

void HandleListGroups(BrokerContext& broker, RequestPtr request) {
  auto body = std::make_shared<kafka::ListGroupsRequest>();
  if (!request->Decode(*body)) return;
  broker.groups.Post([&broker, request, body] {
    auto& coordinator = broker.groups;
    kafka::ListGroupsResponse response;
    if (coordinator.AnyLoading()) response.error_code = ToInt(ErrorCode::kCoordinatorLoadInProgress);
    const bool classic_wanted = Matches(body->types_filter, kClassicGroupType);
    // DESCRIBE on the cluster lists every group; otherwise those the principal may describe.
    const RequestAuthorizer authorizer(broker, *request);
    const bool all_groups = authorizer.AllowedOnCluster(AclOperation::kDescribe);
    for (const groups::Group* group : coordinator.AllGroups()) {
      const char* state = groups::GroupStateName(group->state());
      if (!classic_wanted || !Matches(body->states_filter, state)) continue;
      if (!all_groups && !authorizer.Allowed(AclOperation::kDescribe, ResourceType::kGroup, group->id())) continue;
      kafka::ListGroupsResponse::ListedGroup out;
      out.group_id = group->id();
      out.protocol_type = group->protocol_type();
      out.group_state = state;
      out.group_type = kClassicGroupType;
      response.groups.push_back(std::move(out));
    }
    request->Respond(response);
  });
}

void HandleDeleteGroups(BrokerContext& broker, RequestPtr request) {
  auto body = std::make_shared<kafka::DeleteGroupsRequest>();
  if (!request->Decode(*body)) return;
  broker.groups.Post([&broker, request, body] {
    auto& coordinator = broker.groups;
    auto response = std::make_shared<kafka::DeleteGroupsResponse>();
    // Answered once every deletion is committed; this counts the ones still waiting, plus one
    // for the loop.
    auto pending = std::make_shared<size_t>(1);
    auto finished = [request, response, pending] {
      if (--*pending == 0) request->Respond(*response);
    };
    response->results.reserve(body->groups_names.size());  // keeps the results' addresses
    const RequestAuthorizer authorizer(broker, *request);
    for (const auto& id : body->groups_names) {
      // The answer's audit lines carry refusals.
      ErrorCode error = authorizer.Allowed(AclOperation::kDelete, ResourceType::kGroup, id)
                            ? coordinator.CheckGroupId(id)
                            : ErrorCode::kGroupAuthorizationFailed;
      const groups::Group* group = error == ErrorCode::kNone ? coordinator.Find(id) : nullptr;
      if (error == ErrorCode::kNone) {
        if (group == nullptr || group->state() == groups::GroupState::kDead) {
          error = ErrorCode::kGroupIdNotFound;
        } else if (group->state() != groups::GroupState::kEmpty) {
          error = ErrorCode::kNonEmptyGroup;
        }
      }
      response->results.push_back({.group_id = id, .error_code = ToInt(error)});
      if (error != ErrorCode::kNone) continue;
      ++*pending;
      auto* code = &response->results.back().error_code;
      coordinator.DeleteGroup(id, [id, code, finished](absl::Status status) {
        if (!status.ok()) {
          log::Warn("group {}: delete failed: {}", id, status);
          *code = ToInt(ErrorCode::kCoordinatorNotAvailable);
        }
        finished();
      });
    }
    finished();
  });
}

}  // namespace sluice::broker
