#include "broker/replication/log_start_waiters.h"

#include <algorithm>
#include <utility>

namespace sluice::broker {

void LogStartWaiters::Add(int64_t required_offset, int64_t deadline_ms, int64_t low_watermark, Done done) {
  waiters_.push_back({required_offset, deadline_ms, low_watermark, std::move(done)});
}

void LogStartWaiters::Complete(int64_t low_watermark) {
  // Callbacks run after the waiters are taken out: one may add another.
  std::vector<Waiter> reached;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->required_offset <= low_watermark) {
      reached.push_back(std::move(*it));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& w : reached) w.done(kafka::ErrorCode::kNone, low_watermark);
}

void LogStartWaiters::Expire(int64_t now_ms) {
  std::vector<Waiter> expired;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->deadline_ms <= now_ms) {
      expired.push_back(std::move(*it));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& w : expired) w.done(kafka::ErrorCode::kRequestTimedOut, w.low_watermark);
}

void LogStartWaiters::FailAll(kafka::ErrorCode error) {
  std::vector<Waiter> failing;
  failing.swap(waiters_);
  for (auto& w : failing) w.done(error, -1);
}

std::optional<int64_t> LogStartWaiters::EarliestDeadline() const {
  if (waiters_.empty()) return std::nullopt;
  int64_t earliest = waiters_.front().deadline_ms;
  for (const auto& w : waiters_) earliest = std::min(earliest, w.deadline_ms);
  return earliest;
}

}  // namespace sluice::broker
