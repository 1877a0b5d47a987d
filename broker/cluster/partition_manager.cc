#include "broker/cluster/partition_manager.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <set>

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <fmt/format.h>

#include "broker/cluster/partition_directory.h"
#include "broker/config/broker_config.h"
#include "common/absl_compat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "storage/compaction/log_cleaner.h"
#include "storage/encryption/local_key_file.h"
#include "storage/log/file.h"
#include "storage/log/file_cache.h"
#include "storage/log/segment_keys.h"

namespace sluice::broker {
namespace {

constexpr size_t kClosingThreads = 32;

// In the data directory after a shutdown that closed every log in it: vouches for all of
// them at the next start, in place of a marker per log (as Kafka does per log directory).
constexpr std::string_view kCleanShutdownMarker = "clean-shutdown";
constexpr std::string_view kCleanShutdownContents = "sluice-clean-shutdown 1\n";

// Each hosted log pins one descriptor (its active segment); the file cache takes up to its
// capacity; connections, sockets to other brokers and the rest get an eighth of the limit.
int64_t MaxOpenLogs() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == RLIM_INFINITY) return INT64_MAX;
  const auto limit = static_cast<int64_t>(files.rlim_cur);
  const auto cache = static_cast<int64_t>(storage::FileCache::Shared().capacity());
  return std::max<int64_t>(0, limit - cache - std::max<int64_t>(64, limit / 8));
}

bool SameAssignment(const PartitionAssignment& a, const PartitionAssignment& b) {
  return a.leader == b.leader && a.leader_epoch == b.leader_epoch && a.partition_epoch == b.partition_epoch &&
         a.replicas == b.replicas && a.isr == b.isr;
}

}  // namespace

class PartitionManager::Barrier {
 public:
  Barrier(PartitionManager& manager, int64_t offset) : manager_(manager), offset_(offset) {}
  void Expect() { pending_.fetch_add(1, std::memory_order_relaxed); }
  void Arrive() {
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) manager_.BarrierDone(offset_);
  }

 private:
  PartitionManager& manager_;
  const int64_t offset_;
  std::atomic<int> pending_{1};  // the Apply itself until it has handed everything out
};

PartitionManager::PartitionManager(std::filesystem::path data_dir, const config::Properties& broker_config,
                                   ReplicaContext& context)
    : data_dir_(std::move(data_dir)),
      broker_config_(broker_config),
      context_(context),
      max_open_logs_(MaxOpenLogs()),
      flush_latency_(context.metrics ? &context.metrics->GetHistogram("kafka_log_logflushstats_logflush_seconds")
                                     : nullptr) {
  log::Info("partition logs: room for {} open logs within the file limit", max_open_logs_);
}

absl::Status PartitionManager::CheckDescriptorBudget() const {
  const int64_t open = storage::FileCache::Shared().pinned_count();
  if (open < max_open_logs_) return absl::OkStatus();
  return absl::ResourceExhaustedError(fmt::format(
      "{} logs are open, as many as the file limit leaves room for (raise RLIMIT_NOFILE)", open));
}

PartitionManager::~PartitionManager() { Shutdown(); }

std::shared_ptr<Partition> PartitionManager::Get(const std::string& topic, int32_t partition) const {
  std::shared_lock lock(mutex_);
  auto it = partitions_.find(Key(topic, partition));
  return it == partitions_.end() ? nullptr : it->second;
}

size_t PartitionManager::hosted_count() const {
  std::shared_lock lock(mutex_);
  return partitions_.size();
}

bool PartitionManager::IsOffline(const std::string& topic, int32_t partition) const {
  std::shared_lock lock(mutex_);
  return offline_.count(Key(topic, partition)) > 0;
}

std::set<PartitionManager::Key> PartitionManager::OfflineReplicas() const {
  std::shared_lock lock(mutex_);
  std::set<Key> keys;
  for (const auto& [key, reason] : offline_) keys.insert(key);
  return keys;
}

std::vector<std::shared_ptr<Partition>> PartitionManager::Hosted() const {
  std::shared_lock lock(mutex_);
  std::vector<std::shared_ptr<Partition>> hosted;
  hosted.reserve(partitions_.size());
  for (const auto& [key, partition] : partitions_) hosted.push_back(partition);
  return hosted;
}

