#include <catch2/catch.hpp>

#include "broker/groups/group_loader.h"
#include "broker/groups/group_records.h"
#include "common/clock.h"
#include "protocol/kafka/batch/control_record.h"
#include "protocol/kafka/batch/record_batch_builder.h"
#include "tests/unit/storage_log/log_test_util.h"

namespace {

using namespace sluice::broker::groups;
using sluice::ManualClock;
using sluice::storage::PartitionLog;
using sluice::storage::testing::TempDir;

Group StableGroup() {
  Group group("g1", {}, [](const Group&) { return absl::OkStatus(); });
  Member member;
  member.member_id = "m-1";
  member.instance_id = "i-1";
  member.client_id = "client";
  member.client_host = "/10.0.0.1";
  member.session_timeout_ms = 10000;
  member.rebalance_timeout_ms = 30000;
  member.protocols = {{"range", std::string("sub\0scription", 13)}};
  member.assignment = "assigned";
  group.Restore("consumer", 7, std::string("range"), std::string("m-1"), 1234, {member}, 5000);
  return group;
}

void AppendRecords(PartitionLog& log, const std::vector<std::pair<std::string, std::optional<std::string>>>& records,
                   sluice::kafka::RecordBatchBuilder::Options options = {}) {
  sluice::kafka::RecordBatchBuilder builder(options);
  for (const auto& [key, value] : records) {
    builder.Add(key, value ? std::optional<std::string_view>(*value) : std::nullopt, 1000);
  }
  auto batch = builder.Build();
  REQUIRE(batch.ok());
  REQUIRE(log.Append(std::span<char>(batch->data(), batch->size()), sluice::storage::kNoLeaderEpoch).ok());
}

}  // namespace

TEST_CASE("offset and group records round-trip") {
  RecordKey key{.kind = RecordKind::kOffset, .group_id = "g1", .topic = "t", .partition = 3};
  auto decoded_key = DecodeKey(EncodeKey(key));
  REQUIRE(decoded_key.ok());
  CHECK(decoded_key->group_id == "g1");
  CHECK(decoded_key->topic == "t");
  CHECK(decoded_key->partition == 3);

  CommittedOffset offset{.offset = 42, .leader_epoch = 2, .metadata = "meta", .commit_timestamp_ms = 99};
  auto decoded_offset = DecodeOffsetValue(EncodeOffsetValue(offset));
  REQUIRE(decoded_offset.ok());
  CHECK(decoded_offset->offset == 42);
  CHECK(decoded_offset->leader_epoch == 2);
  CHECK(decoded_offset->metadata == "meta");
  CHECK(decoded_offset->commit_timestamp_ms == 99);
  CHECK(decoded_offset->expire_timestamp_ms == -1);

  auto snapshot = DecodeGroupValue(EncodeGroupValue(StableGroup()));
  REQUIRE(snapshot.ok());
  CHECK(snapshot->protocol_type == "consumer");
  CHECK(snapshot->generation == 7);
  CHECK(snapshot->protocol == "range");
  CHECK(snapshot->leader == "m-1");
  REQUIRE(snapshot->members.size() == 1);
  const Member& m = snapshot->members[0];
  CHECK(m.instance_id == "i-1");
  CHECK(m.client_host == "/10.0.0.1");
  CHECK(m.assignment == "assigned");
  REQUIRE(m.protocols.size() == 1);
  CHECK(m.protocols[0].metadata == std::string("sub\0scription", 13));
}

TEST_CASE("malformed or unknown records are errors, never crashes") {
  CHECK_FALSE(DecodeKey("").ok());
  CHECK_FALSE(DecodeKey(std::string("\x00\x07", 2)).ok());          // unknown kind
  CHECK_FALSE(DecodeKey(std::string("\x00\x09\x00", 3)).ok());      // unknown version
  CHECK_FALSE(DecodeOffsetValue(std::string("\x00\x00\x01", 3)).ok());
  std::string group = EncodeGroupValue(StableGroup());
  for (size_t cut = 0; cut < group.size(); ++cut) CHECK_FALSE(DecodeGroupValue(group.substr(0, cut)).ok());
  CHECK_FALSE(DecodeGroupValue(group + "x").ok());  // trailing bytes
}

