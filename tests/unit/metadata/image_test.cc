// MetadataImage applying records that a leader sends: whatever they say, the image stays one
// that its snapshot describes and a later record cannot crash.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "protocol/metadata/image.h"

using namespace sluice::metadata;

namespace {

const std::string kIdA(16, 'a');
const std::string kIdB(16, 'b');

Record TopicRecord(const std::string& name, const std::string& id) {
  Record record;
  record.mutable_topic()->set_name(name);
  record.mutable_topic()->set_topic_id(id);
  return record;
}

Record PartitionRecord(const std::string& topic_id, int32_t partition, int32_t leader) {
  Record record;
  auto* r = record.mutable_partition();
  r->set_topic_id(topic_id);
  r->set_partition(partition);
  r->add_replicas(leader);
  r->add_isr(leader);
  r->set_leader(leader);
  return record;
}

Record TopicConfigRecord(const std::string& topic, const std::string& key, const std::string& value) {
  Record record;
  auto* r = record.mutable_config();
  r->set_resource_type(kTopicResource);
  r->set_resource_name(topic);
  r->set_key(key);
  r->set_value(value);
  return record;
}

Record RemoveTopicRecord(const std::string& id) {
  Record record;
  record.mutable_remove_topic()->set_topic_id(id);
  return record;
}

}  // namespace