size_t PartitionManager::ShardFor(const metadata::TopicId& topic_id, int32_t partition) const {
  // FNV-1a over the topic id, then consecutive partitions of a topic on consecutive shards.
  uint64_t hash = 1469598103934665603ull;
  for (uint8_t byte : topic_id) hash = (hash ^ byte) * 1099511628211ull;
  return static_cast<size_t>((hash + static_cast<uint64_t>(partition)) % context_.shards.size());
}

absl::Status PartitionManager::PrepareEncryption() {
  const std::string key_file = broker_config_.GetString("log.encryption.master.key.file");
  if (broker_config_.GetBool("log.encryption.enable")) {
    if (key_file.empty()) {
      return absl::InvalidArgumentError("log.encryption.enable is true but log.encryption.master.key.file is empty");
    }
    SLUICE_ASSIGN_OR_RETURN(segment_keys_, storage::LocalKeyFile::Load(key_file));
  } else if (!key_file.empty()) {
    log::Warn("log.encryption.master.key.file is set but log.encryption.enable is false: new segments are plaintext");
  }
  SLUICE_ASSIGN_OR_RETURN(storage::SegmentKeySummary summary,
                          storage::PrepareSegmentKeys(data_dir_, segment_keys_.get()));
  if (segment_keys_) {
    log::Info("encryption at rest: active master key '{}'; {} encrypted segments ({} rewrapped under it), {} "
              "plaintext", segment_keys_->active_key_id(), summary.encrypted, summary.rewrapped, summary.plaintext);
  }
  return absl::OkStatus();
}

absl::Status PartitionManager::Preload() {
  std::error_code ec;
  std::filesystem::create_directories(data_dir_, ec);
  if (ec) return absl::InternalError(fmt::format("cannot create {}: {}", data_dir_.string(), ec.message()));
  SLUICE_RETURN_IF_ERROR(PrepareEncryption());
  const std::vector<FoundDirectory> found = FindPartitionDirectories(data_dir_);
  const std::filesystem::path marker = data_dir_ / kCleanShutdownMarker;
  const auto shutdown = std::filesystem::exists(marker) ? storage::PartitionLog::Shutdown::kVouchedClean
                                                        : storage::PartitionLog::Shutdown::kAsMarked;
  // Broker-level defaults until the metadata gives each topic its own configs.
  const storage::LogConfig defaults = ToLogConfig(EffectiveTopicConfigs(broker_config_, {}));
  const int64_t started = context_.clock.MonotonicMs();
  std::mutex done_mutex;
  std::condition_variable done_cv;
  size_t remaining = found.size();
  std::atomic<size_t> failed{0};
  for (const FoundDirectory& directory : found) {
    asio::post(context_.background, [&, directory] {
      absl::Status budget = CheckDescriptorBudget();
      auto log = budget.ok() ? storage::PartitionLog::Open(directory.path, defaults, context_.clock, shutdown,
                                                                         segment_keys_)
                             : absl::StatusOr<std::unique_ptr<storage::PartitionLog>>(budget);
      absl::StatusOr<ProducerStateTable> producers = log.ok() ? LoadProducerState(**log) : log.status();
      if (producers.ok()) {
        std::unique_lock lock(mutex_);
        preloaded_[directory.path.filename().string()] = Preloaded{std::move(*log), std::move(*producers)};
      } else {
        ++failed;
        log::Error("cannot open {}: {}", directory.path.string(), producers.status());
      }
      std::lock_guard done(done_mutex);
      if (--remaining == 0) done_cv.notify_all();
    });
  }
  std::unique_lock done(done_mutex);
  done_cv.wait(done, [&] { return remaining == 0; });
  log::Info("opened {} partition logs in {} ms ({} failed){}", found.size() - failed,
            context_.clock.MonotonicMs() - started, failed.load(),
            shutdown == storage::PartitionLog::Shutdown::kVouchedClean ? " after a clean shutdown" : "");
  if (shutdown == storage::PartitionLog::Shutdown::kVouchedClean) {
    // Before anything is appended: from here on a crash must trigger recovery again. A log
    // opened later (one that failed here) is not vouched for and recovers.
    std::filesystem::remove(marker, ec);
    if (ec) return absl::InternalError(fmt::format("cannot remove {}: {}", marker.string(), ec.message()));
    SLUICE_RETURN_IF_ERROR(storage::SyncDirectory(data_dir_));
  }
  return absl::OkStatus();
}

