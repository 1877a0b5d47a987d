// A partition replica on a real log and a real shard: acks=all waits for the followers' fetch
// positions, the high watermark follows the ISR, ISR changes go to the controller, followers
// append what the leader sends and truncate where their history diverges.

#include <catch2/catch.hpp>

#include <future>

#include <asio/post.hpp>

#include "broker/cluster/partition.h"
#include "broker/replication/ack_waiters.h"
#include "broker/replication/follower_progress.h"
#include "broker/replication/replica_fetchers.h"
#include "broker/txn/producer_state.h"
#include "tests/unit/broker/replica_harness.h"
#include "tests/unit/storage_log/log_test_util.h"

namespace {

using namespace sluice;
using namespace sluice::broker;
using broker::testing::Harness;
using kafka::ErrorCode;
using storage::testing::MakeBatch;
using storage::testing::TempDir;
using broker::testing::kSelf;

}  // namespace

TEST_CASE("ack waiters complete in offset order, time out and fail") {
  AckWaiters waiters;
  std::vector<std::pair<int, ErrorCode>> done;
  for (int i = 1; i <= 3; ++i) waiters.Add(i * 10, 1000 + i, [&, i](ErrorCode e) { done.emplace_back(i, e); });
  waiters.Complete(20, true);
  REQUIRE(done.size() == 2);
  CHECK(done[1] == std::make_pair(2, ErrorCode::kNone));
  CHECK(waiters.EarliestDeadline() == 1003);
  waiters.Expire(1003);
  CHECK(done.back() == std::make_pair(3, ErrorCode::kRequestTimedOut));
  waiters.Add(40, 5000, [&](ErrorCode e) { done.emplace_back(4, e); });
  waiters.Complete(40, false);
  CHECK(done.back() == std::make_pair(4, ErrorCode::kNotEnoughReplicasAfterAppend));
  waiters.Add(50, 5000, [&](ErrorCode e) { done.emplace_back(5, e); });
  waiters.FailAll(ErrorCode::kNotLeaderOrFollower);
  CHECK(done.back() == std::make_pair(5, ErrorCode::kNotLeaderOrFollower));
  CHECK(waiters.empty());
}

TEST_CASE("a follower is caught up when it fetches at the log end, or where it was at the previous fetch") {
  FollowerProgress progress;
  CHECK_FALSE(progress.CaughtUp(0, 100));
  progress.OnFetch(10, 10, 1000);
  CHECK(progress.CaughtUp(1100, 100));
  progress.OnFetch(10, 20, 1500);  // behind now, but it had all of the log end at 1000
  CHECK(progress.CaughtUp(1100, 100));
  CHECK_FALSE(progress.CaughtUp(1200, 100));
  progress.OnFetch(20, 30, 2000);  // reaches the log end of the previous fetch (1500)
  CHECK(progress.CaughtUp(1600, 100));
  CHECK(progress.log_end_offset() == 20);
}

TEST_CASE("the last sequence of a batch wraps past INT32_MAX") {
  CHECK(LastSequence(5, 4) == 9);
  CHECK(LastSequence(INT32_MAX, 0) == INT32_MAX);
  CHECK(LastSequence(INT32_MAX - 1, 3) == 1);
  CHECK(LastSequence(INT32_MAX, INT32_MAX) == INT32_MAX - 1);
}

