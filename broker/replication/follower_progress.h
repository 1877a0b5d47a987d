#pragma once
// What a partition leader knows of one follower: how far its log reaches (from the offsets it
// fetches at) and when it was last caught up, which decides ISR membership (Kafka's rule: a
// follower is in sync while it caught up with the leader's log end within
// replica.lag.time.max.ms).

#include <cstdint>

namespace sluice::broker {

class FollowerProgress {
 public:
  // `now_ms` is monotonic. A fetch at the leader's log end is caught up now; one that reaches
  // the log end the leader had at the previous fetch was caught up then.
  void OnFetch(int64_t fetch_offset, int64_t leader_log_end, int64_t now_ms) {
    if (fetch_offset >= leader_log_end) {
      last_caught_up_ms_ = now_ms;
    } else if (fetch_offset >= last_fetch_leader_log_end_) {
      last_caught_up_ms_ = last_fetch_ms_;
    }
    log_end_offset_ = fetch_offset;
    last_fetch_leader_log_end_ = leader_log_end;
    last_fetch_ms_ = now_ms;
  }
  // A new leader treats its in-sync followers as caught up at the moment it took over.
  void ResetCaughtUp(int64_t now_ms) { last_caught_up_ms_ = now_ms; }

  bool CaughtUp(int64_t now_ms, int64_t lag_time_max_ms) const { return now_ms - last_caught_up_ms_ <= lag_time_max_ms; }
  int64_t log_end_offset() const { return log_end_offset_; }  // -1 until the first fetch
  // The follower's log start as its fetches report it (DeleteRecords waits for it); -1 until known.
  void set_log_start_offset(int64_t offset) { log_start_offset_ = offset; }
  int64_t log_start_offset() const { return log_start_offset_; }

 private:
  int64_t log_end_offset_ = -1;
  int64_t log_start_offset_ = -1;
  int64_t last_fetch_leader_log_end_ = -1;
  int64_t last_fetch_ms_ = 0;
  int64_t last_caught_up_ms_ = INT64_MIN / 2;
};

}  // namespace sluice::broker
