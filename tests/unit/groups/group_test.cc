#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <optional>

#include "broker/groups/group.h"

namespace {

using sluice::broker::groups::Group;
using sluice::broker::groups::GroupState;
using sluice::broker::groups::GroupTimeouts;
using sluice::broker::groups::JoinParams;
using sluice::broker::groups::JoinResult;
using sluice::broker::groups::SyncParams;
using sluice::broker::groups::SyncResult;
using sluice::kafka::ErrorCode;

constexpr int32_t kSession = 10000;
constexpr int32_t kRebalance = 30000;
constexpr int64_t kDelay = 3000;

// Holds the answer of a join or sync once the group gives it.
template <class Result>
struct Answer {
  std::shared_ptr<std::optional<Result>> value = std::make_shared<std::optional<Result>>();
  auto callback() {
    return [value = value](Result r) { *value = std::move(r); };
  }
  bool ready() const { return value->has_value(); }
  const Result& get() const {
    REQUIRE(value->has_value());
    return **value;
  }
};

struct Fixture {
  int persisted = 0;
  Group group{"g", GroupTimeouts{.initial_rebalance_delay_ms = kDelay}, [this](const Group&) {
                ++persisted;
                return absl::OkStatus();
              }};
  int64_t now = 1'000'000;

  JoinParams Params(std::string member_id, std::string metadata = "m", std::optional<std::string> instance = std::nullopt) {
    return JoinParams{.member_id = std::move(member_id),
                      .instance_id = std::move(instance),
                      .client_id = "client",
                      .client_host = "/127.0.0.1",
                      .session_timeout_ms = kSession,
                      .rebalance_timeout_ms = kRebalance,
                      .protocol_type = "consumer",
                      .protocols = {{"range", metadata}},
                      .require_known_member_id = true};
  }

  Answer<JoinResult> Join(JoinParams params) {
    Answer<JoinResult> answer;
    group.Join(std::move(params), now, answer.callback());
    return answer;
  }

  // First join of a dynamic member: MEMBER_ID_REQUIRED, then the join proper (left waiting).
  Answer<JoinResult> JoinNew(std::string metadata = "m") {
    auto first = Join(Params(""));
    REQUIRE(first.get().error == ErrorCode::kMemberIdRequired);
    REQUIRE(!first.get().member_id.empty());
    return Join(Params(first.get().member_id, std::move(metadata)));
  }

  Answer<SyncResult> Sync(const std::string& member, int32_t generation,
                          std::vector<std::pair<std::string, std::string>> assignments = {}) {
    Answer<SyncResult> answer;
    group.Sync(SyncParams{.member_id = member, .generation = generation, .assignments = std::move(assignments)}, now,
               answer.callback());
    return answer;
  }

  void Advance(int64_t ms) {
    now += ms;
    group.Tick(now);
  }

  // Two members joined in the same instant: the initial delay runs twice (it is extended once
  // because a member arrived during it).
  void Settle() {
    Advance(kDelay);
    Advance(kDelay);
  }
};

}  // namespace

TEST_CASE("a new group forms after the initial rebalance delay and syncs the leader's assignment") {
  Fixture f;
  auto a = f.JoinNew();
  CHECK(f.group.state() == GroupState::kPreparingRebalance);
  f.Advance(1000);
  auto b = f.JoinNew();
  f.Advance(kDelay - 1);
  CHECK_FALSE(a.ready());  // b joined during the delay: it was extended
  f.Advance(kDelay);
  REQUIRE(a.ready());
  REQUIRE(b.ready());
  CHECK(f.group.state() == GroupState::kCompletingRebalance);
  CHECK(a.get().generation == 1);
  CHECK(b.get().generation == 1);
  const std::string leader = a.get().leader;
  CHECK(b.get().leader == leader);
  const bool a_leads = leader == a.get().member_id;
  const auto& leader_answer = a_leads ? a.get() : b.get();
  const auto& follower_answer = a_leads ? b.get() : a.get();
  CHECK(leader_answer.members.size() == 2);
  CHECK(follower_answer.members.empty());
  CHECK(leader_answer.protocol_name == "range");

  auto follower_sync = f.Sync(follower_answer.member_id, 1);
  CHECK_FALSE(follower_sync.ready());
  auto leader_sync = f.Sync(leader, 1, {{leader, "L"}, {follower_answer.member_id, "F"}});
  REQUIRE(follower_sync.ready());
  CHECK(follower_sync.get().assignment == "F");
  CHECK(leader_sync.get().assignment == "L");
  CHECK(f.group.state() == GroupState::kStable);
  CHECK(f.persisted == 1);
}