TEST_CASE("acks=all completes when every ISR member fetched past the batch") {
  Harness h;
  h.Assign(kSelf, 1, 1, {1, 2, 3});
  auto one = h.Produce(3, 1);
  REQUIRE(one->has_value());
  CHECK((*one)->error == ErrorCode::kNone);
  CHECK(h.partition->high_watermark() == 0);  // the followers hold nothing yet

  auto all = h.Produce(2, -1);
  CHECK_FALSE(all->has_value());
  auto read = h.FollowerRead(2, 0);
  REQUIRE(read.error == ErrorCode::kNone);
  CHECK(read.data.bytes > 0);
  h.FollowerRead(2, 5);
  CHECK(h.partition->high_watermark() == 0);
  CHECK_FALSE(h.On([&] { return all->has_value(); }));
  h.FollowerRead(3, 5);
  CHECK(h.partition->high_watermark() == 5);
  REQUIRE(h.On([&] { return all->has_value(); }));
  CHECK((*all)->error == ErrorCode::kNone);
  CHECK((*all)->base_offset == 3);

  // Consumers see only what the high watermark covers.
  h.Produce(1, 1);
  auto consumer = h.On([&] {
    return h.partition->Read({.fetch_offset = 5, .max_bytes = 1 << 20, .min_one_batch = true}, nullptr);
  });
  CHECK(consumer.error == ErrorCode::kNone);
  CHECK(consumer.data.bytes == 0);
}

TEST_CASE("DeleteRecords raises the leader's log start and answers once the live followers follow") {
  Harness h;
  h.Assign(kSelf, 1, 1, {1, 2, 3});
  h.Produce(10, 1);
  h.FollowerRead(2, 10);
  h.FollowerRead(3, 10);
  REQUIRE(h.partition->high_watermark() == 10);

  auto refused = h.DeleteRecords(11);  // past the high watermark
  REQUIRE(h.On([&] { return refused->has_value(); }));
  CHECK((*refused)->error == ErrorCode::kOffsetOutOfRange);
  CHECK(h.partition->log().log_start_offset() == 0);

  auto deleted = h.DeleteRecords(4);
  h.WaitFor([&] { return h.partition->log().log_start_offset() == 4; }, "the leader's log start to reach 4");
  h.FollowerRead(2, 10, -1, 4);
  CHECK_FALSE(h.On([&] { return deleted->has_value(); }));  // broker 3 is still at 0
  h.FollowerRead(3, 10, -1, 4);
  h.WaitFor([&] { return deleted->has_value(); }, "the DeleteRecords answer");
  CHECK((*deleted)->error == ErrorCode::kNone);
  CHECK((*deleted)->low_watermark == 4);
  CHECK(h.FollowerRead(2, 3).error == ErrorCode::kOffsetOutOfRange);

  // -1: up to the high watermark; the followers do not follow within the timeout.
  auto timed_out = h.DeleteRecords(kDeleteToHighWatermark, 50);
  h.WaitFor([&] { return timed_out->has_value(); }, "the DeleteRecords timeout");
  CHECK((*timed_out)->error == ErrorCode::kRequestTimedOut);
  CHECK((*timed_out)->low_watermark == 4);
  CHECK(h.partition->log().log_start_offset() == 10);

  // Leadership moves while one waits.
  h.Produce(2, 1);
  h.FollowerRead(2, 12, -1, 10);
  h.FollowerRead(3, 12, -1, 10);
  auto moved = h.DeleteRecords(12);
  h.WaitFor([&] { return h.partition->log().log_start_offset() == 12; }, "the leader's log start to reach 12");
  h.Assign(2, 2, 2, {1, 2, 3});
  h.WaitFor([&] { return moved->has_value(); }, "the answer after the leadership moved");
  CHECK((*moved)->error == ErrorCode::kNotLeaderOrFollower);
  auto not_leader = h.DeleteRecords(12);
  REQUIRE(h.On([&] { return not_leader->has_value(); }));
  CHECK((*not_leader)->error == ErrorCode::kNotLeaderOrFollower);
}

TEST_CASE("DeleteRecords does not wait for a follower on a fenced broker") {
  Harness h;
  h.Assign(kSelf, 1, 1, {1, 2, 3});
  h.Produce(6, 1);
  h.FollowerRead(2, 6);
  h.FollowerRead(3, 6);
  auto image = std::make_shared<metadata::MetadataImage>(*h.metadata.Current());
  metadata::Record fenced;
  fenced.mutable_broker_fenced()->set_broker_id(3);
  fenced.mutable_broker_fenced()->set_broker_epoch(103);
  REQUIRE(image->Apply(fenced, 10).ok());
  h.metadata.Publish(image);

  auto deleted = h.DeleteRecords(5);
  h.WaitFor([&] { return h.partition->log().log_start_offset() == 5; }, "the leader's log start to reach 5");
  h.FollowerRead(2, 6, -1, 5);  // broker 3 never reports 5
  h.WaitFor([&] { return deleted->has_value(); }, "the DeleteRecords answer");
  CHECK((*deleted)->error == ErrorCode::kNone);
  CHECK((*deleted)->low_watermark == 5);
}