void PartitionManager::Apply(const metadata::MetadataImage& image, bool caught_up) {
  const int32_t self = context_.broker_id;
  std::vector<std::function<void()>> after;  // posts, made once the lock is released
  bool check_orphans = false;
  {
    std::lock_guard lock(barrier_mutex_);
    pending_offsets_.insert(image.offset());
    latest_offset_ = std::max(latest_offset_, image.offset());
  }
  auto barrier = std::make_shared<Barrier>(*this, image.offset());
  {
    std::unique_lock lock(mutex_);
    std::set<Key> wanted;
    for (const auto& [name, topic] : image.topics()) {
      const auto effective = EffectiveTopicConfigs(broker_config_, topic->configs);
      const storage::LogConfig log_config = ToLogConfig(effective);
      const int32_t max_message_bytes = std::stoi(effective.at("max.message.bytes").value);
      const int32_t min_insync_replicas = std::stoi(effective.at("min.insync.replicas").value);
      for (const auto& p : topic->partitions) {
        if (std::find(p.replicas.begin(), p.replicas.end(), self) == p.replicas.end()) continue;
        const Key key(name, p.partition);
        wanted.insert(key);
        const PartitionAssignment assignment = PartitionAssignment::From(p);
        auto hosted = partitions_.find(key);
        if (hosted != partitions_.end() && hosted->second->topic_id() != topic->id) {
          // Same name, new topic: the old replica goes first.
          Remove(key, hosted->second, &after);
          partitions_.erase(hosted);
          hosted = partitions_.end();
        }
        if (hosted != partitions_.end()) {
          std::shared_ptr<Partition> partition = hosted->second;
          partition->log().UpdateConfig(log_config);
          partition->set_max_message_bytes(max_message_bytes);
          partition->set_min_insync_replicas(min_insync_replicas);
          partition->set_compacted(log_config.compact);
          auto& last = applied_[key];
          if (!SameAssignment(last, assignment)) {
            last = assignment;
            barrier->Expect();
            after.push_back([partition, assignment, barrier] {
              asio::post(partition->owner(), [partition, assignment, barrier] {
                partition->ApplyAssignment(assignment);
                barrier->Arrive();
              });
            });
          }
          continue;
        }
        Opening opening{.topic_id = topic->id,
                        .assignment = assignment,
                        .log_config = log_config,
                        .max_message_bytes = max_message_bytes,
                        .min_insync_replicas = min_insync_replicas};
        if (auto it = opening_.find(key); it != opening_.end()) {
          // The open in progress takes the latest assignment when it completes; one of an older
          // topic of this name is discarded then, and this one opened after it.
          if (it->second.topic_id == topic->id) {
            opening.launched = it->second.launched;
            opening.barriers = std::move(it->second.barriers);
            barrier->Expect();
            opening.barriers.push_back(barrier);
            it->second = std::move(opening);
          } else {
            it->second.cancelled = true;
          }
          continue;
        }
        barrier->Expect();
        opening.barriers.push_back(barrier);
        StartOpening(key, std::move(opening));
      }
    }
    for (auto it = partitions_.begin(); it != partitions_.end();) {
      if (wanted.count(it->first)) {
        ++it;
        continue;
      }
      Remove(it->first, it->second, &after);
      it = partitions_.erase(it);
    }
    for (auto& [key, opening] : opening_) {
      if (!wanted.count(key)) opening.cancelled = true;
    }
    std::erase_if(offline_, [&](const auto& entry) { return !wanted.count(entry.first); });
    if (caught_up && !orphans_checked_) check_orphans = orphans_checked_ = true;
  }
  for (auto& action : after) action();
  barrier->Arrive();
  if (check_orphans) DeleteOrphans();
}

