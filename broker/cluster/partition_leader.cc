// Partition replica, leader side: appends with acks, reads for consumers and followers, the
// followers' progress, the high watermark and ISR changes (AlterPartition).

#include <algorithm>
#include <chrono>

#include <asio/post.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "broker/cluster/partition.h"
#include "common/absl_compat.h"
#include "common/log.h"
#include "protocol/kafka/batch/control_record.h"

namespace sluice::broker {

using kafka::ErrorCode;

kafka::ErrorCode Partition::CheckLeaderEpoch(int32_t current_leader_epoch) const {
  if (current_leader_epoch < 0) return ErrorCode::kNone;
  if (current_leader_epoch < assignment_.leader_epoch) return ErrorCode::kFencedLeaderEpoch;
  if (current_leader_epoch > assignment_.leader_epoch) return ErrorCode::kUnknownLeaderEpoch;
  return ErrorCode::kNone;
}

bool Partition::IsInIsr(int32_t broker) const {
  return std::find(assignment_.isr.begin(), assignment_.isr.end(), broker) != assignment_.isr.end();
}

bool Partition::InMaximalIsr(int32_t broker) const {
  return IsInIsr(broker) ||
         (proposed_isr_ && std::find(proposed_isr_->begin(), proposed_isr_->end(), broker) != proposed_isr_->end());
}

namespace {

// What Kafka (3.6+) answers a producer whose write failed verification: errors older clients
// would not retry become NOT_ENOUGH_REPLICAS, which they retry without refreshing metadata.
ErrorCode ProduceErrorForVerification(ErrorCode error) {
  switch (error) {
    case ErrorCode::kConcurrentTransactions:
    case ErrorCode::kNetworkException:
    case ErrorCode::kCoordinatorLoadInProgress:
    case ErrorCode::kCoordinatorNotAvailable:
    case ErrorCode::kNotCoordinator:
      return ErrorCode::kNotEnoughReplicas;
    case ErrorCode::kProducerFenced:
      return ErrorCode::kInvalidProducerEpoch;
    default:
      return error;
  }
}

}  // namespace

void Partition::Produce(std::span<char> batches, const kafka::RecordBatchHeader& first, int16_t acks,
                        int64_t timeout_ms, ProduceDone done, TxnVerify verify) {
  auto refuse = [&](ErrorCode error, std::string message = {}) {
    done(ProduceOutcome{.error = error, .message = std::move(message)});
  };
  if (role_ != Role::kLeader || paused_ || stopped_) return refuse(ErrorCode::kNotLeaderOrFollower);
  const int32_t min_isr = min_insync_replicas();
  if (acks == -1 && static_cast<int32_t>(assignment_.isr.size()) < min_isr) {
    return refuse(ErrorCode::kNotEnoughReplicas,
                  fmt::format("the ISR has {} replicas, min.insync.replicas is {}", assignment_.isr.size(), min_isr));
  }
  const bool idempotent = first.producer_id >= 0;
  if (first.is_transactional() && !idempotent) {
    return refuse(ErrorCode::kInvalidRecord, "a transactional batch needs a producer id");
  }
  const int32_t last_sequence = idempotent ? LastSequence(first.base_sequence, first.last_offset_delta) : -1;
  ProduceOutcome outcome;
  int64_t last_offset = -1;
  if (idempotent) {
    if (auto waiting = awaiting_verification_.find(first.producer_id); waiting != awaiting_verification_.end()) {
      waiting->second.push_back([this, batches, first, acks, timeout_ms, done = std::move(done), verify]() mutable {
        Produce(batches, first, acks, timeout_ms, std::move(done), std::move(verify));
      });
      return;
    }
    SequenceCheck check = producers_.Check(first.producer_id, first.producer_epoch, first.base_sequence, last_sequence);
    if (check.error != ErrorCode::kNone) {
      return refuse(check.error, fmt::format("producer {} epoch {} sequence {} rejected", first.producer_id,
                                             first.producer_epoch, first.base_sequence));
    }
    const bool in_txn = producers_.OngoingTxnStart(first.producer_id) >= 0;
    if (!first.is_transactional() && in_txn) {
      return refuse(ErrorCode::kInvalidTxnState,
                    fmt::format("producer {} has an ongoing transaction in this partition", first.producer_id));
    }
    if (first.is_transactional() && !in_txn && check.duplicate_of == nullptr && verify) {
      // The first write of a transaction here: append only once the coordinator vouches for it.
      awaiting_verification_[first.producer_id];
      verify([weak = weak_from_this(), &owner = owner_, batches, first, acks, timeout_ms, done = std::move(done),
              marker_before = producers_.LastMarkerOffset(first.producer_id)](ErrorCode error) mutable {
        asio::post(owner, [weak, batches, first, acks, timeout_ms, done = std::move(done), error,
                           marker_before]() mutable {
          auto self = weak.lock();
          if (!self) return done(ProduceOutcome{.error = ErrorCode::kNotLeaderOrFollower});
          if (error == ErrorCode::kNone && self->producers_.LastMarkerOffset(first.producer_id) != marker_before) {
            // The transaction the coordinator vouched for ended meanwhile: a late write.
            error = ErrorCode::kInvalidTxnState;
          }
          std::deque<std::function<void()>> queued;
          if (auto waiting = self->awaiting_verification_.find(first.producer_id);
              waiting != self->awaiting_verification_.end()) {
            queued = std::move(waiting->second);
            self->awaiting_verification_.erase(waiting);
          }
          if (error != ErrorCode::kNone) {
            done(ProduceOutcome{.error = ProduceErrorForVerification(error),
                                .message = fmt::format("transaction verification failed: {}", kafka::ErrorName(error))});
          } else {
            self->Produce(batches, first, acks, timeout_ms, std::move(done));
          }
          self->RunQueuedBehindVerification(first.producer_id, std::move(queued));
        });
      });
      return;
    }
    if (check.duplicate_of != nullptr) {
      // A retry of a batch already in the log: answered with its offsets once it is committed.
      outcome.base_offset = check.duplicate_of->base_offset;
      outcome.log_append_time_ms = check.duplicate_of->log_append_time_ms;
      last_offset = check.duplicate_of->base_offset + first.last_offset_delta;
    }
  }
  if (last_offset < 0) {
    auto appended = log_->Append(batches, assignment_.leader_epoch);
    if (!appended.ok()) {
      return refuse(ErrorCode::kKafkaStorageError, std::string(ToStd(appended.status().message())));
    }
    outcome.base_offset = appended->base_offset;
    outcome.log_append_time_ms = appended->log_append_time_ms;
    last_offset = appended->last_offset;
    if (bytes_in_ != nullptr) {
      bytes_in_->Add(batches.size());
      messages_in_->Add(static_cast<uint64_t>(appended->last_offset - appended->base_offset + 1));
    }
    if (idempotent) {
      kafka::RecordBatchHeader stored = first;  // an idempotent produce carries exactly one batch
      stored.base_offset = appended->base_offset;
      producers_.Apply(stored, appended->log_append_time_ms, nullptr);
    }
    OnLocalAppend();
  }
  outcome.log_start_offset = log_->log_start_offset();
  if (acks != -1) return done(std::move(outcome));
  WaitForCommit(last_offset + 1, timeout_ms, std::move(outcome), std::move(done));
}

void Partition::RunQueuedBehindVerification(int64_t producer_id, std::deque<std::function<void()>> queued) {
  while (!queued.empty()) {
    if (auto waiting = awaiting_verification_.find(producer_id); waiting != awaiting_verification_.end()) {
      // A queued batch started a verification of its own: the rest wait behind it.
      for (auto& produce : queued) waiting->second.push_back(std::move(produce));
      return;
    }
    auto produce = std::move(queued.front());
    queued.pop_front();
    produce();
  }
}

void Partition::AppendTxnMarker(int64_t producer_id, int16_t producer_epoch, bool commit, int32_t coordinator_epoch,
                                int64_t timeout_ms, ProduceDone done) {
  auto refuse = [&](ErrorCode error, std::string message = {}) {
    done(ProduceOutcome{.error = error, .message = std::move(message)});
  };
  if (role_ != Role::kLeader || paused_ || stopped_) return refuse(ErrorCode::kNotLeaderOrFollower);
  const int32_t min_isr = min_insync_replicas();
  if (static_cast<int32_t>(assignment_.isr.size()) < min_isr) {
    return refuse(ErrorCode::kNotEnoughReplicas,
                  fmt::format("the ISR has {} replicas, min.insync.replicas is {}", assignment_.isr.size(), min_isr));
  }
  if (ErrorCode error = producers_.CheckMarker(producer_id, producer_epoch, coordinator_epoch); error != ErrorCode::kNone) {
    return refuse(error, fmt::format("marker for producer {} epoch {} (coordinator epoch {}) is stale", producer_id,
                                     producer_epoch, coordinator_epoch));
  }
  const kafka::TxnMarker marker{.type = commit ? kafka::ControlType::kCommit : kafka::ControlType::kAbort,
                                .coordinator_epoch = coordinator_epoch};
  auto batch = kafka::BuildTxnMarkerBatch(producer_id, producer_epoch, marker, context_.clock.NowMs());
  if (!batch.ok()) return refuse(ErrorCode::kUnknownServerError, std::string(ToStd(batch.status().message())));
  auto appended = log_->Append(std::span<char>(batch->data(), batch->size()), assignment_.leader_epoch);
  if (!appended.ok()) return refuse(ErrorCode::kKafkaStorageError, std::string(ToStd(appended.status().message())));
  auto header = kafka::ParseBatchHeader(*batch);  // as stored: base offset assigned
  if (!header.ok()) return refuse(ErrorCode::kUnknownServerError, std::string(ToStd(header.status().message())));
  producers_.Apply(*header, appended->log_append_time_ms, &marker);
  OnLocalAppend();
  ProduceOutcome outcome{.base_offset = appended->base_offset,
                         .log_append_time_ms = appended->log_append_time_ms,
                         .log_start_offset = log_->log_start_offset()};
  WaitForCommit(appended->last_offset + 1, timeout_ms, std::move(outcome), std::move(done));
}

kafka::ErrorCode Partition::DescribeProducers(std::vector<ProducerSummary>& out) const {
  if (role_ != Role::kLeader || paused_ || stopped_) return ErrorCode::kNotLeaderOrFollower;
  out = producers_.Summaries();
  return ErrorCode::kNone;
}

void Partition::WaitForCommit(int64_t required_offset, int64_t timeout_ms, ProduceOutcome outcome, ProduceDone done) {
  auto finish = [outcome = std::move(outcome), done = std::move(done),
                 waiting_since = std::chrono::steady_clock::now()](ErrorCode error) mutable {
    if (error != ErrorCode::kNone) outcome = ProduceOutcome{.error = error, .log_start_offset = outcome.log_start_offset};
    outcome.replication_wait_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - waiting_since).count();
    done(std::move(outcome));
  };
  if (high_watermark_ >= required_offset) {
    const bool enough = static_cast<int32_t>(assignment_.isr.size()) >= min_insync_replicas();
    return finish(enough ? ErrorCode::kNone : ErrorCode::kNotEnoughReplicasAfterAppend);
  }
  acks_.Add(required_offset, context_.clock.MonotonicMs() + std::max<int64_t>(timeout_ms, 0), std::move(finish));
  ArmAckTimer();
}