TEST_CASE("DeleteRecords is refused on a topic whose cleanup.policy lacks delete") {
  Harness h;
  storage::LogConfig compacted;
  compacted.compact = true;
  compacted.delete_policy = false;
  h.partition->log().UpdateConfig(compacted);
  h.Assign(kSelf, 1, 1, {1});
  h.Produce(3, 1);
  auto refused = h.DeleteRecords(1);
  REQUIRE(h.On([&] { return refused->has_value(); }));
  CHECK((*refused)->error == ErrorCode::kPolicyViolation);
  CHECK(h.partition->log().log_start_offset() == 0);
}

TEST_CASE("acks=all is refused below min.insync.replicas and times out without followers") {
  Harness h;
  h.partition->set_min_insync_replicas(2);
  h.Assign(kSelf, 1, 1, {1});
  auto refused = h.Produce(1, -1);
  REQUIRE(refused->has_value());
  CHECK((*refused)->error == ErrorCode::kNotEnoughReplicas);
  h.Assign(kSelf, 1, 2, {1, 2});
  auto timed_out = h.Produce(1, -1, /*timeout_ms=*/50);
  h.WaitFor([&] { return timed_out->has_value(); }, "the produce to time out");
  CHECK((*timed_out)->error == ErrorCode::kRequestTimedOut);
}

TEST_CASE("a caught-up follower outside the ISR is proposed for it, and the HW waits for it") {
  Harness h;
  h.Assign(kSelf, 1, 1, {1, 2});
  h.Produce(4, 1);
  h.FollowerRead(2, 4);
  CHECK(h.partition->high_watermark() == 4);
  CHECK(h.On([&] { return h.proposals.size(); }) == 0);
  h.Produce(1, 1);
  h.FollowerRead(3, 4);  // at the high watermark: eligible
  auto proposals = h.On([&] { return h.proposals; });
  REQUIRE(proposals.size() == 1);
  const auto& change = proposals[0].changes(0);
  CHECK(std::vector<int32_t>(change.new_isr().begin(), change.new_isr().end()) == std::vector<int32_t>{1, 2, 3});
  CHECK(change.new_isr_broker_epochs(2) == 103);
  CHECK(change.partition_epoch() == 1);
  // While the expansion is in flight, broker 3 counts for the high watermark.
  h.FollowerRead(2, 5);
  CHECK(h.partition->high_watermark() == 4);
  h.FollowerRead(3, 5);
  CHECK(h.partition->high_watermark() == 5);
}

TEST_CASE("a follower whose last epoch ends earlier on the leader is told where it diverged") {
  Harness h;
  h.Assign(kSelf, 3, 1, {1, 2, 3});
  h.Produce(4, 1);  // epoch 3 from offset 0
  h.Assign(kSelf, 5, 2, {1, 2, 3});
  h.Produce(2, 1);  // epoch 5 from offset 4
  auto diverged = h.FollowerRead(2, 6, /*last_epoch=*/4);
  REQUIRE(diverged.diverging_epoch.has_value());
  CHECK(diverged.diverging_epoch->epoch == 3);
  CHECK(diverged.diverging_epoch->end_offset == 4);
  auto fine = h.FollowerRead(2, 4, /*last_epoch=*/3);
  CHECK_FALSE(fine.diverging_epoch.has_value());
  CHECK(fine.error == ErrorCode::kNone);
  CHECK(h.FollowerRead(2, 99).error == ErrorCode::kOffsetOutOfRange);
  CHECK(h.FollowerRead(7, 0).error == ErrorCode::kNotLeaderOrFollower);
}