TEST_CASE("a partition record may not skip partitions, so the snapshot describes the image") {
  // Found by tests/fuzz/metadata_image_fuzzer: partition 5 of a one-partition topic left
  // placeholders numbered 0, and the snapshot's placeholder records overwrote the real
  // partition 0 when a broker or follower loaded it; INT32_MAX would allocate without bound.
  MetadataImage image;
  REQUIRE(image.Apply(TopicRecord("orders", kIdA), 1).ok());
  REQUIRE(image.Apply(PartitionRecord(kIdA, 0, 7), 2).ok());
  CHECK(image.Apply(PartitionRecord(kIdA, 5, 8), 3).code() == absl::StatusCode::kInvalidArgument);
  CHECK(image.Apply(PartitionRecord(kIdA, INT32_MAX, 8), 4).code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(image.Apply(PartitionRecord(kIdA, 1, 8), 5).ok());  // the next one
  REQUIRE(image.Apply(PartitionRecord(kIdA, 0, 9), 6).ok());  // an existing one
  REQUIRE(image.FindTopic("orders")->partitions.size() == 2);

  auto rebuilt = FromSnapshot(ToSnapshot(image));
  REQUIRE(rebuilt.ok());
  const auto& partitions = rebuilt->FindTopic("orders")->partitions;
  REQUIRE(partitions.size() == 2);
  CHECK(partitions[0].partition == 0);
  CHECK(partitions[0].leader == 9);
  CHECK(partitions[1].partition == 1);
  CHECK(partitions[1].leader == 8);
}

TEST_CASE("a topic record whose name or id is in use is refused, keeping names and ids one to one") {
  // Found by tests/fuzz/metadata_image_fuzzer: a second topic record for an id made two names
  // share it; after RemoveTopic of that id, a config record for the other name dereferenced the
  // missing topic.
  MetadataImage image;
  REQUIRE(image.Apply(TopicRecord("orders", kIdA), 1).ok());
  CHECK(image.Apply(TopicRecord("payments", kIdA), 2).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(image.FindTopic("payments") == nullptr);
  CHECK(image.FindTopicById(ToTopicId(kIdA))->name == "orders");

  REQUIRE(image.Apply(RemoveTopicRecord(kIdA), 3).ok());
  CHECK(image.topics().empty());
  CHECK(image.Apply(TopicConfigRecord("orders", "retention.ms", "1000"), 4).code() ==
        absl::StatusCode::kFailedPrecondition);
  // Deleting and recreating a name in one entry (DeleteTopics, then CreateTopics) still works.
  REQUIRE(image.Apply(TopicRecord("orders", kIdB), 5).ok());
  REQUIRE(image.Apply(TopicConfigRecord("orders", "retention.ms", "1000"), 5).ok());
  CHECK(image.FindTopic("orders")->configs.at("retention.ms") == "1000");
  CHECK(image.Apply(TopicRecord("orders", kIdA), 6).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(image.FindTopicById(ToTopicId(kIdA)) == nullptr);
}

TEST_CASE("an entry with 100,000 partitions applies in linear time, live and from a snapshot") {
  // Found by a wire fuzzer: each partition record copied the whole topic, so one CreateTopics
  // of 100,000 partitions took the controller's event loop hours, and so did every replay of
  // it. Linear, it takes well under a second even under the sanitizers; quadratic, it would
  // take hours. The bound only catches that difference.
  constexpr int kPartitions = 100'000;
  MetadataImage before;
  REQUIRE(before.Apply(TopicRecord("big", kIdA), 1).ok());
  REQUIRE(before.Apply(PartitionRecord(kIdA, 0, 1), 1).ok());
  const auto published = before.FindTopic("big");

  MetadataEntry entry;
  for (int p = 0; p < kPartitions; ++p) *entry.add_records() = PartitionRecord(kIdA, p, 1 + p % 3);
  const auto start = std::chrono::steady_clock::now();
  MetadataImage image = before;
  REQUIRE(image.ApplyEntry(entry.records(), 2).ok());
  auto rebuilt = FromSnapshot(ToSnapshot(image));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  INFO("applying and reloading " << kPartitions << " partitions took "
                                 << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                                 << " ms: quadratic in the partitions again?");
  CHECK(elapsed < std::chrono::seconds(60));

  REQUIRE(rebuilt.ok());
  REQUIRE(rebuilt->FindTopic("big")->partitions.size() == kPartitions);
  CHECK(rebuilt->FindTopic("big")->partitions.back().leader == 1 + (kPartitions - 1) % 3);
  CHECK(image.FindTopic("big")->partitions.size() == kPartitions);
  // Copy-on-write still holds: what readers of the earlier image see did not change.
  CHECK(published->partitions.size() == 1);
  CHECK(before.FindTopic("big") == published);
}

TEST_CASE("records of one entry for a topic deleted and created again under its id start from scratch") {
  MetadataImage image;
  REQUIRE(image.Apply(TopicRecord("orders", kIdA), 1).ok());
  MetadataEntry entry;
  *entry.add_records() = PartitionRecord(kIdA, 0, 1);
  *entry.add_records() = RemoveTopicRecord(kIdA);
  *entry.add_records() = TopicRecord("orders", kIdA);
  *entry.add_records() = PartitionRecord(kIdA, 0, 2);
  REQUIRE(image.ApplyEntry(entry.records(), 2).ok());
  REQUIRE(image.FindTopic("orders")->partitions.size() == 1);
  CHECK(image.FindTopic("orders")->partitions[0].leader == 2);
}

namespace {

Record ScramRecord(const std::string& name, int32_t mechanism, int32_t iterations) {
  Record record;
  auto* r = record.mutable_user_scram_credential();
  r->set_name(name);
  r->set_mechanism(mechanism);
  r->set_salt("salt-" + name);
  r->set_stored_key("stored-" + name);
  r->set_server_key("server-" + name);
  r->set_iterations(iterations);
  return record;
}

Record RemoveScramRecord(const std::string& name, int32_t mechanism) {
  Record record;
  record.mutable_remove_user_scram_credential()->set_name(name);
  record.mutable_remove_user_scram_credential()->set_mechanism(mechanism);
  return record;
}

}  // namespace

TEST_CASE("SCRAM credentials are set, replaced and removed per user and mechanism, and snapshots carry them") {
  MetadataImage image;
  REQUIRE(image.Apply(ScramRecord("alice", kScramSha256, 4096), 1).ok());
  REQUIRE(image.Apply(ScramRecord("alice", kScramSha512, 8192), 2).ok());
  REQUIRE(image.Apply(ScramRecord("bob", kScramSha512, 4096), 3).ok());
  REQUIRE(image.Apply(ScramRecord("bob", kScramSha512, 16384), 4).ok());  // replaced
  CHECK(image.Apply(ScramRecord("", kScramSha256, 4096), 5).code() == absl::StatusCode::kInvalidArgument);
  CHECK(image.Apply(ScramRecord("carol", 3, 4096), 6).code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(image.scram_credentials().size() == 2);
  CHECK(image.scram_credentials().at("bob").at(kScramSha512).iterations == 16384);

  auto rebuilt = FromSnapshot(ToSnapshot(image));
  REQUIRE(rebuilt.ok());
  REQUIRE(rebuilt->scram_credentials().size() == 2);
  const ScramCredentialInfo& alice = rebuilt->scram_credentials().at("alice").at(kScramSha512);
  CHECK(alice.salt == "salt-alice");
  CHECK(alice.stored_key == "stored-alice");
  CHECK(alice.server_key == "server-alice");
  CHECK(alice.iterations == 8192);

  REQUIRE(image.Apply(RemoveScramRecord("alice", kScramSha256), 7).ok());
  CHECK(image.scram_credentials().at("alice").size() == 1);
  REQUIRE(image.Apply(RemoveScramRecord("bob", kScramSha512), 8).ok());
  CHECK(image.scram_credentials().count("bob") == 0);  // no credential left: no user
  CHECK(image.Apply(RemoveScramRecord("bob", kScramSha512), 9).code() == absl::StatusCode::kFailedPrecondition);
}