void Partition::ArmAckTimer() {
  const std::optional<int64_t> earliest = acks_.EarliestDeadline();
  if (!earliest || (ack_timer_deadline_ && *ack_timer_deadline_ <= *earliest)) return;
  ack_timer_deadline_ = *earliest;
  ack_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(0, *earliest - context_.clock.MonotonicMs())));
  ack_timer_.async_wait([weak = weak_from_this()](const asio::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->ack_timer_deadline_.reset();
    self->acks_.Expire(self->context_.clock.MonotonicMs());
    self->ArmAckTimer();
  });
}

void Partition::OnLocalAppend() {
  replica_waiters_.WakeAll();
  MaybeAdvanceHighWatermark();
}

void Partition::MaybeAdvanceHighWatermark() {
  if (role_ != Role::kLeader) return;
  const int64_t now = context_.clock.MonotonicMs();
  const int64_t lag = context_.options.replica_lag_time_max_ms;
  int64_t high_watermark = log_->log_end_offset();
  std::shared_ptr<const metadata::MetadataImage> image;
  for (const auto& [replica, progress] : followers_) {
    if (progress.log_end_offset() >= high_watermark) continue;
    bool counts = InMaximalIsr(replica);
    // Kafka also waits for a caught-up follower about to join the ISR, so that it can.
    if (!counts && progress.CaughtUp(now, lag) && progress.log_end_offset() >= leader_epoch_start_offset_) {
      if (!image) image = context_.metadata.Current();
      const metadata::BrokerInfo* broker = image->FindBroker(replica);
      counts = broker != nullptr && !broker->fenced;
    }
    if (counts) high_watermark = progress.log_end_offset();
  }
  if (high_watermark > high_watermark_) SetHighWatermark(high_watermark);
}

