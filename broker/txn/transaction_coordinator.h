#pragma once
// The transaction coordinator (KIP-98): owns the transactional ids whose __transaction_state
// partition this broker leads, on one thread of its own (no locks; I/O threads never wait for
// it). Every state change is appended to that partition with acks=all before it is acted on or
// answered; when this broker becomes a partition's leader it replays the partition on a loader
// thread (COORDINATOR_LOAD_IN_PROGRESS meanwhile) and resumes the transactions that were
// committing or aborting. Commits and aborts end with WriteTxnMarkers to the leader of every
// partition of the transaction (TxnMarkerSender), then the Complete* record.
//
// Threading: public methods marked "any thread" post to the coordinator thread; their `done`
// callbacks run there.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "broker/cluster/controller_link.h"
#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/replication/replication_options.h"
#include "broker/txn/broker_channels.h"
#include "broker/txn/producer_id_manager.h"
#include "broker/txn/transaction_loader.h"
#include "broker/txn/transaction_metadata.h"
#include "broker/txn/txn_marker_sender.h"
#include "common/clock.h"
#include "common/config.h"
#include "protocol/kafka/error_codes.h"

namespace sluice::broker::txn {

struct TxnCoordinatorOptions {
  int32_t broker_id = 1;
  int32_t state_topic_partitions = 50;       // transaction.state.log.num.partitions
  int16_t state_topic_replication_factor = 3;  // transaction.state.log.replication.factor
  int32_t state_topic_min_isr = 2;           // transaction.state.log.min.isr
  int64_t state_topic_segment_bytes = 104857600;
  int32_t max_timeout_ms = 900000;                         // transaction.max.timeout.ms
  int64_t id_expiration_ms = 604800000;                    // transactional.id.expiration.ms
  int64_t abort_timed_out_interval_ms = 10000;             // ...abort.timed.out.transaction.cleanup.interval.ms
  int64_t remove_expired_interval_ms = 3600000;            // ...remove.expired.transaction.cleanup.interval.ms
  int64_t append_timeout_ms = 30000;  // how long a state write waits for the ISR (Kafka: its request timeout)

  static TxnCoordinatorOptions FromConfig(int32_t broker_id, const config::Properties& config);
};

struct InitProducerIdResult {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
};

class TransactionCoordinator {
 public:
  TransactionCoordinator(TxnCoordinatorOptions options, MetadataCache& metadata, PartitionManager& partitions,
                         ControllerLink& controller, ProducerIdManager& producer_ids, const Clock& clock,
                         ReplicationOptions::InterBrokerSecurity security);
  ~TransactionCoordinator();

  void Start();
  // Answers nothing more (waiting callbacks are dropped with the thread) and joins the threads.
  void Stop();
  void Post(std::function<void()> task);

  // Any thread: the __transaction_state partition of `transactional_id` (from the topic's real
  // partition count once it exists).
  int32_t PartitionFor(const std::string& transactional_id) const;
  // Any thread. Creates __transaction_state through the controller unless it exists; `done(ok)`
  // runs once this broker's metadata shows the topic.
  void EnsureStateTopic(std::function<void(bool ok)> done);

  // Any thread; `done` runs on the coordinator thread once the outcome is persisted.
  // KIP-360: `expected_producer_id`/`expected_epoch` are -1 unless the producer asks to bump
  // the epoch of the id it has.
  void InitProducerId(std::string transactional_id, int32_t timeout_ms, int64_t expected_producer_id,
                      int16_t expected_epoch, std::function<void(InitProducerIdResult)> done);
  void AddPartitions(std::string transactional_id, int64_t producer_id, int16_t producer_epoch,
                     std::set<TopicPartition> partitions, std::function<void(kafka::ErrorCode)> done);
  // KIP-890 VerifyOnly: per partition, NONE when it is in the ongoing transaction at this epoch.
  void VerifyPartitions(std::string transactional_id, int64_t producer_id, int16_t producer_epoch,
                        std::vector<TopicPartition> partitions,
                        std::function<void(std::map<TopicPartition, kafka::ErrorCode>)> done);
  // Answered once PrepareCommit/PrepareAbort is persisted; the markers follow.
  void EndTxn(std::string transactional_id, int64_t producer_id, int16_t producer_epoch, bool commit,
              std::function<void(kafka::ErrorCode)> done);