TEST_CASE("a follower appends the leader's batches, keeps producer state and truncates a divergent tail") {
  Harness h;
  h.Assign(/*leader=*/2, 1, 1, {1, 2});
  // What a leader in epoch 1 would send: batches with offsets and the epoch set.
  std::string batches;
  for (int i = 0; i < 2; ++i) {
    std::string batch = MakeBatch(3, 1000);
    kafka::SetBaseOffset(batch.data(), i * 3);
    batch[12] = batch[13] = batch[14] = 0;
    batch[15] = 1;  // partition leader epoch 1
    batches += batch;
  }
  auto position = h.On([&] { return h.partition->follower_position(); });
  CHECK(position.fetch_offset == 0);
  REQUIRE(h.On([&] {
    return h.partition->OnFetchedFromLeader(position, {.high_watermark = 3, .log_start_offset = 0, .records = batches});
  }));
  CHECK(h.partition->log().log_end_offset() == 6);
  CHECK(h.partition->high_watermark() == 3);
  position = h.On([&] { return h.partition->follower_position(); });
  CHECK(position.last_fetched_epoch == 1);

  // The new leader ended epoch 1 at offset 4: everything after goes.
  REQUIRE(h.On([&] {
    return h.partition->OnFetchedFromLeader(position, {.high_watermark = 3, .diverging_epoch = storage::EpochEndOffset{1, 4}});
  }));
  h.WaitFor([&] { return h.partition->ReadyToFetch(); }, "the truncation to finish");
  CHECK(h.partition->log().log_end_offset() == 3);  // rounded down to the batch boundary
  CHECK(h.partition->high_watermark() == 3);
}

TEST_CASE("an empty follower log restarted inside a leader's batch restarts at the batch's base offset") {
  Harness h;
  h.Assign(/*leader=*/2, 1, 1, {1, 2});
  REQUIRE(h.On([&] { return h.partition->log().TruncateFullyAndStartAt(5).ok(); }));
  auto position = h.On([&] { return h.partition->follower_position(); });
  REQUIRE(position.fetch_offset == 5);
  std::string batch = MakeBatch(4, 1000);  // offsets 3..6: the leader's log starts at 5 inside it
  kafka::SetBaseOffset(batch.data(), 3);
  REQUIRE(h.On([&] {
    return h.partition->OnFetchedFromLeader(position, {.high_watermark = 7, .log_start_offset = 5, .records = batch});
  }));
  h.WaitFor([&] { return h.partition->ReadyToFetch(); }, "the restart to finish");
  CHECK(h.partition->log().log_start_offset() == 3);
  CHECK(h.partition->log().log_end_offset() == 3);
  position = h.On([&] { return h.partition->follower_position(); });
  REQUIRE(h.On([&] {
    return h.partition->OnFetchedFromLeader(position, {.high_watermark = 7, .log_start_offset = 5, .records = batch});
  }));
  CHECK(h.partition->log().log_end_offset() == 7);
}

TEST_CASE("a follower that has not caught up for replica.lag.time.max.ms is proposed out of the ISR") {
  Harness h(/*lag_time_max_ms=*/200);
  h.Assign(kSelf, 1, 1, {1, 2, 3});
  h.Produce(2, 1);
  // Broker 2 keeps fetching at the log end; broker 3 never fetches.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (h.On([&] { return h.proposals.empty(); })) {
    INFO("waiting for the ISR shrink");
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    h.FollowerRead(2, 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto proposals = h.On([&] { return h.proposals; });
  const auto& change = proposals[0].changes(0);
  CHECK(std::vector<int32_t>(change.new_isr().begin(), change.new_isr().end()) == std::vector<int32_t>{1, 2});
  // Until the controller commits it, broker 3 still holds the high watermark back.
  CHECK(h.partition->high_watermark() == 0);
  h.Assign(kSelf, 1, 2, {1, 2});
  CHECK(h.partition->high_watermark() == 2);
}