void Partition::SetHighWatermark(int64_t high_watermark) {
  high_watermark_ = high_watermark;
  high_watermark_mirror_.store(high_watermark, std::memory_order_release);
  UpdateLastStableOffset();  // before the waiters wake: read_committed fetches read up to it
  if (role_ == Role::kLeader) {
    acks_.Complete(high_watermark, static_cast<int32_t>(assignment_.isr.size()) >= min_insync_replicas());
  }
  consumer_waiters_.WakeAll();
}

PartitionReadResult Partition::Read(const PartitionRead& read, const std::shared_ptr<FetchWaiter>& waiter) {
  PartitionReadResult result;
  if (stopped_ || role_ != Role::kLeader || paused_) {
    result.error = ErrorCode::kNotLeaderOrFollower;
    return result;
  }
  if (ErrorCode error = CheckLeaderEpoch(read.current_leader_epoch); error != ErrorCode::kNone) {
    result.error = error;
    return result;
  }
  const bool from_follower = read.replica_id >= 0;
  if (from_follower && !followers_.count(read.replica_id)) {
    result.error = ErrorCode::kNotLeaderOrFollower;  // not a replica of this partition
    return result;
  }
  result.log_start_offset = log_->log_start_offset();
  result.high_watermark = high_watermark_;
  result.last_stable_offset = last_stable_offset_;
  if (from_follower && read.last_fetched_epoch >= 0) {
    // KIP-320 through Fetch (v12+): a follower whose last epoch ends earlier here must truncate.
    const storage::EpochEndOffset end = log_->EndOffsetForEpoch(read.last_fetched_epoch);
    if (end.end_offset < read.fetch_offset || end.epoch < read.last_fetched_epoch) {
      result.diverging_epoch = end;
      return result;
    }
  }
  const int64_t log_end = log_->log_end_offset();
  if (read.fetch_offset < result.log_start_offset || read.fetch_offset > log_end) {
    result.error = ErrorCode::kOffsetOutOfRange;
    return result;
  }
  if (from_follower && read.update_follower_state) {
    FollowerProgress& progress = followers_[read.replica_id];
    progress.OnFetch(read.fetch_offset, log_end, context_.clock.MonotonicMs());
    if (read.log_start_offset != progress.log_start_offset()) {
      progress.set_log_start_offset(read.log_start_offset);
      CompleteLogStartWaiters();
    }
    MaybeAdvanceHighWatermark();
    MaybeExpandIsr(read.replica_id);
    result.high_watermark = high_watermark_;
    result.last_stable_offset = last_stable_offset_;
  }
  // Consumers see only what the ISR holds (read_committed: only decided transactions);
  // followers read to the log end.
  const bool read_committed = read.read_committed && !from_follower;
  // Retention and DeleteRecords move the log start off the owner shard; the LSO follows it here.
  if (read_committed) {
    UpdateLastStableOffset();
    result.last_stable_offset = last_stable_offset_;
  }
  const int64_t max_offset = from_follower ? log_end : read_committed ? last_stable_offset_ : high_watermark_;
  auto data = log_->Read(read.fetch_offset, read.max_bytes, max_offset, read.min_one_batch);
  if (!data.ok()) {
    result.error = data.status().code() == absl::StatusCode::kOutOfRange ? ErrorCode::kOffsetOutOfRange
                                                                          : ErrorCode::kKafkaStorageError;
    return result;
  }
  result.data = std::move(*data);
  if (read_committed && result.data.bytes > 0) {
    producers_.RemoveAbortedBelow(result.log_start_offset);
    result.aborted_transactions = producers_.AbortedOverlapping(read.fetch_offset, result.data.next_offset);
  }
  if (bytes_out_ != nullptr && !from_follower) bytes_out_->Add(static_cast<uint64_t>(result.data.bytes));
  if (waiter) (from_follower ? replica_waiters_ : consumer_waiters_).Add(waiter);
  return result;
}

