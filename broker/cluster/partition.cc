// Partition replica: role changes and the follower side. The leader side (appends, reads,
// high watermark, ISR) is in partition_leader.cc.

#include "broker/cluster/partition.h"

#include <algorithm>

#include <asio/post.hpp>

#include "broker/replication/replica_fetchers.h"
#include "common/absl_compat.h"
#include "common/log.h"
#include "protocol/kafka/batch/validate.h"

namespace sluice::broker {

PartitionAssignment PartitionAssignment::From(const metadata::PartitionInfo& info) {
  return PartitionAssignment{.leader = info.leader,
                             .leader_epoch = info.leader_epoch,
                             .partition_epoch = info.partition_epoch,
                             .replicas = info.replicas,
                             .isr = info.isr};
}

Partition::Partition(metadata::TopicId topic_id, std::string topic, int32_t index, size_t shard,
                     std::unique_ptr<storage::PartitionLog> log, ProducerStateTable producers, ReplicaContext& context)
    : topic_id_(topic_id),
      topic_(std::move(topic)),
      index_(index),
      shard_(shard),
      owner_(context.shards.at(shard)),
      log_(std::move(log)),
      context_(context),
      producers_(std::move(producers)),
      ack_timer_(owner_),
      log_start_timer_(owner_),
      isr_timer_(owner_),
      producer_expiry_timer_(owner_) {
  if (context.metrics != nullptr) {
    const metrics::Labels labels = {{"topic", topic_}};
    messages_in_ = &context.metrics->GetCounter("kafka_server_brokertopicmetrics_messagesin_total", labels);
    bytes_in_ = &context.metrics->GetCounter("kafka_server_brokertopicmetrics_bytesin_total", labels);
    bytes_out_ = &context.metrics->GetCounter("kafka_server_brokertopicmetrics_bytesout_total", labels);
    isr_shrinks_ = &context.metrics->GetCounter("kafka_server_replicamanager_isrshrinks_total");
    isr_expands_ = &context.metrics->GetCounter("kafka_server_replicamanager_isrexpands_total");
    acks_.set_size_gauge(&context.metrics->GetGauge("kafka_server_delayedoperationpurgatory_purgatorysize",
                                                    {{"delayedOperation", "Produce"}}));
  }
  high_watermark_ = log_->initial_high_watermark();
  high_watermark_mirror_.store(high_watermark_, std::memory_order_release);
  UpdateLastStableOffset();
}

Partition::~Partition() = default;

void Partition::PublishRole() {
  leading_mirror_.store(role_ == Role::kLeader && !paused_, std::memory_order_release);
  leader_epoch_mirror_.store(assignment_.leader_epoch, std::memory_order_release);
}

void Partition::ApplyAssignment(const PartitionAssignment& assignment) {
  if (stopped_) return;
  if (assigned_ && assignment.partition_epoch <= assignment_.partition_epoch &&
      assignment.leader_epoch <= assignment_.leader_epoch) {
    return;  // not newer than what this replica already acts on (e.g. an AlterPartition answer)
  }
  if (proposed_isr_ && assignment.partition_epoch != assignment_.partition_epoch) proposed_isr_.reset();
  const int32_t self = context_.broker_id;
  if (isr_shrinks_ != nullptr && assigned_ && assignment_.leader == self && assignment.leader == self &&
      assignment.leader_epoch == assignment_.leader_epoch) {
    // The same leadership with a committed ISR change, however it reached this replica.
    if (assignment.isr.size() < assignment_.isr.size()) isr_shrinks_->Add();
    if (assignment.isr.size() > assignment_.isr.size()) isr_expands_->Add();
  }
  assignment_ = assignment;
  if (!assigned_) ScheduleProducerExpiry();
  assigned_ = true;
  // While paused, the background job's completion takes the role.
  if (!paused_) TakeRole();
}

void Partition::ScheduleProducerExpiry() {
  producer_expiry_timer_.expires_after(
      std::chrono::milliseconds(std::max<int64_t>(1, context_.options.producer_id_expiration_check_interval_ms)));
  producer_expiry_timer_.async_wait([weak = weak_from_this()](const asio::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopped_) return;
    // A producer whose first batch awaits verification is about to write: keep it.
    const size_t expired = self->producers_.ExpireIdle(
        self->context_.clock.NowMs(), self->context_.options.producer_id_expiration_ms,
        [&](int64_t producer_id) { return self->awaiting_verification_.count(producer_id) > 0; });
    if (expired > 0) {
      log::Info("partition {}-{}: forgot {} producers idle past producer.id.expiration.ms", self->topic_,
                self->index_, expired);
    }
    self->ScheduleProducerExpiry();
  });
}

