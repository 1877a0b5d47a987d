#pragma once
// The protobuf messages the controller RPC fuzz target parses, in the order its selector byte
// picks them: shared with the seed corpus writer so that seeds pick the right type.

#include <google/protobuf/message.h>

#include "controller/raft/raft.pb.h"
#include "protocol/metadata/controller_api.pb.h"

namespace sluice::fuzz {

inline const google::protobuf::Message* const kControllerRpcMessages[] = {
    // Requests the controller serves (controller/service/controller_service.cc) and Raft's
    // MessageBatch from its peers (controller/raft/raft_node.cc, method 100).
    &metadata::RegisterBrokerRequest::default_instance(),
    &metadata::BrokerHeartbeatRequest::default_instance(),
    &metadata::FetchMetadataRequest::default_instance(),
    &metadata::CreateTopicsRequest::default_instance(),
    &metadata::DeleteTopicsRequest::default_instance(),
    &metadata::CreatePartitionsRequest::default_instance(),
    &metadata::AlterConfigsRequest::default_instance(),
    &metadata::AllocateProducerIdsRequest::default_instance(),
    &metadata::AlterPartitionRequest::default_instance(),
    &metadata::ControlledShutdownRequest::default_instance(),
    &metadata::ElectLeadersRequest::default_instance(),
    &metadata::AlterReassignmentsRequest::default_instance(),
    &metadata::ListReassignmentsRequest::default_instance(),
    &metadata::DescribeQuorumRequest::default_instance(),
    &raft::pb::MessageBatch::default_instance(),
    // Replies brokers read (protocol/rpc/proto_call.h CallProto).
    &metadata::RegisterBrokerResponse::default_instance(),
    &metadata::BrokerHeartbeatResponse::default_instance(),
    &metadata::FetchMetadataResponse::default_instance(),
    &metadata::CreateTopicsResponse::default_instance(),
    &metadata::DeleteTopicsResponse::default_instance(),
    &metadata::CreatePartitionsResponse::default_instance(),
    &metadata::AlterConfigsResponse::default_instance(),
    &metadata::AllocateProducerIdsResponse::default_instance(),
    &metadata::AlterPartitionResponse::default_instance(),
    &metadata::ControlledShutdownResponse::default_instance(),
    &metadata::ElectLeadersResponse::default_instance(),
    &metadata::AlterReassignmentsResponse::default_instance(),
    &metadata::ListReassignmentsResponse::default_instance(),
    &metadata::DescribeQuorumResponse::default_instance(),
    // Payloads inside Raft entries that voters apply (controller/raft/raft.cc reads
    // Configuration, controller/service/metadata_state_machine.cc the metadata log), and the
    // Raft state read back from RocksDB (controller/raft/raft_storage_rocksdb.cc).
    &raft::pb::Configuration::default_instance(),
    &metadata::MetadataEntry::default_instance(),
    &metadata::MetadataSnapshot::default_instance(),
    &raft::pb::Entry::default_instance(),
    &raft::pb::HardState::default_instance(),
    &raft::pb::Snapshot::default_instance(),
    // Added later, kept last so that existing seeds keep their selector.
    &metadata::ReportReplicasRequest::default_instance(),
    &metadata::ReportReplicasResponse::default_instance(),
    &metadata::CreateAclsRequest::default_instance(),
    &metadata::CreateAclsResponse::default_instance(),
    &metadata::DeleteAclsRequest::default_instance(),
    &metadata::DeleteAclsResponse::default_instance(),
    &metadata::AlterUserScramCredentialsRequest::default_instance(),
    &metadata::AlterUserScramCredentialsResponse::default_instance(),
};

}  // namespace sluice::fuzz
