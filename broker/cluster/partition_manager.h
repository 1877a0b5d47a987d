#pragma once
// Creates, configures and deletes this broker's partition replicas as metadata images arrive,
// hands each replica its assignment on its owner shard, and runs the logs' background
// maintenance (flush policy, retention, compaction, high-watermark checkpoints) on its own
// thread so that no shard ever waits for a disk sync.
//
// Opening a log (crash recovery) and deleting one run on the context's background pool. Logs
// found on disk are opened by Preload() before the broker registers, so a long recovery never
// delays heartbeats and a replica is ready the moment the metadata names it.

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "broker/cluster/partition.h"
#include "broker/replication/replica_context.h"
#include "common/clock.h"
#include "common/config.h"
#include "storage/encryption/key_provider.h"
#include "protocol/metadata/image.h"

namespace sluice::broker {

class PartitionManager {
 public:
  PartitionManager(std::filesystem::path data_dir, const config::Properties& broker_config, ReplicaContext& context);
  ~PartitionManager();

  // Opens every replica directory under the data directory (recovering logs after a crash),
  // in parallel on the background pool. Blocks the calling thread, which must not be a shard.
  // First loads the master keys (log.encryption.*) and checks every encrypted segment against
  // them, rewrapping data keys when the active key changed: kFailedPrecondition naming the
  // segment and key id when one cannot be read, so the broker refuses to start.
  absl::Status Preload();
  // Brings hosted replicas in line with `image` (called on the metadata thread). `caught_up`
  // says the image holds every committed record, which makes it safe to delete directories of
  // topics it does not know.
  void Apply(const metadata::MetadataImage& image, bool caught_up);
  std::shared_ptr<Partition> Get(const std::string& topic, int32_t partition) const;
  // The shard that owns (or will own) a replica of this partition.
  size_t ShardFor(const metadata::TopicId& topic_id, int32_t partition) const;
  size_t hosted_count() const;
  // Replicas the metadata gives this broker whose log could not be opened (e.g. out of
  // descriptors or disk): reported offline, never served; retried every few seconds.
  bool IsOffline(const std::string& topic, int32_t partition) const;
  std::set<std::pair<std::string, int32_t>> OfflineReplicas() const;
  // Every hosted replica (DescribeLogDirs), and the directory holding their logs (log.dirs).
  std::vector<std::shared_ptr<Partition>> Hosted() const;
  const std::filesystem::path& data_dir() const { return data_dir_; }

  void StartMaintenance();
  // Stops maintenance and closes every log cleanly (flushed, marked clean). Call after the
  // shards stopped.
  void Shutdown();

 private:
  using Key = std::pair<std::string, int32_t>;
  // Counts the work one Apply handed out (opens, role changes on owner shards); when it is all
  // done the image's offset counts as applied (MetadataCache::MarkApplied), once every earlier
  // image's work is done too.
  class Barrier;
  struct Opening {
    metadata::TopicId topic_id;
    PartitionAssignment assignment;  // the latest the metadata gave while the log was opening
    storage::LogConfig log_config;
    int32_t max_message_bytes = 0;
    int32_t min_insync_replicas = 1;
    bool cancelled = false;
    bool launched = false;  // false while an earlier replica's directory is being deleted
    std::vector<std::shared_ptr<Barrier>> barriers;  // the Applies that wait for this open
  };
  struct Preloaded {
    std::unique_ptr<storage::PartitionLog> log;
    ProducerStateTable producers;
  };

  // mutex_ held. Opens the replica's log on the background pool, after any deletion of the
  // same directory finished.
  void StartOpening(const Key& key, Opening opening);
  void Launch(const Key& key);  // mutex_ held
  void OnOpened(const Key& key, const metadata::TopicId& topic_id, absl::StatusOr<Preloaded> opened);
  // mutex_ held: marks the directory as being deleted; Deleted() releases it.
  void Remove(const Key& key, std::shared_ptr<Partition> partition, std::vector<std::function<void()>>* after);
  void Deleted(const Key& key);
  void BarrierDone(int64_t offset);
  // Background pool: opens (or takes the preloaded) log of a replica.
  absl::StatusOr<Preloaded> OpenLog(const std::string& topic, const metadata::TopicId& topic_id, int32_t index,
                                    const storage::LogConfig& config);
  void DeleteOrphans();
  // Tells the controller about replicas that went offline here, or are hosted again, where
  // the image does not say so yet (at most one report in flight).
  void ReportReplicaChanges();
  void MaintenanceLoop();
  static bool CleaningDue(const storage::PartitionLog& log, int64_t max_offset);
  void Clean(Partition& partition);

  // kResourceExhausted when opening one more log would eat into the descriptors kept for
  // connections and the file cache.
  absl::Status CheckDescriptorBudget() const;
  // Loads the key provider of log.encryption.* and runs storage::PrepareSegmentKeys.
  absl::Status PrepareEncryption();

  const std::filesystem::path data_dir_;
  const config::Properties& broker_config_;
  std::shared_ptr<const storage::KeyProvider> segment_keys_;  // set by Preload; null: plaintext
  ReplicaContext& context_;
  const int64_t max_open_logs_;  // active segments the file limit leaves room for
  metrics::Histogram* const flush_latency_;  // null without a registry

  mutable std::shared_mutex mutex_;
  std::map<Key, std::shared_ptr<Partition>> partitions_;
  std::map<Key, Opening> opening_;
  std::map<std::string, Preloaded> preloaded_;  // by directory name, until the metadata claims them
  std::map<Key, PartitionAssignment> applied_;  // last assignment handed to each replica
  std::map<Key, int> deleting_;                 // directories whose old replica is being deleted
  std::map<Key, std::string> offline_;          // replicas whose log failed to open, and why
  std::atomic<bool> report_in_flight_{false};
  bool orphans_checked_ = false;

  std::mutex barrier_mutex_;
  // Applies whose work is not done; a multiset, as an image may be applied again (retries).
  std::multiset<int64_t> pending_offsets_;
  int64_t latest_offset_ = -1;          // of the last Apply

  std::mutex maintenance_mutex_;
  std::condition_variable maintenance_wake_;
  bool stopping_ = false;
  std::thread maintenance_thread_;
};

}  // namespace sluice::broker