void Partition::TakeRole() {
  const int32_t self = context_.broker_id;
  if (assignment_.leader == self) {
    if (role_ != Role::kLeader || role_epoch_ != assignment_.leader_epoch) {
      BecomeLeader();
    } else {
      // Same leadership, new ISR or replica set (a reassignment adds or removes followers).
      const bool had_followers = !followers_.empty();
      for (int32_t replica : assignment_.replicas) {
        if (replica != self && !followers_.count(replica)) followers_[replica] = FollowerProgress();
      }
      std::erase_if(followers_, [&](const auto& f) {
        return std::find(assignment_.replicas.begin(), assignment_.replicas.end(), f.first) == assignment_.replicas.end();
      });
      if (!had_followers) ScheduleIsrCheck();  // e.g. a single replica that got followers
      MaybeAdvanceHighWatermark();
      CompleteLogStartWaiters();  // a follower that left no longer holds DeleteRecords up
    }
  } else if (assignment_.leader >= 0) {
    if (role_ != Role::kFollower || role_epoch_ != assignment_.leader_epoch || role_leader_ != assignment_.leader) {
      BecomeFollower();
    }
  } else if (role_ != Role::kNone) {
    BecomeLeaderless();
  }
  role_epoch_ = assignment_.leader_epoch;
  role_leader_ = assignment_.leader;
  PublishRole();
}

void Partition::LeaveLeadership(kafka::ErrorCode why) {
  acks_.FailAll(why);
  ack_timer_.cancel();
  ack_timer_deadline_.reset();
  log_start_waiters_.FailAll(why);
  log_start_timer_.cancel();
  log_start_timer_deadline_.reset();
  isr_timer_.cancel();
  followers_.clear();
  proposed_isr_.reset();
  // Parked fetches answer at once, with the error that sends clients to the new leader.
  consumer_waiters_.WakeAll();
  replica_waiters_.WakeAll();
}

void Partition::BecomeLeader() {
  // Re-elected for a new epoch: appends waiting for acks stay (the log is the same), but the
  // followers' progress starts over.
  followers_.clear();
  proposed_isr_.reset();
  context_.fetchers[shard_]->Remove(*this);
  role_ = Role::kLeader;
  leader_epoch_start_offset_ = log_->log_end_offset();
  epoch_start_mirror_.store(leader_epoch_start_offset_, std::memory_order_release);
  // Followers that fetch with an older epoch learn where it ended, even before this leader
  // appends anything (KIP-101).
  log_->AssignLeaderEpoch(assignment_.leader_epoch, leader_epoch_start_offset_);
  const int64_t now = context_.clock.MonotonicMs();
  for (int32_t replica : assignment_.replicas) {
    if (replica == context_.broker_id) continue;
    FollowerProgress progress;
    // In-sync followers get one full lag period to show up before they are dropped.
    if (IsInIsr(replica)) progress.ResetCaughtUp(now);
    followers_[replica] = progress;
  }
  log::Info("partition {}-{}: leader for epoch {} (log end {}, high watermark {}, ISR {})", topic_, index_,
            assignment_.leader_epoch, leader_epoch_start_offset_, high_watermark_, fmt::join(assignment_.isr, ","));
  MaybeAdvanceHighWatermark();
  ScheduleIsrCheck();
}

