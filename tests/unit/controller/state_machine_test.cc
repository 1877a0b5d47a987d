#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "controller/service/metadata_state_machine.h"

using namespace sluice;
using controller::MetadataStateMachine;
using metadata::Record;

namespace {

std::string Entry(std::vector<Record> records) {
  metadata::MetadataEntry entry;
  for (auto& r : records) *entry.add_records() = std::move(r);
  return entry.SerializeAsString();
}

Record Registration(int32_t id, int64_t epoch = 0) {
  Record r;
  auto* b = r.mutable_broker_registration();
  b->set_broker_id(id);
  b->set_broker_epoch(epoch);
  b->set_host(fmt::format("h{}", id));
  b->set_port(9000 + id);
  b->set_rack(fmt::format("rack-{}", id % 2));
  return r;
}

Record TopicRecord(const std::string& name, uint8_t id_byte) {
  Record r;
  r.mutable_topic()->set_name(name);
  r.mutable_topic()->set_topic_id(std::string(16, static_cast<char>(id_byte)));
  return r;
}

Record PartitionRecord(uint8_t id_byte, int32_t partition, std::vector<int32_t> replicas, std::vector<int32_t> isr,
                       int32_t leader, std::vector<int32_t> adding = {}) {
  Record r;
  auto* p = r.mutable_partition();
  p->set_topic_id(std::string(16, static_cast<char>(id_byte)));
  p->set_partition(partition);
  for (int32_t id : replicas) p->add_replicas(id);
  for (int32_t id : isr) p->add_isr(id);
  p->set_leader(leader);
  p->set_leader_epoch(3);
  p->set_partition_epoch(7);
  for (int32_t id : adding) p->add_adding_replicas(id);
  return r;
}

Record ConfigRecord(int32_t type, const std::string& name, const std::string& key, const std::string& value) {
  Record r;
  auto* c = r.mutable_config();
  c->set_resource_type(type);
  c->set_resource_name(name);
  c->set_key(key);
  c->set_value(value);
  return r;
}

}  // namespace

TEST_CASE("applying entries, taking a snapshot and restoring it rebuild the same image") {
  MetadataStateMachine sm(100);
  Record cluster;
  cluster.mutable_cluster_id()->set_cluster_id("AAAAAAAAAAAAAAAAAAAAAA");
  sm.Apply(2, Entry({cluster}));
  sm.Apply(3, Entry({Registration(1), Registration(2)}));
  sm.Apply(5, Entry({TopicRecord("t", 7), ConfigRecord(metadata::kTopicResource, "t", "retention.ms", "5"),
                     PartitionRecord(7, 0, {1, 2, 3}, {1, 2}, 1, {3}), PartitionRecord(7, 1, {2}, {2}, 2)}));
  Record fenced;
  fenced.mutable_broker_fenced()->set_broker_id(2);
  fenced.mutable_broker_fenced()->set_broker_epoch(3);
  Record ids;
  ids.mutable_producer_id_block()->set_broker_id(1);
  ids.mutable_producer_id_block()->set_first_producer_id(0);
  ids.mutable_producer_id_block()->set_size(1000);
  sm.Apply(6, Entry({fenced, ids, ConfigRecord(metadata::kBrokerResource, "", "log.retention.ms", "10")}));

  const auto& image = sm.image();
  CHECK(image.offset() == 6);
  CHECK(image.FindBroker(1)->epoch == 3);  // epoch 0 in the record: the entry's offset
  CHECK(image.FindBroker(2)->fenced);

  MetadataStateMachine restored(100);
  REQUIRE(restored.Restore(sm.TakeSnapshot()).ok());
  CHECK(metadata::ToSnapshot(restored.image()).SerializeAsString() ==
        metadata::ToSnapshot(image).SerializeAsString());
  const auto& r = restored.image();
  CHECK(r.offset() == 6);
  CHECK(r.cluster_id() == "AAAAAAAAAAAAAAAAAAAAAA");
  CHECK(r.FindBroker(1)->epoch == 3);
  CHECK(r.FindBroker(1)->rack == "rack-1");
  CHECK(r.FindBroker(2)->fenced);
  CHECK(r.next_producer_id() == 1000);
  CHECK(r.broker_configs().at("").at("log.retention.ms") == "10");
  auto topic = r.FindTopic("t");
  REQUIRE(topic);
  CHECK(topic->configs.at("retention.ms") == "5");
  REQUIRE(topic->partitions.size() == 2);
  CHECK(topic->partitions[0].isr == std::vector<int32_t>{1, 2});
  CHECK(topic->partitions[0].adding_replicas == std::vector<int32_t>{3});
  CHECK(topic->partitions[0].leader_epoch == 3);
  CHECK(topic->partitions[0].partition_epoch == 7);

  // A restored node has no tail: a broker behind the snapshot gets the image.
  auto behind = restored.Fetch(3, 10);
  REQUIRE(behind.has_snapshot());
  CHECK(behind.entries_size() == 0);
  CHECK(behind.snapshot().offset() == 6);
  CHECK(restored.Fetch(6, 10).entries_size() == 0);
}

TEST_CASE("fetch serves the tail after an offset and the image once the tail moved past it") {
  MetadataStateMachine sm(2);
  sm.Apply(1, Entry({Registration(1)}));
  auto all = sm.Fetch(-1, 10);
  REQUIRE(all.entries_size() == 1);
  CHECK(all.entries(0).offset() == 1);
  CHECK(all.committed_offset() == 1);
  sm.Apply(2, Entry({Registration(2)}));
  sm.Apply(4, Entry({Registration(3)}));
  auto recent = sm.Fetch(2, 10);
  REQUIRE(recent.entries_size() == 1);
  CHECK(recent.entries(0).offset() == 4);
  CHECK(!recent.has_snapshot());
  auto old = sm.Fetch(0, 10);  // entry 1 has left the two-entry tail
  REQUIRE(old.has_snapshot());
  CHECK(old.entries_size() == 0);
  CHECK(old.snapshot().offset() == 4);
  CHECK(sm.Fetch(1, 1).entries_size() == 1);
}

TEST_CASE("a record that cannot apply is skipped, the rest of its entry applies and the offset moves on") {
  MetadataStateMachine sm(10);
  // A partition of a topic that does not exist, then a valid registration.
  sm.Apply(4, Entry({PartitionRecord(9, 0, {1}, {1}, 1), Registration(1)}));
  CHECK(sm.image().offset() == 4);
  CHECK(sm.image().FindBroker(1) != nullptr);
  sm.Apply(5, "not a protobuf \xff\xff\xff");
  sm.Apply(6, Entry({Registration(2)}));
  CHECK(sm.image().offset() == 6);
  CHECK(sm.Fetch(-1, 10).entries_size() == 2);
}
