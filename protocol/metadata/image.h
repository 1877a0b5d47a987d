#pragma once
// The cluster metadata that metadata records build: brokers, topics, partitions, configs and
// producer-id blocks. The controller keeps one it mutates; brokers keep immutable snapshots
// (copy, apply a batch of records, publish) so request handlers read without locks.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/metadata/metadata.pb.h"
#include "protocol/metadata/scram_credentials.h"

namespace sluice::metadata {

using TopicId = std::array<uint8_t, 16>;

inline constexpr int32_t kTopicResource = 2;
inline constexpr int32_t kBrokerResource = 4;

struct BrokerEndpointInfo {
  std::string listener;  // the listener's name
  std::string host;
  int32_t port = 0;
  int32_t security_protocol = 0;  // Kafka's id (see metadata.proto)
};

struct BrokerInfo {
  int32_t id = -1;
  int64_t epoch = 0;
  std::string host;  // the inter-broker listener's address
  int32_t port = 0;
  std::string rack;
  bool fenced = false;
  uint64_t incarnation_id = 0;
  std::vector<BrokerEndpointInfo> endpoints;  // every advertised listener (see metadata.proto)

  // The address clients of `listener` reach this broker at; none when it has no such
  // listener. A registration without endpoints serves every name at host:port.
  std::optional<BrokerEndpointInfo> Endpoint(std::string_view listener) const;
};

struct PartitionInfo {
  int32_t partition = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  int32_t partition_epoch = 0;
  std::vector<int32_t> adding_replicas;    // an ongoing reassignment (see metadata.proto)
  std::vector<int32_t> removing_replicas;
  std::vector<int32_t> offline_replicas;  // see metadata.proto
};

// ACL bindings by their 16-byte id.
using AclEntries = std::map<std::string, AccessControlEntry>;

struct TopicInfo {
  std::string name;
  TopicId id{};
  std::vector<PartitionInfo> partitions;      // indexed by partition number
  std::map<std::string, std::string> configs;  // explicitly set topic configs only
};

class MetadataImage {
 public:
  // Applies one committed record; `offset` is its position in the metadata log.
  absl::Status Apply(const Record& record, int64_t offset);
  // Applies the records of one committed entry at `offset`. A record that cannot apply is
  // skipped, so every process that applies the same log ends with the same image; the first
  // such failure is returned for logging. The image is at `offset` afterwards either way.
  // Linear in the entry's records: a topic is copied (copy-on-write) once per entry, not once
  // per record, so one entry creating 10,000 partitions costs 10,000 partition updates.
  absl::Status ApplyEntry(const google::protobuf::RepeatedPtrField<Record>& records, int64_t offset);

  int64_t offset() const { return offset_; }
  const std::map<int32_t, BrokerInfo>& brokers() const { return brokers_; }
  const BrokerInfo* FindBroker(int32_t id) const;
  std::vector<int32_t> LiveBrokerIds() const;  // registered and not fenced, ascending

  const std::map<std::string, std::shared_ptr<const TopicInfo>>& topics() const { return topics_; }
  std::shared_ptr<const TopicInfo> FindTopic(const std::string& name) const;
  std::shared_ptr<const TopicInfo> FindTopicById(const TopicId& id) const;

  // Cluster-wide dynamic broker configs (resource name "") and per-broker ones (name = id).
  const std::map<std::string, std::map<std::string, std::string>>& broker_configs() const { return broker_configs_; }
  int64_t next_producer_id() const { return next_producer_id_; }
  const std::string& cluster_id() const { return cluster_id_; }  // empty until minted
  // Shared by the images that hold the same ACLs: a new pointer means the ACLs changed.
  const std::shared_ptr<const AclEntries>& acls() const { return acls_; }
  const ScramCredentialMap& scram_credentials() const { return scram_credentials_; }

 private:
  // Topics this image copied while applying the current entry: nobody else holds them yet, so
  // later records of the same entry change them in place.
  using CopiedTopics = std::map<TopicId, std::shared_ptr<TopicInfo>>;

  absl::Status ApplyRecord(const Record& record, int64_t offset, CopiedTopics& copied);
  std::shared_ptr<TopicInfo> MutableTopic(const TopicId& id, CopiedTopics& copied);
  absl::Status ApplyAclRecord(const Record& record, int64_t offset);

  int64_t offset_ = -1;
  std::map<int32_t, BrokerInfo> brokers_;
  std::map<std::string, std::shared_ptr<const TopicInfo>> topics_;
  std::map<TopicId, std::string> topic_names_;
  std::map<std::string, std::map<std::string, std::string>> broker_configs_;
  int64_t next_producer_id_ = 0;
  std::string cluster_id_;
  ScramCredentialMap scram_credentials_;
  std::shared_ptr<const AclEntries> acls_ = std::make_shared<const AclEntries>();
};

// The whole image as records that rebuild it (brokers with explicit epochs, fenced flags,
// topics, their configs and partitions, broker configs, the producer-id high mark, SCRAM
// credentials, ACLs).
MetadataSnapshot ToSnapshot(const MetadataImage& image);
// The image a snapshot describes, at snapshot.offset.
absl::StatusOr<MetadataImage> FromSnapshot(const MetadataSnapshot& snapshot);

// The record that sets a partition to `p` (the controller's changes, snapshots).
Record PartitionRecord(const TopicId& topic_id, const PartitionInfo& p);

TopicId ToTopicId(const std::string& bytes);
std::string FromTopicId(const TopicId& id);

}  // namespace sluice::metadata
