#pragma once
// One partition replica hosted by this broker, in the role the metadata gives it: leader
// (accepts appends, serves consumers and followers, tracks the followers' progress, advances
// the high watermark and proposes ISR changes), follower (appends what its shard's replica
// fetcher brings from the leader) or neither (no live leader).
//
// Threading: the replica belongs to one owner shard (an io_context of the broker's pool). Its
// role, high watermark, producer state, follower progress and waiters are touched only there,
// so they need no locks: every method marked "owner" must run on owner(). The log itself is
// thread-safe (the maintenance thread flushes it and applies retention); blocking log work a
// role change needs (truncation, a new log start) runs on the context's background pool while
// the replica pauses. A few values are mirrored in atomics for other threads.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "broker/replication/ack_waiters.h"
#include "broker/replication/fetch_waiter.h"
#include "broker/replication/follower_progress.h"
#include "broker/replication/log_start_waiters.h"
#include "broker/replication/replica_context.h"
#include "broker/txn/producer_state.h"
#include "protocol/kafka/batch/record_batch_header.h"
#include "protocol/kafka/error_codes.h"
#include "protocol/metadata/image.h"
#include "storage/log/partition_log.h"

namespace sluice::broker {

// The replica's part of the metadata image.
struct PartitionAssignment {
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  int32_t partition_epoch = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;

  static PartitionAssignment From(const metadata::PartitionInfo& info);
};

struct ProduceOutcome {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  std::string message;
  int64_t base_offset = -1;
  int64_t log_append_time_ms = -1;
  int64_t log_start_offset = -1;
  double replication_wait_seconds = 0;  // acks=all: from the local append to the ISR covering it
};
using ProduceDone = std::function<void(ProduceOutcome)>;
// KIP-890 part 1: asks the producer's transaction coordinator whether this partition is in its
// ongoing transaction; the answer (any thread) is kNone or the coordinator's error.
using TxnVerify = std::function<void(std::function<void(kafka::ErrorCode)> answer)>;

struct DeleteRecordsOutcome {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  int64_t low_watermark = -1;
};
using DeleteRecordsDone = std::function<void(DeleteRecordsOutcome)>;
// DeleteRecords' offset -1: up to the high watermark.
inline constexpr int64_t kDeleteToHighWatermark = -1;

// One partition of a Fetch, from a consumer (replica_id -1) or a follower.
struct PartitionRead {
  int64_t fetch_offset = 0;
  int32_t current_leader_epoch = -1;
  int32_t last_fetched_epoch = -1;
  int64_t max_bytes = 0;
  bool min_one_batch = false;  // KIP-74: the first partition with data returns a whole batch
  int32_t replica_id = -1;
  int64_t log_start_offset = -1;  // a follower's own, as its fetch reports it
  // A parked fetch reads again when woken; the follower's position counts once per request.
  bool update_follower_state = true;
  bool read_committed = false;  // isolation_level 1: up to the last stable offset
};

struct PartitionReadResult {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  int64_t high_watermark = -1;
  int64_t last_stable_offset = -1;
  // read_committed: the aborted transactions overlapping the returned offsets.
  std::vector<AbortedTxn> aborted_transactions;
  int64_t log_start_offset = -1;
  std::optional<storage::EpochEndOffset> diverging_epoch;  // the follower must truncate first
  storage::ReadResult data;
};

// What a follower's fetch brought for this partition.
struct FollowerFetchResult {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  std::optional<storage::EpochEndOffset> diverging_epoch;
  std::string_view records;  // whole batches as the leader sent them; valid during the call
};

class Partition : public std::enable_shared_from_this<Partition> {
 public:
  Partition(metadata::TopicId topic_id, std::string topic, int32_t index, size_t shard,
            std::unique_ptr<storage::PartitionLog> log, ProducerStateTable producers, ReplicaContext& context);
  ~Partition();

  // --- any thread ---
  const metadata::TopicId& topic_id() const { return topic_id_; }
  const std::string& topic() const { return topic_; }
  int32_t index() const { return index_; }
  size_t shard() const { return shard_; }
  asio::io_context& owner() const { return owner_; }
  storage::PartitionLog& log() const { return *log_; }
  int64_t high_watermark() const { return high_watermark_mirror_.load(std::memory_order_acquire); }
  // min(high watermark, first offset of the earliest transaction not yet committed with its
  // marker): what read_committed consumers may read.
  int64_t last_stable_offset() const { return last_stable_offset_mirror_.load(std::memory_order_acquire); }
  // Whether the owner acts as leader, and for which epoch.
  bool leading() const { return leading_mirror_.load(std::memory_order_acquire); }
  int32_t leader_epoch() const { return leader_epoch_mirror_.load(std::memory_order_acquire); }
  // Where the current leader epoch began in the log (leader only).
  int64_t leader_epoch_start_offset() const { return epoch_start_mirror_.load(std::memory_order_acquire); }
  // Topic configs the connection shards validate produce requests against.
  int32_t max_message_bytes() const { return max_message_bytes_.load(std::memory_order_relaxed); }
  void set_max_message_bytes(int32_t bytes) { max_message_bytes_.store(bytes, std::memory_order_relaxed); }
  bool compacted() const { return compacted_.load(std::memory_order_relaxed); }
  void set_compacted(bool compacted) { compacted_.store(compacted, std::memory_order_relaxed); }
  int32_t min_insync_replicas() const { return min_insync_replicas_.load(std::memory_order_relaxed); }
  void set_min_insync_replicas(int32_t count) { min_insync_replicas_.store(count, std::memory_order_relaxed); }

