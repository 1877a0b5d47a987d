#include <catch2/catch.hpp>

#include <vector>

#include "broker/replication/log_start_waiters.h"

using sluice::broker::LogStartWaiters;
using sluice::kafka::ErrorCode;

namespace {
struct Answer {
  ErrorCode error;
  int64_t low_watermark;
  bool operator==(const Answer&) const = default;
};
}  // namespace

TEST_CASE("DeleteRecords waiters answer when the low watermark reaches them, or time out") {
  LogStartWaiters waiters;
  std::vector<Answer> answers;
  auto record = [&](ErrorCode error, int64_t low) { answers.push_back({error, low}); };
  waiters.Add(10, 1000, 3, record);
  waiters.Add(5, 2000, 3, record);
  CHECK(waiters.EarliestDeadline() == 1000);
  waiters.Complete(4);
  CHECK(answers.empty());
  waiters.Complete(7);
  CHECK(answers == std::vector<Answer>{{ErrorCode::kNone, 7}});
  waiters.Expire(999);
  CHECK(answers.size() == 1);
  waiters.Expire(1000);  // the low watermark of the moment the log start moved
  CHECK(answers.back() == Answer{ErrorCode::kRequestTimedOut, 3});
  CHECK(waiters.empty());
  CHECK_FALSE(waiters.EarliestDeadline());

  waiters.Add(8, 5000, 2, record);
  waiters.FailAll(ErrorCode::kNotLeaderOrFollower);
  CHECK(answers.back() == Answer{ErrorCode::kNotLeaderOrFollower, -1});
  CHECK(waiters.empty());
}