void Partition::BecomeFollower() {
  if (role_ == Role::kLeader) LeaveLeadership(kafka::ErrorCode::kNotLeaderOrFollower);
  role_ = Role::kFollower;
  log::Info("partition {}-{}: follower of broker {} for epoch {} (log end {})", topic_, index_, assignment_.leader,
            assignment_.leader_epoch, log_->log_end_offset());
  context_.fetchers[shard_]->Follow(shared_from_this(), assignment_.leader);
}

void Partition::BecomeLeaderless() {
  if (role_ == Role::kLeader) LeaveLeadership(kafka::ErrorCode::kNotLeaderOrFollower);
  context_.fetchers[shard_]->Remove(*this);
  role_ = Role::kNone;
  log::Info("partition {}-{}: no leader for epoch {}", topic_, index_, assignment_.leader_epoch);
}

void Partition::Stop() {
  if (stopped_) return;
  if (role_ == Role::kLeader) LeaveLeadership(kafka::ErrorCode::kNotLeaderOrFollower);
  context_.fetchers[shard_]->Remove(*this);
  consumer_waiters_.WakeAll();
  replica_waiters_.WakeAll();
  role_ = Role::kNone;
  stopped_ = true;
  producer_expiry_timer_.cancel();
  PublishRole();
}

void Partition::RunPaused(std::function<absl::Status()> work, std::function<void()> then) {
  paused_ = true;
  PublishRole();
  asio::post(context_.background, [self = shared_from_this(), work = std::move(work), then = std::move(then)]() mutable {
    absl::Status status = work();
    asio::post(self->owner_, [self, status = std::move(status), then = std::move(then)] {
      if (!status.ok()) log::Error("partition {}-{}: {}", self->topic_, self->index_, status);
      self->paused_ = false;
      if (self->stopped_) return;
      then();
      self->TakeRole();  // role changes that arrived meanwhile take effect now
      self->context_.fetchers[self->shard_]->Poke();
    });
  });
}

void Partition::RecordProducerBatches(std::string_view batches) {
  // The same state the leader keeps, from the same batches (LoadProducerState's rule).
  for (size_t position = 0; position < batches.size();) {
    auto header = kafka::ParseBatchHeader(batches.substr(position));
    if (!header.ok()) return;
    const auto size = static_cast<size_t>(header->total_size());
    absl::Status applied =
        ApplyLoggedBatch(producers_, *header, header->is_control() ? batches.substr(position, size) : std::string_view());
    if (!applied.ok()) {
      log::Warn("partition {}-{}: transaction marker at {} unreadable: {}", topic_, index_, header->base_offset, applied);
    }
    position += size;
  }
}

void Partition::UpdateLastStableOffset() {
  const std::optional<int64_t> unstable = producers_.FirstUnstableOffset(high_watermark_);
  // Retention (bounded by the high watermark) may have cut into an open transaction: as in
  // Kafka, the LSO never lies below the log start.
  last_stable_offset_ =
      unstable ? std::min(std::max(*unstable, log_->log_start_offset()), high_watermark_) : high_watermark_;
  last_stable_offset_mirror_.store(last_stable_offset_, std::memory_order_release);
}

bool Partition::ReadyToFetch() const { return role_ == Role::kFollower && !paused_ && !stopped_; }

Partition::FetchPosition Partition::follower_position() const {
  return FetchPosition{.fetch_offset = log_->log_end_offset(),
                       .last_fetched_epoch = log_->latest_epoch(),
                       .leader_epoch = assignment_.leader_epoch,
                       .log_start_offset = log_->log_start_offset()};
}

void Partition::StartTruncation(int64_t offset, bool fully) {
  log::Info("partition {}-{}: truncating {} {} to follow broker {} (epoch {})", topic_, index_,
            fully ? "fully, restarting at" : "to", offset, assignment_.leader, assignment_.leader_epoch);
  auto rebuilt = std::make_shared<ProducerStateTable>();
  storage::PartitionLog* log = log_.get();
  RunPaused(
      [log, offset, fully, rebuilt]() -> absl::Status {
        absl::Status status = fully ? log->TruncateFullyAndStartAt(offset) : log->TruncateTo(offset);
        if (!status.ok()) return status;
        // Producer state follows the log: batches that were cut must not count as written.
        auto table = LoadProducerState(*log);
        if (!table.ok()) return table.status();
        *rebuilt = std::move(*table);
        return absl::OkStatus();
      },
      [this, rebuilt] {
        producers_ = std::move(*rebuilt);
        if (high_watermark_ > log_->log_end_offset()) SetHighWatermark(log_->log_end_offset());
        UpdateLastStableOffset();
      });
}