  // --- owner ---
  // Takes the role the assignment gives; an assignment older than the current one (by
  // partition epoch) is ignored.
  void ApplyAssignment(const PartitionAssignment& assignment);
  // Leader: appends batches that passed validation on the connection's shard (`first` is the
  // first batch's header), stamping the leader epoch. acks=all answers once the high watermark
  // covers the batches, or on timeout or leadership loss. The bytes need only live during the
  // call, unless `verify` is set: a transactional batch of a producer with no ongoing
  // transaction here is appended only once `verify` answers kNone (else the produce fails with
  // the answer, mapped as Kafka maps it for producers), so the bytes must then live until
  // `done` runs. Transactional batches of a producer whose transaction here is ongoing, and
  // every batch when `verify` is null, append at once.
  void Produce(std::span<char> batches, const kafka::RecordBatchHeader& first, int16_t acks, int64_t timeout_ms,
               ProduceDone done, TxnVerify verify = nullptr);
  // Leader: writes the producer's transaction marker (WriteTxnMarkers) stamped with the leader
  // epoch and answers once the high watermark covers it (acks=all), or on timeout or
  // leadership loss. Refused with INVALID_PRODUCER_EPOCH for an epoch older than the
  // producer's, TRANSACTION_COORDINATOR_FENCED for a coordinator epoch older than its last
  // marker's, NOT_ENOUGH_REPLICAS below min.insync.replicas. A producer with no ongoing
  // transaction here still gets its marker, as in Kafka.
  void AppendTxnMarker(int64_t producer_id, int16_t producer_epoch, bool commit, int32_t coordinator_epoch,
                       int64_t timeout_ms, ProduceDone done);
  // Leader: the producers this partition knows (DescribeProducers); NOT_LEADER_OR_FOLLOWER
  // otherwise.
  kafka::ErrorCode DescribeProducers(std::vector<ProducerSummary>& out) const;
  // Leader: DeleteRecords. Raises the log start to `offset` (kDeleteToHighWatermark: the high
  // watermark) on the background pool, durably, then answers once the low watermark (the
  // lowest log start over this replica and its followers on live brokers) reaches it, or with
  // REQUEST_TIMED_OUT after `timeout_ms`. OFFSET_OUT_OF_RANGE past the high watermark,
  // POLICY_VIOLATION when cleanup.policy lacks delete (Kafka's rules).
  void DeleteRecords(int64_t offset, int64_t timeout_ms, DeleteRecordsDone done);
  // Reads for a consumer (up to the high watermark) or a follower (up to the log end, updating
  // its progress). With `waiter`, the fetch is parked here in the same step, so nothing
  // appended after the read can be missed.
  PartitionReadResult Read(const PartitionRead& read, const std::shared_ptr<FetchWaiter>& waiter);

  // Follower side, called by this shard's replica fetcher.
  struct FetchPosition {
    int64_t fetch_offset;
    int32_t last_fetched_epoch;
    int32_t leader_epoch;
    int64_t log_start_offset;
  };
  // Whether the fetcher should fetch for this replica now (a follower not busy truncating).
  bool ReadyToFetch() const;
  FetchPosition follower_position() const;
  // Applies the leader's answer to a fetch issued at `position`. Returns false when the
  // partition should be left out of fetches for a while (an error the metadata will resolve).
  bool OnFetchedFromLeader(const FetchPosition& position, const FollowerFetchResult& result);

  // The replica goes away (deleted, reassigned elsewhere or the broker stops).
  void Stop();

 private:
  enum class Role { kNone, kLeader, kFollower };

  // Moves to the role assignment_ gives, unless it already acts on it.
  void TakeRole();
  void BecomeLeader();
  void BecomeFollower();
  void BecomeLeaderless();
  void LeaveLeadership(kafka::ErrorCode why);
  void PublishRole();

