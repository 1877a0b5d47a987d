#pragma once
// Creates, configures and deletes this broker's partition replicas as metadata images arrive,
// and runs the logs' background maintenance (flush policy, retention, compaction) on its own
// thread so that no I/O thread ever waits for a disk sync.

#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>

#include "broker/cluster/partition.h"
#include "common/clock.h"
#include "common/config.h"
#include "protocol/metadata/image.h"

namespace sluice::broker {

class PartitionManager {
 public:
  PartitionManager(int32_t broker_id, std::filesystem::path data_dir, const config::Properties& broker_config,
                   const Clock& clock);
  ~PartitionManager();

  // Brings hosted replicas in line with `image`. `caught_up` says the image holds every
  // committed record, which makes it safe to delete directories of topics it does not know.
  absl::Status Apply(const metadata::MetadataImage& image, bool caught_up);
  std::shared_ptr<Partition> Get(const std::string& topic, int32_t partition) const;

  void StartMaintenance();
  // Stops maintenance and closes every log cleanly (flushed, marked clean).
  void Shutdown();

 private:
  using Key = std::pair<std::string, int32_t>;
  absl::StatusOr<std::shared_ptr<Partition>> OpenReplica(const metadata::TopicInfo& topic, int32_t index,
                                                         const storage::LogConfig& config);
  void DeleteOrphanDirectories();
  void MaintenanceLoop();
  // Compaction (cleanup.policy=compact) runs on the maintenance thread, never on I/O threads.
  static bool CleaningDue(const storage::PartitionLog& log);
  void Clean(Partition& partition);

  const int32_t broker_id_;
  const std::filesystem::path data_dir_;
  const config::Properties& broker_config_;
  const Clock& clock_;

  mutable std::shared_mutex mutex_;
  std::map<Key, std::shared_ptr<Partition>> partitions_;
  std::map<Key, metadata::TopicId> partition_topic_ids_;
  bool orphans_checked_ = false;

  std::mutex maintenance_mutex_;
  std::condition_variable maintenance_wake_;
  bool stopping_ = false;
  std::thread maintenance_thread_;
};

}  // namespace sluice::broker