void PartitionManager::BarrierDone(int64_t offset) {
  int64_t applied;
  {
    std::lock_guard lock(barrier_mutex_);
    pending_offsets_.erase(pending_offsets_.find(offset));
    applied = pending_offsets_.empty() ? latest_offset_ : *pending_offsets_.begin() - 1;
  }
  context_.metadata.MarkApplied(applied);
}

void PartitionManager::StartOpening(const Key& key, Opening opening) {
  opening_[key] = std::move(opening);
  if (!deleting_.count(key)) Launch(key);
}

void PartitionManager::Launch(const Key& key) {
  Opening& opening = opening_.at(key);
  opening.launched = true;
  asio::post(context_.background, [this, key, topic_id = opening.topic_id, log_config = opening.log_config] {
    OnOpened(key, topic_id, OpenLog(key.first, topic_id, key.second, log_config));
  });
}

void PartitionManager::OnOpened(const Key& key, const metadata::TopicId& topic_id, absl::StatusOr<Preloaded> opened) {
  std::shared_ptr<Partition> partition;
  PartitionAssignment assignment;
  std::vector<std::shared_ptr<Barrier>> barriers;
  auto arrive = [&barriers] {
    for (auto& barrier : barriers) barrier->Arrive();
  };
  {
    std::unique_lock lock(mutex_);
    auto it = opening_.find(key);
    if (it == opening_.end()) return;
    Opening opening = std::move(it->second);
    opening_.erase(it);
    barriers = std::move(opening.barriers);
    if (!opened.ok()) {
      // Not hosted: reported offline until a later attempt (MaintenanceLoop) succeeds.
      log::Error("partition {}-{}: cannot open its log, the replica is offline: {}", key.first, key.second,
                 opened.status());
      offline_[key] = std::string(ToStd(opened.status().message()));
      lock.unlock();
      return arrive();
    }
    offline_.erase(key);
    if (opening.cancelled || opening.topic_id != topic_id) {
      ++deleting_[key];
    } else {
      partition = std::make_shared<Partition>(topic_id, key.first, key.second, ShardFor(topic_id, key.second),
                                              std::move(opened->log), std::move(opened->producers), context_);
      partition->set_max_message_bytes(opening.max_message_bytes);
      partition->set_min_insync_replicas(opening.min_insync_replicas);
      partition->set_compacted(opening.log_config.compact);
      partitions_[key] = partition;
      applied_[key] = assignment = opening.assignment;
    }
  }
  if (!partition) {
    arrive();
    if (absl::Status s = opened->log->Delete(); !s.ok()) log::Error("partition {}-{}: {}", key.first, key.second, s);
    Deleted(key);
    // A topic re-created under this name while its predecessor's log was opening.
    Apply(*context_.metadata.Current(), false);
    return;
  }
  log::Info("partition {}-{}: hosting replica (log end {}, high watermark {})", key.first, key.second,
            partition->log().log_end_offset(), partition->high_watermark());
  asio::post(partition->owner(), [partition, assignment, barriers = std::move(barriers)] {
    partition->ApplyAssignment(assignment);
    for (auto& barrier : barriers) barrier->Arrive();
  });
}

void PartitionManager::Remove(const Key& key, std::shared_ptr<Partition> partition,
                              std::vector<std::function<void()>>* after) {
  applied_.erase(key);
  ++deleting_[key];
  after->push_back([this, key, partition = std::move(partition)] {
    log::Info("partition {}-{}: replica removed, deleting its log", key.first, key.second);
    asio::post(partition->owner(), [this, key, partition] {
      partition->Stop();
      asio::post(context_.background, [this, key, partition] {
        if (absl::Status status = partition->log().Delete(); !status.ok()) {
          log::Error("partition {}-{}: cannot delete log: {}", key.first, key.second, status);
        }
        Deleted(key);
      });
    });
  });
}

void PartitionManager::Deleted(const Key& key) {
  std::unique_lock lock(mutex_);
  auto it = deleting_.find(key);
  if (it == deleting_.end() || --it->second > 0) return;
  deleting_.erase(it);
  auto opening = opening_.find(key);
  if (opening != opening_.end() && !opening->second.launched) Launch(key);
}