void Partition::MaybeExpandIsr(int32_t replica) {
  if (IsInIsr(replica) || proposed_isr_) return;
  const FollowerProgress& progress = followers_[replica];
  // Kafka's rule: the follower holds everything committed, and everything of this epoch.
  if (progress.log_end_offset() < high_watermark_ || progress.log_end_offset() < leader_epoch_start_offset_) return;
  const metadata::BrokerInfo* broker = context_.metadata.Current()->FindBroker(replica);
  if (broker == nullptr || broker->fenced) return;
  std::vector<int32_t> isr = assignment_.isr;
  isr.push_back(replica);
  log::Info("partition {}-{}: broker {} caught up at {}; proposing ISR {}", topic_, index_, replica,
            progress.log_end_offset(), fmt::join(isr, ","));
  ProposeIsr(std::move(isr));
}

void Partition::ScheduleIsrCheck() {
  if (followers_.empty()) return;
  isr_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(1, context_.options.replica_lag_time_max_ms / 2)));
  isr_timer_.async_wait([weak = weak_from_this()](const asio::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->role_ != Role::kLeader) return;
    self->MaybeShrinkIsr();
    self->ScheduleIsrCheck();
  });
}

void Partition::MaybeShrinkIsr() {
  if (proposed_isr_ || paused_) return;
  const int64_t now = context_.clock.MonotonicMs();
  std::vector<int32_t> isr;
  std::vector<int32_t> lagging;
  for (int32_t replica : assignment_.isr) {
    auto progress = followers_.find(replica);
    if (replica != context_.broker_id && progress != followers_.end() &&
        !progress->second.CaughtUp(now, context_.options.replica_lag_time_max_ms)) {
      lagging.push_back(replica);
    } else {
      isr.push_back(replica);
    }
  }
  if (lagging.empty()) return;
  log::Warn("partition {}-{}: replicas {} fell behind by more than replica.lag.time.max.ms; proposing ISR {}", topic_,
            index_, fmt::join(lagging, ","), fmt::join(isr, ","));
  ProposeIsr(std::move(isr));
}

