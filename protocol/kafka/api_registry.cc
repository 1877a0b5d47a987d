#include "protocol/kafka/api_registry.h"

namespace sluice::kafka {
namespace {

// What ApiVersions advertises. Minimum versions follow Kafka 4.0's baseline (KIP-896: the newest
// version Kafka 2.1 supported, or older where common clients still need it). Produce is advertised
// from v0 but served from v3, as Kafka 4.0 does (KAFKA-18659): librdkafka derives features from
// the advertised range and refuses to produce when it does not start at 0. Maximum versions are
// the newest in our definitions. Keep sorted by key; an API is added here once its handler exists.
constexpr AdvertisedApi kAdvertised[] = {
    {ProduceRequest::kApiKey, "Produce", 0, ProduceRequest::kMaxVersion, 3},
    {FetchRequest::kApiKey, "Fetch", 4, FetchRequest::kMaxVersion, 4},
    {ListOffsetsRequest::kApiKey, "ListOffsets", 1, ListOffsetsRequest::kMaxVersion, 1},
    {MetadataRequest::kApiKey, "Metadata", 0, MetadataRequest::kMaxVersion, 0},
    {OffsetCommitRequest::kApiKey, "OffsetCommit", 2, OffsetCommitRequest::kMaxVersion, 2},
    {OffsetFetchRequest::kApiKey, "OffsetFetch", 1, OffsetFetchRequest::kMaxVersion, 1},
    // FindCoordinator and JoinGroup from v0: librdkafka enables consumer groups only when both
    // ranges include v0 (its feature map), so these old versions stay advertised and served.
    {FindCoordinatorRequest::kApiKey, "FindCoordinator", 0, FindCoordinatorRequest::kMaxVersion, 0},
    {JoinGroupRequest::kApiKey, "JoinGroup", 0, JoinGroupRequest::kMaxVersion, 0},
    {HeartbeatRequest::kApiKey, "Heartbeat", 0, HeartbeatRequest::kMaxVersion, 0},
    {LeaveGroupRequest::kApiKey, "LeaveGroup", 0, LeaveGroupRequest::kMaxVersion, 0},
    {SyncGroupRequest::kApiKey, "SyncGroup", 0, SyncGroupRequest::kMaxVersion, 0},
    {DescribeGroupsRequest::kApiKey, "DescribeGroups", 0, DescribeGroupsRequest::kMaxVersion, 0},
    {ListGroupsRequest::kApiKey, "ListGroups", 0, ListGroupsRequest::kMaxVersion, 0},
    // SaslHandshake v0: the client's SASL token follows as a bare frame (kafka-python 2.0);
    // v1: in SaslAuthenticate requests.
    {SaslHandshakeRequest::kApiKey, "SaslHandshake", 0, SaslHandshakeRequest::kMaxVersion, 0},
    {ApiVersionsRequest::kApiKey, "ApiVersions", 0, ApiVersionsRequest::kMaxVersion, 0},
    {CreateTopicsRequest::kApiKey, "CreateTopics", 2, CreateTopicsRequest::kMaxVersion, 2},
    {DeleteTopicsRequest::kApiKey, "DeleteTopics", 1, DeleteTopicsRequest::kMaxVersion, 1},
    {DeleteRecordsRequest::kApiKey, "DeleteRecords", 0, DeleteRecordsRequest::kMaxVersion, 0},
    {InitProducerIdRequest::kApiKey, "InitProducerId", 0, InitProducerIdRequest::kMaxVersion, 0},
    {OffsetForLeaderEpochRequest::kApiKey, "OffsetForLeaderEpoch", 2, OffsetForLeaderEpochRequest::kMaxVersion, 2},
    // v4-5 are the brokers' batched KIP-890 verification.
    {AddPartitionsToTxnRequest::kApiKey, "AddPartitionsToTxn", 0, AddPartitionsToTxnRequest::kMaxVersion, 0},
    {AddOffsetsToTxnRequest::kApiKey, "AddOffsetsToTxn", 0, AddOffsetsToTxnRequest::kMaxVersion, 0},
    // v5 (KIP-890 part 2: an epoch bump per transaction) is not built.
    {EndTxnRequest::kApiKey, "EndTxn", 0, 4, 0},
    {WriteTxnMarkersRequest::kApiKey, "WriteTxnMarkers", 0, WriteTxnMarkersRequest::kMaxVersion, 0},
    {TxnOffsetCommitRequest::kApiKey, "TxnOffsetCommit", 0, TxnOffsetCommitRequest::kMaxVersion, 0},
    {DescribeAclsRequest::kApiKey, "DescribeAcls", 1, DescribeAclsRequest::kMaxVersion, 1},
    {CreateAclsRequest::kApiKey, "CreateAcls", 1, CreateAclsRequest::kMaxVersion, 1},
    {DeleteAclsRequest::kApiKey, "DeleteAcls", 1, DeleteAclsRequest::kMaxVersion, 1},
    {DescribeConfigsRequest::kApiKey, "DescribeConfigs", 1, DescribeConfigsRequest::kMaxVersion, 1},
    {AlterConfigsRequest::kApiKey, "AlterConfigs", 0, AlterConfigsRequest::kMaxVersion, 0},
    // v0 left out as Kafka 4.0 does (KIP-896).
    {DescribeLogDirsRequest::kApiKey, "DescribeLogDirs", 1, DescribeLogDirsRequest::kMaxVersion, 1},
    {SaslAuthenticateRequest::kApiKey, "SaslAuthenticate", 0, SaslAuthenticateRequest::kMaxVersion, 0},
    {CreatePartitionsRequest::kApiKey, "CreatePartitions", 0, CreatePartitionsRequest::kMaxVersion, 0},
    {DeleteGroupsRequest::kApiKey, "DeleteGroups", 1, DeleteGroupsRequest::kMaxVersion, 1},
    {ElectLeadersRequest::kApiKey, "ElectLeaders", 0, ElectLeadersRequest::kMaxVersion, 0},
    {IncrementalAlterConfigsRequest::kApiKey, "IncrementalAlterConfigs", 0,
     IncrementalAlterConfigsRequest::kMaxVersion, 0},
    {AlterPartitionReassignmentsRequest::kApiKey, "AlterPartitionReassignments", 0,
     AlterPartitionReassignmentsRequest::kMaxVersion, 0},
    {ListPartitionReassignmentsRequest::kApiKey, "ListPartitionReassignments", 0,
     ListPartitionReassignmentsRequest::kMaxVersion, 0},
    {OffsetDeleteRequest::kApiKey, "OffsetDelete", 0, OffsetDeleteRequest::kMaxVersion, 0},
    {DescribeUserScramCredentialsRequest::kApiKey, "DescribeUserScramCredentials", 0,
     DescribeUserScramCredentialsRequest::kMaxVersion, 0},
    {AlterUserScramCredentialsRequest::kApiKey, "AlterUserScramCredentials", 0,
     AlterUserScramCredentialsRequest::kMaxVersion, 0},
    {DescribeQuorumRequest::kApiKey, "DescribeQuorum", 0, DescribeQuorumRequest::kMaxVersion, 0},
    {DescribeClusterRequest::kApiKey, "DescribeCluster", 0, DescribeClusterRequest::kMaxVersion, 0},
    {DescribeProducersRequest::kApiKey, "DescribeProducers", 0, DescribeProducersRequest::kMaxVersion, 0},
    {DescribeTransactionsRequest::kApiKey, "DescribeTransactions", 0, DescribeTransactionsRequest::kMaxVersion, 0},
    {ListTransactionsRequest::kApiKey, "ListTransactions", 0, ListTransactionsRequest::kMaxVersion, 0},
    // GetTelemetrySubscriptions (71) and PushTelemetry (72) stay unadvertised, as in a Kafka broker
    // without a client telemetry receiver (KIP-714): clients then never push metrics.
    {ListClientMetricsResourcesRequest::kApiKey, "ListClientMetricsResources", 0,
     ListClientMetricsResourcesRequest::kMaxVersion, 0},
};

}  // namespace

std::span<const AdvertisedApi> AdvertisedApis() { return kAdvertised; }

const AdvertisedApi* FindAdvertisedApi(int16_t key) {
  for (const AdvertisedApi& api : kAdvertised) {
    if (api.key == key) return &api;
  }
  return nullptr;
}

int16_t AcceptedMinVersion(int16_t key) {
  const AdvertisedApi* api = FindAdvertisedApi(key);
  return api == nullptr ? -1 : api->accepted_min_version;
}

bool IsVersionAccepted(int16_t key, int16_t version) {
  const AdvertisedApi* api = FindAdvertisedApi(key);
  return api != nullptr && version >= api->accepted_min_version && version <= api->max_version;
}

const DefinedApi* FindDefinedApi(int16_t key) {
  for (const DefinedApi& api : kDefinedApis) {
    if (api.key == key) return &api;
  }
  return nullptr;
}

bool IsFlexible(int16_t key, int16_t version) {
  const DefinedApi* api = FindDefinedApi(key);
  return api != nullptr && version >= api->first_flexible_version;
}

}  // namespace sluice::kafka
