#include "broker/cluster/partition_manager.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "broker/config/broker_config.h"
#include "common/absl_compat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "storage/compaction/log_cleaner.h"

namespace sluice::broker {
namespace {

constexpr char kTopicIdFile[] = "partition.metadata";

std::string Hex(const metadata::TopicId& id) {
  std::string out;
  for (uint8_t byte : id) out += fmt::format("{:02x}", byte);
  return out;
}

// The topic id is kept beside the log so that a topic deleted and re-created under the same
// name while this broker was away is not mistaken for the old one.
absl::Status WriteTopicIdFile(const std::filesystem::path& dir, const metadata::TopicId& id) {
  const std::filesystem::path tmp = dir / (std::string(kTopicIdFile) + ".tmp");
  const std::string content = fmt::format("version: 0\ntopic_id: {}\n", Hex(id));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(fmt::format("cannot write {}", tmp.string()));
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return absl::InternalError(fmt::format("cannot write {}", tmp.string()));
  std::error_code ec;
  std::filesystem::rename(tmp, dir / kTopicIdFile, ec);
  if (ec) return absl::InternalError(fmt::format("cannot rename {}: {}", tmp.string(), ec.message()));
  return absl::OkStatus();
}

std::optional<std::string> ReadTopicIdFile(const std::filesystem::path& dir) {
  std::ifstream in(dir / kTopicIdFile);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("topic_id: ", 0) == 0) return line.substr(10);
  }
  return std::nullopt;
}

}  // namespace

PartitionManager::PartitionManager(int32_t broker_id, std::filesystem::path data_dir,
                                   const config::Properties& broker_config, const Clock& clock)
    : broker_id_(broker_id), data_dir_(std::move(data_dir)), broker_config_(broker_config), clock_(clock) {}

PartitionManager::~PartitionManager() { Shutdown(); }

std::shared_ptr<Partition> PartitionManager::Get(const std::string& topic, int32_t partition) const {
  std::shared_lock lock(mutex_);
  auto it = partitions_.find(Key(topic, partition));
  return it == partitions_.end() ? nullptr : it->second;
}

absl::StatusOr<std::shared_ptr<Partition>> PartitionManager::OpenReplica(const metadata::TopicInfo& topic,
                                                                         int32_t index,
                                                                         const storage::LogConfig& config) {
  const std::filesystem::path dir = data_dir_ / fmt::format("{}-{}", topic.name, index);
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    auto existing = ReadTopicIdFile(dir);
    if (existing && *existing != Hex(topic.id)) {
      log::Info("partition {}-{}: directory belongs to an earlier topic of that name; removing it", topic.name, index);
      std::filesystem::remove_all(dir, ec);
    }
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  if (!ReadTopicIdFile(dir)) SLUICE_RETURN_IF_ERROR(WriteTopicIdFile(dir, topic.id));
  SLUICE_ASSIGN_OR_RETURN(auto log, storage::PartitionLog::Open(dir, config, clock_));
  auto partition = std::make_shared<Partition>(topic.name, index, std::move(log));
  SLUICE_RETURN_IF_ERROR(partition->LoadProducerState());
  return partition;
}

absl::Status PartitionManager::Apply(const metadata::MetadataImage& image, bool caught_up) {
  std::map<Key, std::shared_ptr<Partition>> removed;
  for (const auto& [name, topic] : image.topics()) {
    const auto effective = EffectiveTopicConfigs(broker_config_, topic->configs);
    const storage::LogConfig log_config = ToLogConfig(effective);
    const int32_t max_message_bytes = std::stoi(effective.at("max.message.bytes").value);
    const int32_t min_insync_replicas = std::stoi(effective.at("min.insync.replicas").value);
    for (const auto& p : topic->partitions) {
      if (std::find(p.replicas.begin(), p.replicas.end(), broker_id_) == p.replicas.end()) continue;
      const Key key(name, p.partition);
      std::shared_ptr<Partition> partition = Get(name, p.partition);
      {
        std::shared_lock lock(mutex_);
        auto id = partition_topic_ids_.find(key);
        if (partition && id != partition_topic_ids_.end() && id->second != topic->id) {
          removed[key] = partition;  // same name, new topic: the old replica goes
          partition = nullptr;
        }
      }
      if (!partition) {
        if (auto old = removed.find(key); old != removed.end()) {
          if (absl::Status status = old->second->log().Delete(); !status.ok()) return status;
          removed.erase(old);
        }
        SLUICE_ASSIGN_OR_RETURN(partition, OpenReplica(*topic, p.partition, log_config));
        std::unique_lock lock(mutex_);
        partitions_[key] = partition;
        partition_topic_ids_[key] = topic->id;
        log::Info("partition {}-{}: hosting replica (log end {})", name, p.partition, partition->log().log_end_offset());
      } else {
        partition->log().UpdateConfig(log_config);
      }
      partition->set_leader_epoch(p.leader_epoch);
      partition->set_max_message_bytes(max_message_bytes);
      partition->set_min_insync_replicas(min_insync_replicas);
      partition->set_compacted(log_config.compact);
    }
  }
  {
    std::unique_lock lock(mutex_);
    for (auto it = partitions_.begin(); it != partitions_.end();) {
      auto topic = image.FindTopic(it->first.first);
      bool hosted = topic && topic->id == partition_topic_ids_[it->first] &&
                    static_cast<size_t>(it->first.second) < topic->partitions.size();
      if (hosted) {
        const auto& replicas = topic->partitions[it->first.second].replicas;
        hosted = std::find(replicas.begin(), replicas.end(), broker_id_) != replicas.end();
      }
      if (hosted) {
        ++it;
        continue;
      }
      removed[it->first] = it->second;
      partition_topic_ids_.erase(it->first);
      it = partitions_.erase(it);
    }
  }
  for (auto& [key, partition] : removed) {
    log::Info("partition {}-{}: replica removed, deleting its log", key.first, key.second);
    if (absl::Status status = partition->log().Delete(); !status.ok()) {
      log::Error("partition {}-{}: cannot delete log: {}", key.first, key.second, status);
    }
  }
  if (caught_up && !orphans_checked_) {
    orphans_checked_ = true;
    DeleteOrphanDirectories();
  }
  return absl::OkStatus();
}