void Partition::ProposeIsr(std::vector<int32_t> isr) {
  metadata::AlterPartitionRequest request;
  request.set_broker_id(context_.broker_id);
  request.set_broker_epoch(context_.broker_epoch());
  auto* change = request.add_changes();
  change->set_topic_id(metadata::FromTopicId(topic_id_));
  change->set_partition(index_);
  change->set_leader_epoch(assignment_.leader_epoch);
  change->set_partition_epoch(assignment_.partition_epoch);
  auto image = context_.metadata.Current();
  for (int32_t replica : isr) {
    change->add_new_isr(replica);
    const metadata::BrokerInfo* broker = image->FindBroker(replica);
    change->add_new_isr_broker_epochs(broker ? broker->epoch : -1);
  }
  proposed_isr_ = std::move(isr);
  const PartitionAssignment base = assignment_;
  context_.alter_partition(request, [weak = weak_from_this(), &owner = owner_, base](
                                        absl::StatusOr<metadata::AlterPartitionResponse> response) mutable {
    asio::post(owner, [weak, base = std::move(base), response = std::move(response)]() mutable {
      if (auto self = weak.lock()) self->OnIsrResult(base, std::move(response));
    });
  });
  MaybeAdvanceHighWatermark();  // a replica being added counts from now on
}

void Partition::OnIsrResult(const PartitionAssignment& base, absl::StatusOr<metadata::AlterPartitionResponse> response) {
  // Superseded: the metadata moved on (the change committed or was refused meanwhile).
  if (!proposed_isr_ || assignment_.partition_epoch != base.partition_epoch ||
      assignment_.leader_epoch != base.leader_epoch) {
    return;
  }
  proposed_isr_.reset();
  if (!response.ok()) {
    log::Warn("partition {}-{}: ISR change not confirmed: {}", topic_, index_, response.status());
    return;
  }
  for (const auto& result : response->results()) {
    if (result.partition() != index_ || metadata::ToTopicId(result.topic_id()) != topic_id_) continue;
    const auto error = static_cast<ErrorCode>(result.error_code());
    if (error != ErrorCode::kNone) {
      log::Warn("partition {}-{}: the controller refused the ISR change: {}", topic_, index_, kafka::ErrorName(error));
      return;
    }
    PartitionAssignment next = assignment_;
    next.leader = result.leader();
    next.leader_epoch = result.leader_epoch();
    next.partition_epoch = result.partition_epoch();
    next.isr.assign(result.isr().begin(), result.isr().end());
    ApplyAssignment(next);
  }
}

}  // namespace sluice::broker