bool Partition::OnFetchedFromLeader(const FetchPosition& position, const FollowerFetchResult& result) {
  // A fetch issued before a role change or a truncation is stale.
  if (!ReadyToFetch() || position.leader_epoch != assignment_.leader_epoch ||
      position.fetch_offset != log_->log_end_offset()) {
    return true;
  }
  switch (result.error) {
    case kafka::ErrorCode::kNone:
      break;
    case kafka::ErrorCode::kOffsetOutOfRange:
      if (result.log_start_offset > position.fetch_offset) {
        StartTruncation(result.log_start_offset, /*fully=*/true);
      } else if (result.high_watermark >= 0 && result.high_watermark < position.fetch_offset) {
        // Ahead of the leader (an unclean election): everything below its high watermark is shared.
        StartTruncation(result.high_watermark, /*fully=*/false);
      } else {
        return false;
      }
      return true;
    default:
      // NOT_LEADER_OR_FOLLOWER, FENCED/UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_ID: the metadata
      // this broker or the leader has is behind; it will catch up.
      return false;
  }
  if (result.diverging_epoch) {
    // Kafka's truncation rule. The leader ends `epoch` at `end_offset`: cut there, or where our
    // own log of that epoch ends if earlier. When our log knows that epoch only as a different
    // one, cut at its end and let the next fetch narrow it down.
    const storage::EpochEndOffset& theirs = *result.diverging_epoch;
    const int64_t log_end = log_->log_end_offset();
    int64_t target = high_watermark_;
    if (theirs.end_offset >= 0 && theirs.epoch < 0) {
      target = theirs.end_offset;
    } else if (theirs.end_offset >= 0) {
      const storage::EpochEndOffset ours = log_->EndOffsetForEpoch(theirs.epoch);
      if (ours.end_offset >= 0) target = ours.epoch == theirs.epoch ? std::min(theirs.end_offset, ours.end_offset) : ours.end_offset;
    }
    StartTruncation(std::min(target, log_end), /*fully=*/false);
    return true;
  }
  if (!result.records.empty()) {
    // The leader validated these; a damaged transfer must still never reach the log.
    const std::string_view bytes = result.records;
    auto headers = kafka::ValidateBatches(bytes, INT32_MAX);
    if (!headers.ok()) {
      log::Warn("partition {}-{}: dropping a fetched response from broker {}: {}", topic_, index_, assignment_.leader,
                headers.status());
      return false;
    }
    const int64_t first_offset = headers->front().base_offset;
    if (first_offset < position.fetch_offset && position.fetch_offset == position.log_start_offset) {
      // An empty log that restarted at a leader's log start inside a batch (DeleteRecords):
      // the leader sends that batch whole, so the log restarts at its base offset instead.
      StartTruncation(first_offset, /*fully=*/true);
      return true;
    }
    auto appended = log_->AppendAsFollower(bytes);
    if (!appended.ok()) {
      log::Error("partition {}-{}: follower append at {} failed: {}", topic_, index_, position.fetch_offset,
                 appended.status());
      return false;
    }
    RecordProducerBatches(bytes);
  }
  if (result.high_watermark >= 0) SetHighWatermark(std::min(result.high_watermark, log_->log_end_offset()));
  if (result.log_start_offset > log_->log_start_offset() && result.log_start_offset <= log_->log_end_offset()) {
    const int64_t start = result.log_start_offset;
    storage::PartitionLog* log = log_.get();
    RunPaused([log, start] { return log->AdvanceLogStartOffset(start); }, [] {});
  }
  return true;
}

}  // namespace sluice::broker
