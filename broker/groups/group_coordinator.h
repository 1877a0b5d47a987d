#pragma once
// The group coordinator: owns the groups of the __consumer_offsets partitions this broker
// leads, keeps them on one thread of its own (so group state needs no locks and I/O threads
// never wait for it), persists membership and offsets as records in those partitions, and
// rebuilds them by replaying a partition when it becomes leader (answering
// COORDINATOR_LOAD_IN_PROGRESS meanwhile).
//
// Threading: Post() runs a task on the coordinator thread; every method marked "coordinator
// thread" must only be called from such a task. Replays run on a separate loader thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "broker/cluster/controller_link.h"
#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/groups/group.h"
#include "broker/groups/group_loader.h"
#include "broker/groups/pending_txn_offsets.h"
#include "common/clock.h"
#include "common/config.h"

namespace sluice::broker::groups {

struct CoordinatorOptions {
  int32_t broker_id = 1;
  int32_t offsets_topic_partitions = 50;
  int16_t offsets_topic_replication_factor = 1;
  int64_t initial_rebalance_delay_ms = 3000;
  int32_t min_session_timeout_ms = 6000;
  int32_t max_session_timeout_ms = 1800000;
  int64_t offsets_retention_ms = 7 * 24 * 3600 * 1000LL;
  int64_t retention_check_interval_ms = 600000;
  int32_t max_group_size = INT32_MAX;
  int32_t offset_metadata_max_bytes = 4096;
  // How long an offset commit waits for the ISR to hold it (Kafka's offsets.commit.timeout.ms).
  int64_t offsets_commit_timeout_ms = 5000;

  static CoordinatorOptions FromConfig(int32_t broker_id, const config::Properties& config);
};

enum class Ownership { kOwned, kLoading, kNotOwned };

class GroupCoordinator {
 public:
  GroupCoordinator(CoordinatorOptions options, MetadataCache& metadata, PartitionManager& partitions,
                   ControllerLink& controller, const Clock& clock);
  ~GroupCoordinator();

  void Start();
  // Answers waiting requests with NOT_COORDINATOR and joins the threads.
  void Stop();

  void Post(std::function<void()> task);
  const CoordinatorOptions& options() const { return options_; }

  // Any thread, for /metrics: the committed offsets of the groups this broker coordinates,
  // with their lag (high watermark minus committed offset) where this broker hosts the
  // partition. Empty when the coordinator thread does not answer within `wait`.
  struct CommittedLag {
    std::string group;
    std::string topic;
    int32_t partition;
    int64_t committed;
    std::optional<int64_t> lag;
  };
  std::vector<CommittedLag> SnapshotLag(std::chrono::milliseconds wait);

  // Any thread. The partition of __consumer_offsets for `group_id`, from the topic's real
  // partition count once it exists.
  int32_t PartitionFor(const std::string& group_id) const;
  // Any thread. Creates __consumer_offsets through the controller unless it exists; `done(ok)`
  // runs on the controller link's thread once this broker's metadata shows the topic.
  void EnsureOffsetsTopic(std::function<void(bool ok)> done);

  // --- coordinator thread ---
  // NONE, INVALID_GROUP_ID, NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS.
  kafka::ErrorCode CheckGroupId(const std::string& group_id) const;
  bool AnyLoading() const;
  Group* Find(const std::string& group_id);
  Group& FindOrCreate(const std::string& group_id);
  std::vector<Group*> AllGroups();
  int64_t NowMs() const { return clock_.NowMs(); }

  // `done` runs on the coordinator thread once the records are committed (in every ISR
  // member's log), or with the reason they are not.
  using Committed = std::function<void(absl::Status)>;
  // Appends the offset records; once committed, records them in the group (if it still exists).
  void CommitOffsets(const std::string& group_id, std::vector<std::pair<TopicPartition, CommittedOffset>> offsets,
                     Committed done);
  // Forgets the given offsets at once and tombstones them.
  void DeleteOffsets(Group& group, const std::vector<TopicPartition>& partitions, Committed done);
  // Removes the group at once and tombstones it and its offsets.
  void DeleteGroup(const std::string& group_id, Committed done);

  // TxnOffsetCommit: appends the offsets as part of the producer's transaction (a
  // transactional batch under its id and epoch); once committed they are pending until the
  // transaction ends. `done` gets the error for every partition (kNone: written).
  void CommitTxnOffsets(const std::string& group_id, int64_t producer_id, int16_t producer_epoch,
                        std::vector<std::pair<TopicPartition, CommittedOffset>> offsets,
                        std::function<void(kafka::ErrorCode)> done);
  // Whether a transaction that has not ended wrote an offset for the group's partition.
  bool HasPendingTxnOffset(const std::string& group_id, const TopicPartition& partition) const {
    return pending_txn_.IsPending(group_id, partition);
  }

  // Any thread. A commit (`commit`) or abort marker of `producer_id` is committed in
  // __consumer_offsets partition `partition`: the offsets its transaction wrote there through
  // TxnOffsetCommit become the groups' committed offsets, or are dropped.
  void CompleteTransaction(int32_t partition, int64_t producer_id, bool commit);

 private:
  struct OwnedPartition {
    bool loaded = false;
    uint64_t load_epoch = 0;
  };
  using KeyValue = std::pair<std::string, std::optional<std::string>>;

  struct TxnProducer {
    int64_t id;
    int16_t epoch;
  };
  // Appends on the partition's owner shard; `wait_for_commit` asks for acks=all. With
  // `producer`, the batch is part of that producer's transaction. `done` runs on the
  // coordinator thread.
  void AppendRecords(int32_t partition, const std::vector<KeyValue>& records, std::optional<TxnProducer> producer,
                     bool wait_for_commit, std::function<void(ProduceOutcome)> done);
  void Append(int32_t partition, const std::vector<KeyValue>& records, bool wait_for_commit, Committed done);
  absl::Status PersistGroup(const Group& group);
  std::unique_ptr<Group> NewGroup(const std::string& group_id);
  void ScheduleTick();
  void Tick();
  void WatchLeadership();
  void StartLoad(int32_t partition);
  void InstallLoaded(int32_t partition, uint64_t epoch, absl::StatusOr<LoadedPartition> loaded, int64_t started_ms);
  void UnloadPartition(int32_t partition);
  void ExpireOffsets(int64_t now_ms);
  bool LeadsInImage(int32_t partition) const;

  const CoordinatorOptions options_;
  MetadataCache& metadata_;
  PartitionManager& partitions_;
  ControllerLink& controller_;
  const Clock& clock_;

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::steady_timer tick_timer_;
  std::thread thread_;
  asio::io_context loader_io_;
  asio::executor_work_guard<asio::io_context::executor_type> loader_work_;
  std::thread loader_thread_;
  std::atomic<bool> stopping_{false};

  // Coordinator thread only.
  std::shared_ptr<const metadata::MetadataImage> watched_image_;
  std::map<int32_t, OwnedPartition> owned_;
  uint64_t next_load_epoch_ = 0;
  std::map<std::string, std::unique_ptr<Group>> groups_;
  PendingTxnOffsets pending_txn_;
  int64_t next_retention_check_ms_ = 0;
};

}  // namespace sluice::broker::groups
