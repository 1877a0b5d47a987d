#include "protocol/metadata/image.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "common/status_macros.h"

namespace sluice::metadata {

TopicId ToTopicId(const std::string& bytes) {
  TopicId id{};
  std::memcpy(id.data(), bytes.data(), std::min(bytes.size(), id.size()));
  return id;
}

std::string FromTopicId(const TopicId& id) { return std::string(reinterpret_cast<const char*>(id.data()), id.size()); }

const BrokerInfo* MetadataImage::FindBroker(int32_t id) const {
  auto it = brokers_.find(id);
  return it == brokers_.end() ? nullptr : &it->second;
}

std::vector<int32_t> MetadataImage::LiveBrokerIds() const {
  std::vector<int32_t> ids;
  for (const auto& [id, broker] : brokers_) {
    if (!broker.fenced) ids.push_back(id);
  }
  return ids;
}

std::shared_ptr<const TopicInfo> MetadataImage::FindTopic(const std::string& name) const {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second;
}

std::shared_ptr<const TopicInfo> MetadataImage::FindTopicById(const TopicId& id) const {
  auto it = topic_names_.find(id);
  return it == topic_names_.end() ? nullptr : FindTopic(it->second);
}

// Copy-on-write: a published image may share this topic with readers, so replace, never mutate,
// except a copy made earlier in the same entry, which only this image holds.
std::shared_ptr<TopicInfo> MetadataImage::MutableTopic(const TopicId& id, CopiedTopics& copied) {
  if (auto it = copied.find(id); it != copied.end()) return it->second;
  auto names = topic_names_.find(id);
  if (names == topic_names_.end()) return nullptr;
  auto copy = std::make_shared<TopicInfo>(*topics_.at(names->second));
  topics_[names->second] = copy;
  copied.emplace(id, copy);
  return copy;
}

absl::Status MetadataImage::Apply(const Record& record, int64_t offset) {
  CopiedTopics copied;
  return ApplyRecord(record, offset, copied);
}

absl::Status MetadataImage::ApplyRecord(const Record& record, int64_t offset, CopiedTopics& copied) {
  switch (record.kind_case()) {
    case Record::kBrokerRegistration: {
      const auto& r = record.broker_registration();
      const int64_t epoch = r.broker_epoch() != 0 ? r.broker_epoch() : offset;
      BrokerInfo& broker = brokers_[r.broker_id()] =
          BrokerInfo{.id = r.broker_id(), .epoch = epoch, .host = r.host(), .port = r.port(), .rack = r.rack(),
                     .fenced = false, .incarnation_id = r.incarnation_id()};
      for (const BrokerEndpoint& e : r.endpoints()) {
        broker.endpoints.push_back(
            {.listener = e.name(), .host = e.host(), .port = e.port(), .security_protocol = e.security_protocol()});
      }
      break;
    }
    case Record::kBrokerFenced: {
      auto it = brokers_.find(record.broker_fenced().broker_id());
      if (it != brokers_.end() && it->second.epoch == record.broker_fenced().broker_epoch()) it->second.fenced = true;
      break;
    }
    case Record::kTopic: {
      const auto& r = record.topic();
      const TopicId id = ToTopicId(r.topic_id());
      // Names and ids stay one to one (the controller creates a topic only under a free name and
      // id): a second name for an id would outlive the topic that RemoveTopic deletes.
      if (topics_.count(r.name()) > 0 || topic_names_.count(id) > 0) {
        return absl::FailedPreconditionError(
            fmt::format("topic record for '{}' at offset {}: the name or the id is in use", r.name(), offset));
      }
      auto topic = std::make_shared<TopicInfo>();
      topic->name = r.name();
      topic->id = id;
      topics_[r.name()] = topic;
      topic_names_[topic->id] = r.name();
      copied[id] = topic;  // new, so nobody else holds it
      break;
    }
    case Record::kPartition: {
      const auto& r = record.partition();
      const TopicId id = ToTopicId(r.topic_id());
      auto existing = FindTopicById(id);
      if (!existing) return absl::FailedPreconditionError(fmt::format("partition record for unknown topic at offset {}", offset));
      if (r.partition() < 0) return absl::InvalidArgumentError("negative partition number");
      // Partitions are created in order (CreateTopics, CreatePartitions, snapshots), so a record
      // names an existing partition or the next one. A gap would leave placeholders that no
      // snapshot can describe, and a hostile number would allocate without bound.
      if (static_cast<size_t>(r.partition()) > existing->partitions.size()) {
        return absl::InvalidArgumentError(fmt::format("partition {} of topic '{}' would skip partition {}", r.partition(),
                                                      existing->name, existing->partitions.size()));
      }
      auto topic = MutableTopic(id, copied);
      if (static_cast<size_t>(r.partition()) == topic->partitions.size()) topic->partitions.emplace_back();
      topic->partitions[r.partition()] = PartitionInfo{
          .partition = r.partition(),
          .replicas = {r.replicas().begin(), r.replicas().end()},
          .isr = {r.isr().begin(), r.isr().end()},
          .leader = r.leader(),
          .leader_epoch = r.leader_epoch(),
          .partition_epoch = r.partition_epoch(),
          .adding_replicas = {r.adding_replicas().begin(), r.adding_replicas().end()},
          .removing_replicas = {r.removing_replicas().begin(), r.removing_replicas().end()},
          .offline_replicas = {r.offline_replicas().begin(), r.offline_replicas().end()}};
      break;
    }
    case Record::kRemoveTopic: {
      auto id = ToTopicId(record.remove_topic().topic_id());
      auto it = topic_names_.find(id);
      if (it != topic_names_.end()) {
        topics_.erase(it->second);
        topic_names_.erase(it);
        copied.erase(id);  // a topic created again under this id later in the entry is new
      }
      break;
    }
    case Record::kConfig: {
      const auto& r = record.config();
      std::map<std::string, std::string>* configs = nullptr;
      std::shared_ptr<TopicInfo> topic;
      if (r.resource_type() == kTopicResource) {
        auto existing = FindTopic(r.resource_name());
        if (!existing) return absl::FailedPreconditionError(fmt::format("config for unknown topic '{}'", r.resource_name()));
        topic = MutableTopic(existing->id, copied);
        configs = &topic->configs;
      } else {
        configs = &broker_configs_[r.resource_name()];
      }
      if (r.has_value()) {
        (*configs)[r.key()] = r.value();
      } else {
        configs->erase(r.key());
      }
      break;
    }
    case Record::kProducerIdBlock: {
      const auto& r = record.producer_id_block();
      next_producer_id_ = std::max(next_producer_id_, r.first_producer_id() + r.size());
      break;
    }
    case Record::kClusterId:
      cluster_id_ = record.cluster_id().cluster_id();
      break;
    case Record::kUserScramCredential:
      if (absl::Status status = ApplyUserScramCredential(record.user_scram_credential(), scram_credentials_);
          !status.ok()) {
        return status;
      }
      break;
    case Record::kRemoveUserScramCredential:
      if (absl::Status status =
              ApplyRemoveUserScramCredential(record.remove_user_scram_credential(), scram_credentials_);
          !status.ok()) {
        return status;
      }
      break;
    case Record::kAccessControlEntry:
    case Record::kRemoveAccessControlEntry:
      SLUICE_RETURN_IF_ERROR(ApplyAclRecord(record, offset));
      break;
    case Record::KIND_NOT_SET:
      return absl::InvalidArgumentError(fmt::format("empty metadata record at offset {}", offset));
  }
  offset_ = offset;
  return absl::OkStatus();
}

// Copy-on-write as for topics: published images share the ACL map.
absl::Status MetadataImage::ApplyAclRecord(const Record& record, int64_t offset) {
  if (record.has_access_control_entry()) {
    const AccessControlEntry& entry = record.access_control_entry();
    if (entry.id().size() != 16) {
      return absl::InvalidArgumentError(fmt::format("ACL record at offset {}: the id is not 16 bytes", offset));
    }
    if (acls_->count(entry.id()) > 0) {
      return absl::FailedPreconditionError(fmt::format("ACL record at offset {}: the id is in use", offset));
    }
    auto copy = std::make_shared<AclEntries>(*acls_);
    copy->emplace(entry.id(), entry);
    acls_ = std::move(copy);
  } else if (acls_->count(record.remove_access_control_entry().id()) > 0) {
    auto copy = std::make_shared<AclEntries>(*acls_);
    copy->erase(record.remove_access_control_entry().id());
    acls_ = std::move(copy);
  }
  return absl::OkStatus();
}

absl::Status MetadataImage::ApplyEntry(const google::protobuf::RepeatedPtrField<Record>& records, int64_t offset) {
  absl::Status first_failure;
  CopiedTopics copied;
  for (const Record& record : records) {
    absl::Status status = ApplyRecord(record, offset, copied);
    if (!status.ok() && first_failure.ok()) first_failure = status;
  }
  offset_ = offset;
  return first_failure;
}

Record PartitionRecord(const TopicId& topic_id, const PartitionInfo& p) {
  Record record;
  auto* r = record.mutable_partition();
  r->set_topic_id(FromTopicId(topic_id));
  r->set_partition(p.partition);
  for (int32_t id : p.replicas) r->add_replicas(id);
  for (int32_t id : p.isr) r->add_isr(id);
  r->set_leader(p.leader);
  r->set_leader_epoch(p.leader_epoch);
  r->set_partition_epoch(p.partition_epoch);
  for (int32_t id : p.adding_replicas) r->add_adding_replicas(id);
  for (int32_t id : p.removing_replicas) r->add_removing_replicas(id);
  for (int32_t id : p.offline_replicas) r->add_offline_replicas(id);
  return record;
}

namespace {

void AddConfig(MetadataSnapshot& snapshot, int32_t type, const std::string& name, const std::string& key,
               const std::string& value) {
  auto* r = snapshot.add_records()->mutable_config();
  r->set_resource_type(type);
  r->set_resource_name(name);
  r->set_key(key);
  r->set_value(value);
}

}  // namespace

std::optional<BrokerEndpointInfo> BrokerInfo::Endpoint(std::string_view listener) const {
  if (endpoints.empty()) return BrokerEndpointInfo{.listener = std::string(listener), .host = host, .port = port};
  for (const BrokerEndpointInfo& e : endpoints) {
    if (e.listener == listener) return e;
  }
  return std::nullopt;
}

MetadataSnapshot ToSnapshot(const MetadataImage& image) {
  MetadataSnapshot snapshot;
  snapshot.set_offset(image.offset());
  if (!image.cluster_id().empty()) snapshot.add_records()->mutable_cluster_id()->set_cluster_id(image.cluster_id());
  for (const auto& [id, broker] : image.brokers()) {
    auto* r = snapshot.add_records()->mutable_broker_registration();
    r->set_broker_id(id);
    r->set_broker_epoch(broker.epoch);
    r->set_host(broker.host);
    r->set_port(broker.port);
    r->set_rack(broker.rack);
    r->set_incarnation_id(broker.incarnation_id);
    for (const BrokerEndpointInfo& e : broker.endpoints) {
      BrokerEndpoint* endpoint = r->add_endpoints();
      endpoint->set_name(e.listener);
      endpoint->set_host(e.host);
      endpoint->set_port(e.port);
      endpoint->set_security_protocol(e.security_protocol);
    }
    if (broker.fenced) {
      auto* fenced = snapshot.add_records()->mutable_broker_fenced();
      fenced->set_broker_id(id);
      fenced->set_broker_epoch(broker.epoch);
    }
  }
  for (const auto& [name, topic] : image.topics()) {
    auto* r = snapshot.add_records()->mutable_topic();
    r->set_name(name);
    r->set_topic_id(FromTopicId(topic->id));
    for (const auto& [key, value] : topic->configs) AddConfig(snapshot, kTopicResource, name, key, value);
    for (const auto& p : topic->partitions) *snapshot.add_records() = PartitionRecord(topic->id, p);
  }
  for (const auto& [name, configs] : image.broker_configs()) {
    for (const auto& [key, value] : configs) AddConfig(snapshot, kBrokerResource, name, key, value);
  }
  if (image.next_producer_id() > 0) {
    auto* r = snapshot.add_records()->mutable_producer_id_block();
    r->set_broker_id(-1);
    r->set_first_producer_id(image.next_producer_id());
    r->set_size(0);
  }
  AppendScramCredentialRecords(image.scram_credentials(), snapshot);
  for (const auto& [id, entry] : *image.acls()) *snapshot.add_records()->mutable_access_control_entry() = entry;
  return snapshot;
}

absl::StatusOr<MetadataImage> FromSnapshot(const MetadataSnapshot& snapshot) {
  MetadataImage image;
  // One entry, so that loading is linear in the snapshot's records; it also sets the offset of
  // an image without records.
  absl::Status status = image.ApplyEntry(snapshot.records(), snapshot.offset());
  if (!status.ok()) {
    return absl::DataLossError(fmt::format("metadata snapshot at {}: {}", snapshot.offset(), status.ToString()));
  }
  return image;
}

}  // namespace sluice::metadata