absl::StatusOr<PartitionManager::Preloaded> PartitionManager::OpenLog(const std::string& topic,
                                                                      const metadata::TopicId& topic_id, int32_t index,
                                                                      const storage::LogConfig& config) {
  const std::filesystem::path dir = PartitionDirectory(data_dir_, topic, index);
  const std::string id = TopicIdHex(topic_id);
  std::optional<Preloaded> preloaded;
  {
    std::unique_lock lock(mutex_);
    if (auto it = preloaded_.find(dir.filename().string()); it != preloaded_.end()) {
      preloaded = std::move(it->second);
      preloaded_.erase(it);
    }
  }
  if (preloaded) {
    if (ReadTopicIdFile(dir) == id) {
      preloaded->log->UpdateConfig(config);
      return std::move(*preloaded);
    }
    log::Info("partition {}-{}: directory belongs to an earlier topic of that name; removing it", topic, index);
    SLUICE_RETURN_IF_ERROR(preloaded->log->Delete());
  }
  SLUICE_RETURN_IF_ERROR(CheckDescriptorBudget());
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    auto existing = ReadTopicIdFile(dir);
    if (existing && *existing != id) std::filesystem::remove_all(dir, ec);
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  if (!ReadTopicIdFile(dir)) SLUICE_RETURN_IF_ERROR(WriteTopicIdFile(dir, topic_id));
  SLUICE_ASSIGN_OR_RETURN(auto log, storage::PartitionLog::Open(dir, config, context_.clock,
                                                                storage::PartitionLog::Shutdown::kAsMarked, segment_keys_));
  SLUICE_ASSIGN_OR_RETURN(ProducerStateTable producers, LoadProducerState(*log));
  return Preloaded{std::move(log), std::move(producers)};
}

void PartitionManager::DeleteOrphans() {
  // Directory names the metadata gives this broker, or that a replica is still using.
  auto in_use = [this] {
    std::set<std::string> names;
    for (const auto& [key, partition] : partitions_) names.insert(PartitionDirectory(data_dir_, key.first, key.second).filename());
    for (const auto& [key, opening] : opening_) names.insert(PartitionDirectory(data_dir_, key.first, key.second).filename());
    for (const auto& [key, count] : deleting_) names.insert(PartitionDirectory(data_dir_, key.first, key.second).filename());
    return names;
  };
  auto unclaimed = std::make_shared<std::vector<Preloaded>>();
  {
    std::unique_lock lock(mutex_);
    const std::set<std::string> names = in_use();
    for (auto it = preloaded_.begin(); it != preloaded_.end();) {
      if (names.count(it->first)) {
        ++it;
        continue;
      }
      unclaimed->push_back(std::move(it->second));
      it = preloaded_.erase(it);
    }
  }
  asio::post(context_.background, [this, in_use, unclaimed] {
    for (auto& orphan : *unclaimed) {
      log::Info("partition directory {} belongs to no replica of this broker; removing it", orphan.log->dir().string());
      if (absl::Status s = orphan.log->Delete(); !s.ok()) log::Error("{}", s);
    }
    // Directories whose log could not even be opened. The lock is held throughout, so no
    // replica starts opening a directory between the check and its removal.
    const std::vector<FoundDirectory> found = FindPartitionDirectories(data_dir_);
    std::shared_lock lock(mutex_);
    const std::set<std::string> names = in_use();
    for (const FoundDirectory& directory : found) {
      const std::string name = directory.path.filename().string();
      if (names.count(name) || preloaded_.count(name)) continue;
      log::Info("partition directory {} belongs to no replica of this broker; removing it", name);
      std::error_code ec;
      std::filesystem::remove_all(directory.path, ec);
    }
  });
}

void PartitionManager::StartMaintenance() {
  maintenance_thread_ = std::thread([this] { MaintenanceLoop(); });
}

