#pragma once
// Request handlers, one per Kafka API. Each runs on the request's connection thread, never
// blocks it, and answers through the request (possibly later, from a continuation).

#include "broker/handlers/broker_context.h"
#include "broker/server/request_context.h"

namespace sluice::broker {

void HandleApiVersions(BrokerContext& broker, RequestPtr request);
void HandleMetadata(BrokerContext& broker, RequestPtr request);
void HandleProduce(BrokerContext& broker, RequestPtr request);
void HandleFetch(BrokerContext& broker, RequestPtr request);
void HandleListOffsets(BrokerContext& broker, RequestPtr request);
void HandleWriteTxnMarkers(BrokerContext& broker, RequestPtr request);
void HandleDescribeProducers(BrokerContext& broker, RequestPtr request);
void HandleOffsetForLeaderEpoch(BrokerContext& broker, RequestPtr request);
void HandleCreateTopics(BrokerContext& broker, RequestPtr request);
void HandleDeleteTopics(BrokerContext& broker, RequestPtr request);
void HandleCreatePartitions(BrokerContext& broker, RequestPtr request);
void HandleDescribeConfigs(BrokerContext& broker, RequestPtr request);
void HandleAlterConfigs(BrokerContext& broker, RequestPtr request);
void HandleIncrementalAlterConfigs(BrokerContext& broker, RequestPtr request);
void HandleDescribeCluster(BrokerContext& broker, RequestPtr request);
void HandleInitProducerId(BrokerContext& broker, RequestPtr request);
void HandleAddPartitionsToTxn(BrokerContext& broker, RequestPtr request);
void HandleAddOffsetsToTxn(BrokerContext& broker, RequestPtr request);
void HandleEndTxn(BrokerContext& broker, RequestPtr request);
void HandleDescribeTransactions(BrokerContext& broker, RequestPtr request);
void HandleListTransactions(BrokerContext& broker, RequestPtr request);
void HandleElectLeaders(BrokerContext& broker, RequestPtr request);
void HandleAlterPartitionReassignments(BrokerContext& broker, RequestPtr request);
void HandleListPartitionReassignments(BrokerContext& broker, RequestPtr request);
void HandleDescribeQuorum(BrokerContext& broker, RequestPtr request);
void HandleDeleteRecords(BrokerContext& broker, RequestPtr request);
void HandleDescribeLogDirs(BrokerContext& broker, RequestPtr request);
void HandleListClientMetricsResources(BrokerContext& broker, RequestPtr request);
void HandleDescribeAcls(BrokerContext& broker, RequestPtr request);
void HandleCreateAcls(BrokerContext& broker, RequestPtr request);
void HandleDeleteAcls(BrokerContext& broker, RequestPtr request);
void HandleDescribeUserScramCredentials(BrokerContext& broker, RequestPtr request);
void HandleAlterUserScramCredentials(BrokerContext& broker, RequestPtr request);

}  // namespace sluice::broker
