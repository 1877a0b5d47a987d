#include "broker/replication/ack_waiters.h"

#include <algorithm>
#include <vector>

namespace sluice::broker {

void AckWaiters::Add(int64_t required_offset, int64_t deadline_ms, Done done) {
  waiters_.push_back({required_offset, deadline_ms, std::move(done)});
  if (size_gauge_ != nullptr) size_gauge_->Add(1);
}

void AckWaiters::Complete(int64_t high_watermark, bool enough_replicas) {
  // Callbacks may add waiters (an offset commit that triggers another): take ours out first.
  std::vector<Done> done;
  while (!waiters_.empty() && waiters_.front().required_offset <= high_watermark) {
    done.push_back(std::move(waiters_.front().done));
    waiters_.pop_front();
  }
  Answered(done.size());
  const auto error = enough_replicas ? kafka::ErrorCode::kNone : kafka::ErrorCode::kNotEnoughReplicasAfterAppend;
  for (auto& d : done) d(error);
}

void AckWaiters::Expire(int64_t now_ms) {
  std::vector<Done> expired;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->deadline_ms <= now_ms) {
      expired.push_back(std::move(it->done));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  Answered(expired.size());
  for (auto& d : expired) d(kafka::ErrorCode::kRequestTimedOut);
}

void AckWaiters::FailAll(kafka::ErrorCode error) {
  std::deque<Waiter> failing;
  failing.swap(waiters_);
  Answered(failing.size());
  for (auto& w : failing) w.done(error);
}

std::optional<int64_t> AckWaiters::EarliestDeadline() const {
  if (waiters_.empty()) return std::nullopt;
  int64_t earliest = waiters_.front().deadline_ms;
  for (const auto& w : waiters_) earliest = std::min(earliest, w.deadline_ms);
  return earliest;
}

}  // namespace sluice::broker