void PartitionManager::MaintenanceLoop() {
  const int64_t retention_interval_ms = broker_config_.GetLong("log.retention.check.interval.ms");
  int64_t next_retention_ms = context_.clock.MonotonicMs() + retention_interval_ms;
  const int64_t checkpoint_interval_ms = context_.options.high_watermark_checkpoint_interval_ms;
  int64_t next_checkpoint_ms = context_.clock.MonotonicMs() + checkpoint_interval_ms;
  const int64_t cleaner_backoff_ms = broker_config_.GetLong("log.cleaner.backoff.ms");
  // How often replicas whose log failed to open are tried again.
  constexpr int64_t kOfflineRetryMs = 5000;
  int64_t next_offline_retry_ms = context_.clock.MonotonicMs() + kOfflineRetryMs;
  // How often the image is compared with what this broker hosts (ReportReplicaChanges).
  constexpr int64_t kReportIntervalMs = 1000;
  int64_t next_report_ms = context_.clock.MonotonicMs();
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
    const int64_t now = context_.clock.NowMs();
    const int64_t monotonic = context_.clock.MonotonicMs();
    const bool retention_due = monotonic >= next_retention_ms;
    const bool checkpoint_due = monotonic >= next_checkpoint_ms;
    for (const auto& partition : partitions) {
      storage::PartitionLog& log = partition->log();
      auto report = [&](const char* what, const absl::Status& s) {
        if (!s.ok()) log::Error("partition {}-{}: {} failed: {}", partition->topic(), partition->index(), what, s);
      };
      if (log.FlushDue(now)) {
        const auto started = std::chrono::steady_clock::now();
        report("flush", log.Flush());
        if (flush_latency_ != nullptr) {
          flush_latency_->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        }
      }
      // Retention and compaction never touch what the ISR does not hold yet.
      if (retention_due) report("retention", log.ApplyRetention(now, partition->high_watermark()));
      if (checkpoint_due) report("high watermark checkpoint", log.CheckpointHighWatermark(partition->high_watermark()));
    }
    for (const auto& partition : partitions) {
      const Key key(partition->topic(), partition->index());
      auto last = last_cleaned_ms.find(key);
      if (last != last_cleaned_ms.end() && context_.clock.MonotonicMs() - last->second < cleaner_backoff_ms) continue;
      if (!CleaningDue(partition->log(), partition->last_stable_offset())) continue;
      last_cleaned_ms[key] = context_.clock.MonotonicMs();
      Clean(*partition);
    }
    if (monotonic >= next_report_ms) {
      next_report_ms = monotonic + kReportIntervalMs;
      ReportReplicaChanges();
    }
    if (monotonic >= next_offline_retry_ms) {
      next_offline_retry_ms = monotonic + kOfflineRetryMs;
      bool any_offline;
      {
        std::shared_lock map_lock(mutex_);
        any_offline = !offline_.empty();
      }
      if (any_offline) Apply(*context_.metadata.Current(), false);
    }
    if (retention_due) next_retention_ms = context_.clock.MonotonicMs() + retention_interval_ms;
    if (checkpoint_due) next_checkpoint_ms = context_.clock.MonotonicMs() + checkpoint_interval_ms;
    lock.lock();
  }
}

void PartitionManager::ReportReplicaChanges() {
  if (report_in_flight_.load() || !context_.report_replicas) return;
  const int32_t self = context_.broker_id;
  const auto image = context_.metadata.Current();
  metadata::ReportReplicasRequest request;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [key, reason] : offline_) {
      auto topic = image->FindTopic(key.first);
      if (!topic || static_cast<size_t>(key.second) >= topic->partitions.size()) continue;
      const metadata::PartitionInfo& p = topic->partitions[key.second];
      if (std::find(p.offline_replicas.begin(), p.offline_replicas.end(), self) != p.offline_replicas.end()) continue;
      auto* ref = request.add_offline();
      ref->set_topic_id(metadata::FromTopicId(topic->id));
      ref->set_partition(key.second);
    }
    for (const auto& [name, topic] : image->topics()) {
      for (const metadata::PartitionInfo& p : topic->partitions) {
        if (p.offline_replicas.empty() ||
            std::find(p.offline_replicas.begin(), p.offline_replicas.end(), self) == p.offline_replicas.end()) {
          continue;
        }
        auto hosted = partitions_.find(Key(name, p.partition));
        if (hosted == partitions_.end() || hosted->second->topic_id() != topic->id) continue;
        auto* ref = request.add_online();
        ref->set_topic_id(metadata::FromTopicId(topic->id));
        ref->set_partition(p.partition);
      }
    }
  }
  if (request.offline_size() == 0 && request.online_size() == 0) return;
  request.set_broker_id(self);
  request.set_broker_epoch(context_.broker_epoch());
  log::Info("broker {}: reporting {} replicas offline and {} online to the controller", self, request.offline_size(),
            request.online_size());
  report_in_flight_ = true;
  context_.report_replicas(request, [this](absl::StatusOr<metadata::ReportReplicasResponse> response) {
    if (!response.ok()) log::Warn("broker {}: reporting replicas failed: {}", context_.broker_id, response.status());
    report_in_flight_ = false;
  });
}