void PartitionManager::DeleteOrphanDirectories() {
  std::set<std::string> hosted;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [key, partition] : partitions_) hosted.insert(fmt::format("{}-{}", key.first, key.second));
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || hosted.count(name) || !std::filesystem::exists(entry.path() / kTopicIdFile)) continue;
    log::Info("partition directory {} belongs to no hosted replica; removing it", name);
    std::filesystem::remove_all(entry.path(), ec);
  }
}

void PartitionManager::StartMaintenance() {
  maintenance_thread_ = std::thread([this] { MaintenanceLoop(); });
}

void PartitionManager::MaintenanceLoop() {
  const int64_t retention_interval_ms = broker_config_.GetLong("log.retention.check.interval.ms");
  int64_t next_retention_ms = clock_.MonotonicMs() + retention_interval_ms;
  const int64_t cleaner_backoff_ms = broker_config_.GetLong("log.cleaner.backoff.ms");
  std::map<Key, int64_t> last_cleaned_ms;  // monotonic
  // Flush policies are checked often; Kafka checks flush.ms on a scheduler tick as well.
  constexpr auto kTick = std::chrono::milliseconds(100);
  std::unique_lock lock(maintenance_mutex_);
  while (!stopping_) {
    maintenance_wake_.wait_for(lock, kTick, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    std::vector<std::shared_ptr<Partition>> partitions;
    {
      std::shared_lock map_lock(mutex_);
      for (const auto& [key, partition] : partitions_) partitions.push_back(partition);
    }
    const int64_t now = clock_.NowMs();
    const bool retention_due = clock_.MonotonicMs() >= next_retention_ms;
    for (const auto& partition : partitions) {
      storage::PartitionLog& log = partition->log();
      if (log.FlushDue(now)) {
        if (absl::Status s = log.Flush(); !s.ok()) log::Error("partition {}-{}: flush failed: {}", partition->topic(), partition->index(), s);
      }
      if (retention_due) {
        if (absl::Status s = log.ApplyRetention(now, INT64_MAX); !s.ok()) {
          log::Error("partition {}-{}: retention failed: {}", partition->topic(), partition->index(), s);
        }
      }
    }
    for (const auto& partition : partitions) {
      const Key key(partition->topic(), partition->index());
      auto last = last_cleaned_ms.find(key);
      if (last != last_cleaned_ms.end() && clock_.MonotonicMs() - last->second < cleaner_backoff_ms) continue;
      if (!CleaningDue(partition->log())) continue;
      last_cleaned_ms[key] = clock_.MonotonicMs();
      Clean(*partition);
    }
    if (retention_due) next_retention_ms = clock_.MonotonicMs() + retention_interval_ms;
    lock.lock();
  }
}

bool PartitionManager::CleaningDue(const storage::PartitionLog& log) {
  const storage::LogConfig config = log.config();
  return config.compact && log.segment_count() > 1 && storage::DirtyRatio(log, INT64_MAX) > config.min_cleanable_dirty_ratio;
}

void PartitionManager::Clean(Partition& partition) {
  auto cleaned = storage::CleanLog(partition.log(), clock_.NowMs(), INT64_MAX);
  if (!cleaned.ok()) {
    log::Error("partition {}-{}: compaction failed: {}", partition.topic(), partition.index(), cleaned.status());
    return;
  }
  log::Info("partition {}-{}: compacted {} -> {} bytes ({} records removed, {} segments rewritten, {} removed)",
            partition.topic(), partition.index(), cleaned->bytes_before, cleaned->bytes_after,
            cleaned->records_removed, cleaned->segments_rewritten, cleaned->segments_removed);
}

void PartitionManager::Shutdown() {
  {
    std::lock_guard lock(maintenance_mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  maintenance_wake_.notify_all();
  if (maintenance_thread_.joinable()) maintenance_thread_.join();
  std::unique_lock lock(mutex_);
  for (auto& [key, partition] : partitions_) {
    if (absl::Status s = partition->log().Close(); !s.ok()) {
      log::Error("partition {}-{}: close failed: {}", key.first, key.second, s);
    }
  }
  partitions_.clear();
}

}  // namespace sluice::broker