TEST_CASE("heartbeats check member and generation; a leave triggers a rebalance") {
  Fixture f;
  auto a = f.JoinNew();
  auto b = f.JoinNew();
  f.Settle();
  const std::string leader = a.get().leader;
  const std::string other = leader == a.get().member_id ? b.get().member_id : a.get().member_id;
  f.Sync(leader, 1, {});
  f.Sync(other, 1);
  CHECK(f.group.Heartbeat(other, std::nullopt, 1, f.now) == ErrorCode::kNone);
  CHECK(f.group.Heartbeat(other, std::nullopt, 7, f.now) == ErrorCode::kIllegalGeneration);
  CHECK(f.group.Heartbeat("nobody", std::nullopt, 1, f.now) == ErrorCode::kUnknownMemberId);

  CHECK(f.group.Leave(leader, std::nullopt, f.now) == ErrorCode::kNone);
  CHECK(f.group.state() == GroupState::kPreparingRebalance);
  CHECK(f.group.Heartbeat(other, std::nullopt, 1, f.now) == ErrorCode::kRebalanceInProgress);
  CHECK(f.group.ValidateCommit(other, std::nullopt, 1, f.now) == ErrorCode::kNone);
  auto rejoin = f.Join(f.Params(other));
  REQUIRE(rejoin.ready());  // the only remaining member rejoined: no delay for a non-empty group
  CHECK(rejoin.get().generation == 2);
  CHECK(rejoin.get().leader == other);
  CHECK(f.group.ValidateCommit(other, std::nullopt, 2, f.now) == ErrorCode::kRebalanceInProgress);
  CHECK(f.group.Leave("nobody", std::nullopt, f.now) == ErrorCode::kUnknownMemberId);
}

TEST_CASE("a member whose session expires is removed and the rest rebalance") {
  Fixture f;
  auto a = f.JoinNew();
  auto b = f.JoinNew();
  f.Settle();
  const std::string leader = a.get().leader;
  const std::string other = leader == a.get().member_id ? b.get().member_id : a.get().member_id;
  f.Sync(leader, 1, {});
  f.Sync(other, 1);
  for (int i = 0; i < 3; ++i) {
    f.Advance(kSession / 3);
    CHECK(f.group.Heartbeat(leader, std::nullopt, 1, f.now) == ErrorCode::kNone);
  }
  CHECK(f.group.members().count(other) == 1);
  f.Advance(kSession / 3);
  CHECK(f.group.members().count(other) == 0);
  CHECK(f.group.state() == GroupState::kPreparingRebalance);
  auto rejoin = f.Join(f.Params(leader));
  REQUIRE(rejoin.ready());
  CHECK(rejoin.get().generation == 2);
  CHECK(rejoin.get().members.size() == 1);
}

TEST_CASE("a member that never rejoins is dropped at the rebalance timeout; an emptied group is persisted") {
  Fixture f;
  auto a = f.JoinNew();
  f.Advance(kDelay);
  f.Sync(a.get().member_id, 1, {});
  CHECK(f.group.Leave(a.get().member_id, std::nullopt, f.now) == ErrorCode::kNone);
  CHECK(f.group.state() == GroupState::kEmpty);
  CHECK(f.group.generation() == 2);
  CHECK(f.persisted == 2);
  // Group-less commits (generation -1) are allowed on an empty group only.
  CHECK(f.group.ValidateCommit("", std::nullopt, -1, f.now) == ErrorCode::kNone);
  CHECK(f.group.ValidateCommit("x", std::nullopt, 2, f.now) == ErrorCode::kUnknownMemberId);
}

TEST_CASE("a static member restarting with the same subscription keeps generation and assignment") {
  Fixture f;
  auto a = f.Join(f.Params("", "m", "instance-1"));  // static members skip MEMBER_ID_REQUIRED
  CHECK_FALSE(a.ready());
  f.Advance(kDelay);
  REQUIRE(a.ready());
  const std::string old_id = a.get().member_id;
  f.Sync(old_id, 1, {{old_id, "A"}});
  REQUIRE(f.group.state() == GroupState::kStable);

  auto restarted = f.Join(f.Params("", "m", "instance-1"));
  REQUIRE(restarted.ready());
  CHECK(restarted.get().error == ErrorCode::kNone);
  CHECK(restarted.get().generation == 1);
  CHECK(restarted.get().member_id != old_id);
  CHECK(f.group.state() == GroupState::kStable);
  auto sync = f.Sync(restarted.get().member_id, 1);
  CHECK(sync.get().assignment == "A");
  // The old incarnation is fenced.
  CHECK(f.group.Heartbeat(old_id, std::string("instance-1"), 1, f.now) == ErrorCode::kFencedInstanceId);
  CHECK(f.group.ValidateCommit(old_id, std::string("instance-1"), 1, f.now) == ErrorCode::kFencedInstanceId);

  // A changed subscription does rebalance.
  auto changed = f.Join(f.Params("", "other", "instance-1"));
  f.Advance(1);
  REQUIRE(changed.ready());
  CHECK(changed.get().generation == 2);
}