bool PartitionManager::CleaningDue(const storage::PartitionLog& log, int64_t max_offset) {
  const storage::LogConfig config = log.config();
  return config.compact && log.segment_count() > 1 &&
         storage::DirtyRatio(log, max_offset) > config.min_cleanable_dirty_ratio;
}

void PartitionManager::Clean(Partition& partition) {
  // Below the last stable offset every transaction is decided, so the cleaner knows which
  // records were aborted.
  auto cleaned = storage::CleanLog(partition.log(), context_.clock.NowMs(), partition.last_stable_offset());
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
  const int64_t started = context_.clock.MonotonicMs();
  // One marker for the data directory when every log in it is closed here; otherwise (a log
  // that failed to open, a deletion cut short) each log gets its own.
  std::set<std::string> open_dirs;
  for (const auto& [key, partition] : partitions_) open_dirs.insert(partition->log().dir().filename().string());
  for (const auto& [name, preloaded] : preloaded_) open_dirs.insert(preloaded.log->dir().filename().string());
  bool vouch = true;
  for (const FoundDirectory& directory : FindPartitionDirectories(data_dir_)) {
    if (!open_dirs.count(directory.path.filename().string())) vouch = false;
  }
  const auto marker = vouch ? storage::PartitionLog::Shutdown::kVouchedClean : storage::PartitionLog::Shutdown::kAsMarked;
  std::atomic<bool> all_closed{true};
  {
    // Closing is a handful of fsyncs per log: waits for the disk, not for a core, so many run
    // at once (their journal commits are shared).
    asio::thread_pool closers(kClosingThreads);
    for (auto& [key, partition] : partitions_) {
      asio::post(closers, [key, partition, marker, &all_closed] {
        // The last high watermark survives the restart; the log's own state is flushed by Close.
        if (absl::Status s = partition->log().CheckpointHighWatermark(partition->high_watermark()); !s.ok()) {
          log::Error("partition {}-{}: high watermark checkpoint failed: {}", key.first, key.second, s);
        }
        if (absl::Status s = partition->log().Close(marker); !s.ok()) {
          all_closed = false;
          log::Error("partition {}-{}: close failed: {}", key.first, key.second, s);
        }
      });
    }
    for (auto& [name, preloaded] : preloaded_) {
      asio::post(closers, [&name, log = preloaded.log.get(), marker, &all_closed] {
        if (absl::Status s = log->Close(marker); !s.ok()) {
          all_closed = false;
          log::Error("{}: close failed: {}", name, s);
        }
      });
    }
    closers.join();
  }
  if (vouch && all_closed) {
    const std::filesystem::path path = data_dir_ / kCleanShutdownMarker;
    if (absl::Status s = storage::WriteFileAtomically(path, kCleanShutdownContents); !s.ok()) {
      log::Error("cannot write {}: every log recovers at the next start: {}", path.string(), s);
    }
  }
  log::Info("closed {} partition logs in {} ms", partitions_.size() + preloaded_.size(),
            context_.clock.MonotonicMs() - started);
  partitions_.clear();
  preloaded_.clear();
}

}  // namespace sluice::broker