  kafka::ErrorCode CheckLeaderEpoch(int32_t current_leader_epoch) const;
  bool IsInIsr(int32_t broker) const;
  // The ISR that must hold an offset before it counts as committed: committed plus proposed
  // members (KIP-497's maximal ISR).
  bool InMaximalIsr(int32_t broker) const;
  void OnLocalAppend();
  // acks=all: answers once the high watermark reaches `required_offset`, or on timeout.
  void WaitForCommit(int64_t required_offset, int64_t timeout_ms, ProduceOutcome outcome, ProduceDone done);
  void MaybeAdvanceHighWatermark();
  void SetHighWatermark(int64_t high_watermark);
  void ArmAckTimer();
  int64_t LowWatermark() const;
  void CompleteLogStartWaiters();
  void ArmLogStartTimer();
  void UpdateFollower(int32_t replica_id, int64_t fetch_offset);
  void MaybeExpandIsr(int32_t replica_id);
  void ScheduleIsrCheck();
  void MaybeShrinkIsr();
  void ProposeIsr(std::vector<int32_t> isr);
  void OnIsrResult(const PartitionAssignment& proposed_base, absl::StatusOr<metadata::AlterPartitionResponse> response);

  // Runs `work` on the background pool while the replica is paused, then `then` on the owner.
  void RunPaused(std::function<absl::Status()> work, std::function<void()> then);
  void StartTruncation(int64_t offset, bool fully);
  void RecordProducerBatches(std::string_view batches);
  // Every producer.id.expiration.check.interval.ms: forgets producers idle past
  // producer.id.expiration.ms, so that the table does not grow with every producer id a
  // partition ever saw (idempotent producers get a new one at each start).
  void ScheduleProducerExpiry();
  // The producer's batch that awaited verification is settled: runs the batches queued behind
  // it in order, until one of them awaits a verification of its own.
  void RunQueuedBehindVerification(int64_t producer_id, std::deque<std::function<void()>> queued);
  void UpdateLastStableOffset();

  const metadata::TopicId topic_id_;
  const std::string topic_;
  const int32_t index_;
  const size_t shard_;
  asio::io_context& owner_;
  const std::unique_ptr<storage::PartitionLog> log_;
  ReplicaContext& context_;
  // This topic's traffic counters (null without a registry), bumped on the owner shard.
  metrics::Counter* messages_in_ = nullptr;
  metrics::Counter* bytes_in_ = nullptr;
  metrics::Counter* bytes_out_ = nullptr;
  metrics::Counter* isr_shrinks_ = nullptr;  // this broker's, as the leader
  metrics::Counter* isr_expands_ = nullptr;

  std::atomic<int64_t> high_watermark_mirror_{0};
  std::atomic<int64_t> last_stable_offset_mirror_{0};
  std::atomic<bool> leading_mirror_{false};
  std::atomic<int32_t> leader_epoch_mirror_{0};
  std::atomic<int64_t> epoch_start_mirror_{0};
  std::atomic<int32_t> max_message_bytes_{1048588};
  std::atomic<int32_t> min_insync_replicas_{1};
  std::atomic<bool> compacted_{false};

  // --- owner only ---
  Role role_ = Role::kNone;
  int32_t role_epoch_ = -1;   // the leader epoch role_ was taken for
  int32_t role_leader_ = -1;  // the leader a follower follows
  bool stopped_ = false;
  bool assigned_ = false;
  PartitionAssignment assignment_;
  int64_t high_watermark_ = 0;
  int64_t last_stable_offset_ = 0;
  ProducerStateTable producers_;
  bool paused_ = false;  // a background job owns the log's tail
  // Producers whose first transactional batch here awaits the coordinator's verification: their
  // later batches (a client has up to five in flight) wait behind it in order, since their
  // sequences follow it.
  std::map<int64_t, std::deque<std::function<void()>>> awaiting_verification_;
  FetchWaiters consumer_waiters_;  // woken when the high watermark (and so the LSO) moves
  FetchWaiters replica_waiters_;   // woken when the log end moves

  // Leader only.
  int64_t leader_epoch_start_offset_ = 0;
  std::map<int32_t, FollowerProgress> followers_;
  std::optional<std::vector<int32_t>> proposed_isr_;  // an AlterPartition in flight
  AckWaiters acks_;
  asio::steady_timer ack_timer_;
  std::optional<int64_t> ack_timer_deadline_;
  LogStartWaiters log_start_waiters_;  // DeleteRecords waiting for the followers
  asio::steady_timer log_start_timer_;
  std::optional<int64_t> log_start_timer_deadline_;
  asio::steady_timer isr_timer_;
  asio::steady_timer producer_expiry_timer_;  // producer.id.expiration.check.interval.ms, any role
};

}  // namespace sluice::broker
