// Partition replica, leader side of DeleteRecords (KIP-107): the log start moves on the
// background pool (it writes a checkpoint and may delete segments), and the request is answered
// once every live replica's log start has followed, as Kafka's delete-records purgatory does.

#include <algorithm>

#include <asio/post.hpp>

#include "broker/cluster/partition.h"
#include "common/absl_compat.h"
#include "common/log.h"

namespace sluice::broker {

using kafka::ErrorCode;

void Partition::DeleteRecords(int64_t offset, int64_t timeout_ms, DeleteRecordsDone done) {
  if (role_ != Role::kLeader || paused_ || stopped_) return done({.error = ErrorCode::kNotLeaderOrFollower});
  if (!log_->config().delete_policy) return done({.error = ErrorCode::kPolicyViolation});
  const int64_t target = offset == kDeleteToHighWatermark ? high_watermark_ : offset;
  if (target < 0 || target > high_watermark_) return done({.error = ErrorCode::kOffsetOutOfRange});
  const int64_t deadline = context_.clock.MonotonicMs() + std::max<int64_t>(timeout_ms, 0);
  const int32_t epoch = assignment_.leader_epoch;
  asio::post(context_.background, [self = shared_from_this(), target, deadline, epoch, done = std::move(done)]() mutable {
    absl::Status status = self->log_->AdvanceLogStartOffset(target);
    asio::post(self->owner_, [self, status = std::move(status), target, deadline, epoch, done = std::move(done)] {
      // Leadership may have moved meanwhile (a truncation may even have made `target` lie past
      // the log end), or the replica gone (its log closed): the client asks the new leader.
      if (self->stopped_ || self->role_ != Role::kLeader || self->assignment_.leader_epoch != epoch) {
        return done({.error = ErrorCode::kNotLeaderOrFollower});
      }
      if (!status.ok()) {
        log::Error("partition {}-{}: DeleteRecords to {} failed: {}", self->topic_, self->index_, target, status);
        return done({.error = ErrorCode::kKafkaStorageError});
      }
      const int64_t low_watermark = self->LowWatermark();
      if (low_watermark >= target) return done({.low_watermark = low_watermark});
      self->log_start_waiters_.Add(target, deadline, low_watermark,
                                   [done = std::move(done)](ErrorCode error, int64_t low) {
                                     done({.error = error, .low_watermark = low});
                                   });
      self->ArmLogStartTimer();
    });
  });
}

int64_t Partition::LowWatermark() const {
  int64_t low_watermark = log_->log_start_offset();
  std::shared_ptr<const metadata::MetadataImage> image;
  for (const auto& [replica, progress] : followers_) {
    if (progress.log_start_offset() >= low_watermark) continue;
    // Kafka counts the replicas on live brokers only, so a crashed one does not hold it up.
    if (!image) image = context_.metadata.Current();
    const metadata::BrokerInfo* broker = image->FindBroker(replica);
    if (broker != nullptr && !broker->fenced) low_watermark = progress.log_start_offset();
  }
  return low_watermark;
}

void Partition::CompleteLogStartWaiters() {
  if (role_ != Role::kLeader || log_start_waiters_.empty()) return;
  log_start_waiters_.Complete(LowWatermark());
}

void Partition::ArmLogStartTimer() {
  const std::optional<int64_t> earliest = log_start_waiters_.EarliestDeadline();
  if (!earliest || (log_start_timer_deadline_ && *log_start_timer_deadline_ <= *earliest)) return;
  log_start_timer_deadline_ = *earliest;
  log_start_timer_.expires_after(
      std::chrono::milliseconds(std::max<int64_t>(0, *earliest - context_.clock.MonotonicMs())));
  log_start_timer_.async_wait([weak = weak_from_this()](const asio::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->log_start_timer_deadline_.reset();
    self->log_start_waiters_.Expire(self->context_.clock.MonotonicMs());
    self->ArmLogStartTimer();
  });
}

}  // namespace sluice::broker