  struct Described {
    kafka::ErrorCode error = kafka::ErrorCode::kNone;
    TransactionMetadata txn;
  };
  void Describe(std::vector<std::string> transactional_ids, std::function<void(std::vector<Described>)> done);
  // Every transaction this broker coordinates, or COORDINATOR_LOAD_IN_PROGRESS while a
  // partition is loading.
  void List(std::function<void(kafka::ErrorCode, std::vector<TransactionMetadata>)> done);

  // Coordinator thread: the coordinator broker of `transactional_id` by the current image, -1
  // when its partition has no leader (or the topic does not exist yet).
  int32_t CoordinatorOf(const std::string& transactional_id) const;
  int32_t broker_id() const { return options_.broker_id; }
  BrokerChannels& channels() { return channels_; }

 private:
  struct OwnedPartition {
    bool loaded = false;
    uint64_t load_epoch = 0;
    int32_t coordinator_epoch = 0;  // the partition's leader epoch when this broker took it
  };
  using Written = std::function<void(kafka::ErrorCode)>;

  // NONE, INVALID_REQUEST (empty id), NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS.
  kafka::ErrorCode CheckOwned(const std::string& transactional_id) const;
  // Writes `next` (nullopt: a tombstone for `id`) with acks=all; on success installs it (or
  // removes the id). The id's metadata is marked pending meanwhile.
  void Persist(const std::string& id, std::optional<TransactionMetadata> next, Written done);
  void Append(int32_t partition, std::string key, std::optional<std::string> value,
              std::function<void(kafka::ErrorCode)> done);
  // AddPartitions on the coordinator thread. A request that finds the producer's previous
  // transaction still completing (its markers in flight) or another write of it pending waits
  // here, until `deadline_ms`, rather than answering CONCURRENT_TRANSACTIONS at once: the
  // client's retry backoff (20 ms and more) would otherwise start nearly every transaction.
  void AddPartitionsNow(std::string id, int64_t producer_id, int16_t producer_epoch,
                        std::set<TopicPartition> partitions, std::function<void(kafka::ErrorCode)> done,
                        int64_t deadline_ms);
  // Runs what waits for `id` to settle: after each state write of it.
  void RunSettledWaiters(const std::string& id);
  // Answers CONCURRENT_TRANSACTIONS to waiters past their deadline.
  void ExpireSettledWaiters(int64_t now_ms);
  void InitNewProducerId(std::string id, int32_t timeout_ms, std::function<void(InitProducerIdResult)> done);
  void InitExisting(TransactionMetadata& txn, int32_t timeout_ms, int64_t expected_producer_id,
                    int16_t expected_epoch, std::function<void(InitProducerIdResult)> done);
  // Moves `txn` to a fresh producer id at epoch 0 (new id, or exhausted epochs).
  void RotateProducerId(std::string id, int32_t timeout_ms, std::function<void(InitProducerIdResult)> done);
  // Fences the producer of an ongoing transaction (epoch bump) and aborts it.
  void FenceAndAbort(const TransactionMetadata& txn);
  void StartMarkers(const std::string& id);
  void OnMarkersWritten(const std::string& id, int64_t producer_id, int16_t producer_epoch, TxnState prepared);
  void ScheduleTick();
  void Tick();
  void AbortTimedOut(int64_t now_ms);
  void ExpireIds(int64_t now_ms);
  void WatchLeadership();
  void StartLoad(int32_t partition);
  void InstallLoaded(int32_t partition, uint64_t epoch, absl::StatusOr<LoadedTransactions> loaded, int64_t started_ms);
  void UnloadPartition(int32_t partition);
  bool StillOwned(int32_t partition, uint64_t load_epoch) const;

  const TxnCoordinatorOptions options_;
  MetadataCache& metadata_;
  PartitionManager& partitions_;
  ControllerLink& controller_;
  ProducerIdManager& producer_ids_;
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
  BrokerChannels channels_;
  TxnMarkerSender markers_;
  std::shared_ptr<const metadata::MetadataImage> watched_image_;
  std::map<int32_t, OwnedPartition> owned_;
  uint64_t next_load_epoch_ = 0;
  std::map<std::string, TransactionMetadata> txns_;
  struct SettledWaiter {
    int64_t deadline_ms;
    std::function<void()> retry;
    std::function<void()> expire;
  };
  std::map<std::string, std::vector<SettledWaiter>> settled_waiters_;  // by transactional id
  int64_t next_abort_check_ms_ = 0;
  int64_t next_expiry_check_ms_ = 0;
};

}  // namespace sluice::broker::txn
