#pragma once
// Kafka group APIs. Each decodes on the connection thread, then does its work as a task on the
// group coordinator's thread, which answers the request (possibly much later, e.g. a JoinGroup
// waiting for the rebalance).

#include "broker/handlers/broker_context.h"
#include "broker/server/request_context.h"

namespace sluice::broker {

void HandleFindCoordinator(BrokerContext& broker, RequestPtr request);
void HandleJoinGroup(BrokerContext& broker, RequestPtr request);
void HandleSyncGroup(BrokerContext& broker, RequestPtr request);
void HandleHeartbeat(BrokerContext& broker, RequestPtr request);
void HandleLeaveGroup(BrokerContext& broker, RequestPtr request);
void HandleOffsetCommit(BrokerContext& broker, RequestPtr request);
void HandleOffsetFetch(BrokerContext& broker, RequestPtr request);
void HandleOffsetDelete(BrokerContext& broker, RequestPtr request);
void HandleTxnOffsetCommit(BrokerContext& broker, RequestPtr request);
void HandleDescribeGroups(BrokerContext& broker, RequestPtr request);
void HandleListGroups(BrokerContext& broker, RequestPtr request);
void HandleDeleteGroups(BrokerContext& broker, RequestPtr request);

}  // namespace sluice::broker