TEST_CASE("replaying a partition keeps the last record per key and honours tombstones") {
  TempDir dir;
  ManualClock clock(1'000'000);
  auto log = PartitionLog::Open(dir.path() / "__consumer_offsets-0", {}, clock);
  REQUIRE(log.ok());
  auto offset_key = [](std::string group, std::string topic, int32_t partition) {
    return EncodeKey({.kind = RecordKind::kOffset, .group_id = group, .topic = topic, .partition = partition});
  };
  auto group_key = [](std::string group) { return EncodeKey({.kind = RecordKind::kGroup, .group_id = group}); };
  auto value = [](int64_t offset) { return EncodeOffsetValue({.offset = offset}); };
  AppendRecords(**log, {{offset_key("g1", "t", 0), value(5)}, {offset_key("g1", "t", 1), value(7)}});
  AppendRecords(**log, {{offset_key("g1", "t", 0), value(6)}, {group_key("g1"), EncodeGroupValue(StableGroup())}});
  AppendRecords(**log, {{offset_key("g1", "t", 1), std::nullopt}});
  AppendRecords(**log, {{offset_key("g2", "u", 0), value(1)}, {group_key("g2"), std::nullopt}});
  AppendRecords(**log, {{offset_key("g3", "u", 0), value(3)}, {"junk key", value(1)}, {std::string(), value(1)}});

  auto loaded = LoadGroups(**log, 0);
  REQUIRE(loaded.ok());
  CHECK(loaded->records == 10);
  REQUIRE(loaded->groups.size() == 2);  // g2 was deleted
  const LoadedGroup& g1 = loaded->groups.at("g1");
  REQUIRE(g1.metadata.has_value());
  CHECK(g1.metadata->generation == 7);
  REQUIRE(g1.offsets.size() == 1);
  CHECK(g1.offsets.at({"t", 0}).offset == 6);
  CHECK(loaded->groups.at("g3").offsets.at({"u", 0}).offset == 3);
  CHECK_FALSE(loaded->groups.at("g3").metadata.has_value());
}

TEST_CASE("replaying a partition applies transactional offsets at their commit marker only") {
  using sluice::kafka::ControlType;
  TempDir dir;
  ManualClock clock(1'000'000);
  auto log = PartitionLog::Open(dir.path() / "__consumer_offsets-4", {}, clock);
  REQUIRE(log.ok());
  auto key = [](std::string group, int32_t partition) {
    return EncodeKey({.kind = RecordKind::kOffset, .group_id = group, .topic = "in", .partition = partition});
  };
  auto value = [](int64_t offset) { return EncodeOffsetValue({.offset = offset}); };
  auto in_txn = [](int64_t producer) {
    return sluice::kafka::RecordBatchBuilder::Options{.producer_id = producer, .producer_epoch = 0, .transactional = true};
  };
  auto marker = [&](int64_t producer, ControlType type) {
    auto batch = sluice::kafka::BuildTxnMarkerBatch(producer, 0, {.type = type, .coordinator_epoch = 3}, 1000);
    REQUIRE(batch.ok());
    REQUIRE((*log)->Append(std::span<char>(batch->data(), batch->size()), sluice::storage::kNoLeaderEpoch).ok());
  };
  AppendRecords(**log, {{key("g", 0), value(10)}, {key("g", 1), value(10)}});
  AppendRecords(**log, {{key("g", 0), value(20)}}, in_txn(100));  // committed below
  AppendRecords(**log, {{key("g", 1), value(30)}}, in_txn(200));  // aborted below
  AppendRecords(**log, {{key("g", 2), value(40)}}, in_txn(300));  // still open at the end
  AppendRecords(**log, {{key("h", 0), value(50)}}, in_txn(400));  // superseded by a plain commit
  AppendRecords(**log, {{key("h", 0), value(55)}});
  marker(100, ControlType::kCommit);
  marker(200, ControlType::kAbort);
  marker(400, ControlType::kCommit);

  auto loaded = LoadGroups(**log, 4);
  REQUIRE(loaded.ok());
  const auto& g = loaded->groups.at("g").offsets;
  CHECK(g.at({"in", 0}).offset == 20);
  CHECK(g.at({"in", 1}).offset == 10);
  CHECK(g.count({"in", 2}) == 0);
  CHECK(loaded->groups.at("h").offsets.at({"in", 0}).offset == 55);
  CHECK(loaded->pending.IsPending("g", {"in", 2}));
  CHECK_FALSE(loaded->pending.IsPending("g", {"in", 0}));
  GroupOffsets open = loaded->pending.Take(300, 4);
  CHECK(open.at("g").at({"in", 2}).offset == 40);
  CHECK(loaded->pending.empty());
}

TEST_CASE("pending transactional offsets end with their transaction in their partition") {
  PendingTxnOffsets pending;
  pending.Add(7, 1, "g", {{{"t", 0}, CommittedOffset{.offset = 5}}});
  pending.Add(7, 2, "other", {{{"t", 0}, CommittedOffset{.offset = 6}}});
  pending.Add(8, 1, "g", {{{"t", 1}, CommittedOffset{.offset = 9}}});
  CHECK(pending.IsPending("g", {"t", 0}));
  CHECK(pending.Take(7, 3).empty());  // another partition's marker
  GroupOffsets taken = pending.Take(7, 1);
  CHECK(taken.at("g").at({"t", 0}).offset == 5);
  CHECK_FALSE(pending.IsPending("g", {"t", 0}));
  CHECK(pending.IsPending("other", {"t", 0}));

  pending.Supersede("g", {"t", 1});
  CHECK_FALSE(pending.IsPending("g", {"t", 1}));
  pending.Add(9, 1, "g", {{{"t", 3}, CommittedOffset{.offset = 1}}});
  pending.Remove(9, 1, "g", {{{"t", 3}, CommittedOffset{}}});
  CHECK_FALSE(pending.IsPending("g", {"t", 3}));
  pending.DropPartition(2);
  CHECK(pending.empty());
}