TEST_CASE("a silent static member does not start a generation every rebalance timeout") {
  // Found by a wire fuzzer: a static member that joined with a 100 ms rebalance timeout and
  // then went silent made the group start a new generation every 200 ms until its session
  // expired. Kafka waits for rejoins instead while no member has rejoined; the session expiry
  // removes the member.
  Fixture f;
  auto params = f.Params("", "m", "instance-1");
  params.rebalance_timeout_ms = 100;
  auto a = f.Join(params);
  f.Advance(100);  // the initial delay is capped by the rebalance timeout
  REQUIRE(a.ready());
  REQUIRE(a.get().generation == 1);
  // The member never syncs, heartbeats or rejoins.
  int32_t highest = f.group.generation();
  for (int64_t waited = 100; waited + 100 < kSession; waited += 100) {
    f.Advance(100);
    highest = std::max(highest, f.group.generation());
  }
  CHECK(highest == 1);
  CHECK(f.group.state() == GroupState::kPreparingRebalance);
  f.Advance(200);  // past the session: the member is removed and the group is empty
  CHECK(f.group.state() == GroupState::kEmpty);
  CHECK(f.group.generation() == 2);
}

TEST_CASE("a silent static member keeps its place while the members that rejoin move on") {
  Fixture f;
  auto params = f.Params("", "m", "instance-1");
  params.rebalance_timeout_ms = 100;
  auto a = f.Join(params);
  f.Advance(100);
  REQUIRE(a.get().generation == 1);
  f.Sync(a.get().member_id, 1, {});
  REQUIRE(f.group.state() == GroupState::kStable);
  // A rebalance the static member does not take part in.
  auto first = f.Join(f.Params(""));
  REQUIRE(first.get().error == ErrorCode::kMemberIdRequired);
  auto b_params = f.Params(first.get().member_id);
  b_params.rebalance_timeout_ms = 100;
  auto b = f.Join(b_params);
  f.Advance(100);
  REQUIRE(b.ready());
  CHECK(b.get().generation == 2);
  CHECK(b.get().leader == b.get().member_id);
  f.Sync(b.get().member_id, 2, {});
  CHECK(f.group.state() == GroupState::kStable);
  CHECK(f.group.Heartbeat(a.get().member_id, std::string("instance-1"), 2, f.now) == ErrorCode::kNone);
}

TEST_CASE("joins with unknown ids or incompatible protocols are refused") {
  Fixture f;
  auto unknown = f.Join(f.Params("made-up"));
  CHECK(unknown.get().error == ErrorCode::kUnknownMemberId);
  auto a = f.JoinNew();
  JoinParams other = f.Params("");
  other.require_known_member_id = false;
  other.protocols = {{"roundrobin", "m"}};
  auto incompatible = f.Join(other);
  CHECK(incompatible.get().error == ErrorCode::kInconsistentGroupProtocol);
  other.protocol_type = "connect";
  CHECK(f.Join(other).get().error == ErrorCode::kInconsistentGroupProtocol);
}

TEST_CASE("sync checks generation and state; unloading answers waiting requests") {
  Fixture f;
  auto a = f.JoinNew();
  auto b = f.JoinNew();
  f.Settle();
  const std::string leader = a.get().leader;
  const std::string other = leader == a.get().member_id ? b.get().member_id : a.get().member_id;
  CHECK(f.Sync(other, 5).get().error == ErrorCode::kIllegalGeneration);
  CHECK(f.Sync("nobody", 1).get().error == ErrorCode::kUnknownMemberId);
  auto waiting = f.Sync(other, 1);
  CHECK_FALSE(waiting.ready());
  f.group.Unload(ErrorCode::kNotCoordinator);
  CHECK(waiting.get().error == ErrorCode::kNotCoordinator);
  CHECK(f.group.state() == GroupState::kDead);
}

TEST_CASE("a leader that never syncs sends the group back to rebalancing") {
  Fixture f;
  auto a = f.JoinNew();
  auto b = f.JoinNew();
  f.Settle();
  const std::string other = a.get().leader == a.get().member_id ? b.get().member_id : a.get().member_id;
  auto waiting = f.Sync(other, 1);
  f.Advance(kRebalance);
  CHECK(waiting.get().error == ErrorCode::kRebalanceInProgress);
  CHECK(f.group.state() == GroupState::kPreparingRebalance);
}
