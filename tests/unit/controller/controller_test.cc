#include <catch2/catch.hpp>

#include <filesystem>

#include "common/clock.h"
#include "controller/service/controller.h"
#include "protocol/kafka/error_codes.h"

using namespace sluice;
using controller::Controller;
using kafka::ErrorCode;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/sluice-controller-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

void Register(Controller& c, int32_t id) {
  metadata::RegisterBrokerRequest request;
  request.set_broker_id(id);
  request.set_host("127.0.0.1");
  request.set_port(9000 + id);
  REQUIRE(c.RegisterBroker(request).ok());
}

metadata::TopicResult Create(Controller& c, const std::string& name, int32_t partitions, int32_t replication,
                             std::map<std::string, std::string> configs = {}) {
  metadata::CreateTopicsRequest request;
  request.set_default_num_partitions(1);
  request.set_default_replication_factor(1);
  auto* topic = request.add_topics();
  topic->set_name(name);
  topic->set_num_partitions(partitions);
  topic->set_replication_factor(replication);
  for (const auto& [k, v] : configs) (*topic->mutable_configs())[k] = v;
  auto response = c.CreateTopics(request);
  REQUIRE(response.ok());
  return response->results(0);
}

int32_t Code(ErrorCode code) { return static_cast<int32_t>(code); }

}  // namespace

TEST_CASE("topic creation validates names, counts, replication and configs") {
  TempDir dir;
  ManualClock clock;
  auto c = Controller::Open(dir.path, {}, clock);
  REQUIRE(c.ok());
  Register(**c, 1);
  CHECK(Create(**c, "ok", 3, 1).error_code() == 0);
  CHECK(Create(**c, "ok", 3, 1).error_code() == Code(ErrorCode::kTopicAlreadyExists));
  CHECK(Create(**c, "bad name", 1, 1).error_code() == Code(ErrorCode::kInvalidTopicException));
  CHECK(Create(**c, std::string(250, 'x'), 1, 1).error_code() == Code(ErrorCode::kInvalidTopicException));
  CHECK(Create(**c, "..", 1, 1).error_code() == Code(ErrorCode::kInvalidTopicException));
  CHECK(Create(**c, "zero", 0, 1).error_code() == Code(ErrorCode::kInvalidPartitions));
  CHECK(Create(**c, "rf", 1, 2).error_code() == Code(ErrorCode::kInvalidReplicationFactor));
  CHECK(Create(**c, "cfg", 1, 1, {{"retention.ms", "abc"}}).error_code() == Code(ErrorCode::kInvalidConfig));
  CHECK(Create(**c, "cfg2", 1, 1, {{"cleanup.policy", "shred"}}).error_code() == Code(ErrorCode::kInvalidConfig));
  CHECK(Create(**c, "cfg3", 1, 1, {{"min.cleanable.dirty.ratio", "1.5"}}).error_code() == Code(ErrorCode::kInvalidConfig));
  CHECK(Create(**c, "compacted", 1, 1, {{"cleanup.policy", "compact,delete"}}).error_code() == 0);
  CHECK(Create(**c, "defaults", -1, -1).num_partitions() == 1);

  auto topic = (*c)->image().FindTopic("ok");
  REQUIRE(topic);
  REQUIRE(topic->partitions.size() == 3);
  for (const auto& p : topic->partitions) CHECK(p.leader == 1);
}

TEST_CASE("metadata survives a restart and brokers are fenced when their lease lapses") {
  TempDir dir;
  ManualClock clock;
  {
    auto c = Controller::Open(dir.path, {.broker_session_timeout_ms = 1000}, clock);
    REQUIRE(c.ok());
    Register(**c, 1);
    REQUIRE(Create(**c, "kept", 2, 1, {{"retention.ms", "-1"}}).error_code() == 0);
    metadata::CreatePartitionsRequest more;
    auto* t = more.add_topics();
    t->set_name("kept");
    t->set_count(4);
    REQUIRE((*c)->CreatePartitions(more)->results(0).error_code() == 0);
    t->set_count(3);
    CHECK((*c)->CreatePartitions(more)->results(0).error_code() == Code(ErrorCode::kInvalidPartitions));
  }
  auto c = Controller::Open(dir.path, {.broker_session_timeout_ms = 1000}, clock);
  REQUIRE(c.ok());
  auto topic = (*c)->image().FindTopic("kept");
  REQUIRE(topic);
  CHECK(topic->partitions.size() == 4);
  CHECK(topic->configs.at("retention.ms") == "-1");

  clock.AdvanceMs(1500);
  REQUIRE((*c)->ExpireBrokerLeases().ok());
  CHECK((*c)->image().FindBroker(1)->fenced);
  CHECK((*c)->image().FindTopic("kept")->partitions[0].leader == -1);
  Register(**c, 1);
  CHECK((*c)->image().FindTopic("kept")->partitions[0].leader == 1);
  CHECK((*c)->image().FindTopic("kept")->partitions[0].leader_epoch == 2);
}

TEST_CASE("configs are set, deleted and replaced; producer id blocks never overlap") {
  TempDir dir;
  ManualClock clock;
  auto c = Controller::Open(dir.path, {}, clock);
  REQUIRE(c.ok());
  Register(**c, 1);
  REQUIRE(Create(**c, "t", 1, 1, {{"retention.ms", "1000"}, {"segment.bytes", "100000"}}).error_code() == 0);
  metadata::AlterConfigsRequest alter;
  auto* resource = alter.add_resources();
  resource->set_resource_type(metadata::kTopicResource);
  resource->set_resource_name("t");
  auto* op = resource->add_ops();
  op->set_key("retention.ms");
  op->set_op(1);
  REQUIRE((*c)->AlterConfigs(alter)->results(0).error_code() == 0);
  CHECK((*c)->image().FindTopic("t")->configs.count("retention.ms") == 0);
  CHECK((*c)->image().FindTopic("t")->configs.at("segment.bytes") == "100000");
  resource->set_replace_all(true);
  op->set_key("flush.ms");
  op->set_op(0);
  op->set_value("10");
  REQUIRE((*c)->AlterConfigs(alter)->results(0).error_code() == 0);
  CHECK((*c)->image().FindTopic("t")->configs == std::map<std::string, std::string>{{"flush.ms", "10"}});

  metadata::AllocateProducerIdsRequest ids;
  ids.set_broker_id(1);
  ids.set_broker_epoch((*c)->image().FindBroker(1)->epoch);
  auto first = (*c)->AllocateProducerIds(ids);
  auto second = (*c)->AllocateProducerIds(ids);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(second->first_producer_id() >= first->first_producer_id() + first->size());
  ids.set_broker_epoch(12345);
  CHECK(!(*c)->AllocateProducerIds(ids).ok());
}

TEST_CASE("metadata fetch returns records after an offset") {
  TempDir dir;
  ManualClock clock;
  auto c = Controller::Open(dir.path, {}, clock);
  REQUIRE(c.ok());
  Register(**c, 1);
  Create(**c, "a", 2, 1);
  auto all = (*c)->FetchMetadata(-1);
  REQUIRE(all.ok());
  CHECK(all->entries(0).offset() == 0);
  CHECK(all->entries_size() == 4);  // registration, topic, two partitions
  auto none = (*c)->FetchMetadata((*c)->image().offset());
  REQUIRE(none.ok());
  CHECK(none->entries_size() == 0);
}
