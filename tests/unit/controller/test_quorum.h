#pragma once
// A Quorum the test drives by hand: proposals wait until the test commits them, so a test
// decides exactly which requests share an entry. Commit applies the entry to the controller
// at the next index, as a Raft node would, then completes the proposal.

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/clock.h"
#include "controller/service/controller.h"
#include "protocol/kafka/error_codes.h"

namespace sluice::controller::testing {

class TestQuorum final : public Quorum {
 public:
  explicit TestQuorum(Controller& controller) : controller_(controller) { controller.Attach(this); }

  void Propose(std::string entry, std::function<void(absl::Status)> done) override {
    proposals_.push_back({std::move(entry), std::move(done)});
  }
  void Barrier(std::function<void(absl::Status)> done) override { barriers_.push_back(std::move(done)); }
  void Status(std::function<void(QuorumStatus)> done) override { done(status); }

  // This node becomes leader of `term`, passes its barrier and commits what acting queued.
  void Lead(uint64_t term, int32_t self) {
    status = QuorumStatus{.leader = true, .term = term, .leader_id = self};
    controller_.OnQuorumChange(status);
    for (auto& barrier : std::exchange(barriers_, {})) barrier(absl::OkStatus());
    CommitAll();
  }
  void Follow(uint64_t term, int32_t leader) {
    status = QuorumStatus{.leader = false, .term = term, .leader_id = leader};
    controller_.OnQuorumChange(status);
  }

  size_t pending() const { return proposals_.size(); }
  // The oldest pending proposal as its records.
  metadata::MetadataEntry PeekEntry() const {
    REQUIRE(!proposals_.empty());
    metadata::MetadataEntry entry;
    REQUIRE(entry.ParseFromString(proposals_.front().entry));
    return entry;
  }
  void CommitNext() {
    REQUIRE(!proposals_.empty());
    Proposal p = std::move(proposals_.front());
    proposals_.pop_front();
    controller_.Apply(++index_, p.entry);
    status.commit_index = status.last_index = static_cast<int64_t>(index_);
    p.done(absl::OkStatus());
  }
  void FailNext(absl::Status why) {
    REQUIRE(!proposals_.empty());
    Proposal p = std::move(proposals_.front());
    proposals_.pop_front();
    p.done(std::move(why));
  }
  void CommitAll() {
    while (!proposals_.empty()) CommitNext();
  }

  QuorumStatus status;

 private:
  struct Proposal {
    std::string entry;
    std::function<void(absl::Status)> done;
  };
  Controller& controller_;
  std::deque<Proposal> proposals_;
  std::vector<std::function<void(absl::Status)>> barriers_;
  uint64_t index_ = 0;
};

// Captures one answer.
template <class Resp>
struct Answer {
  std::optional<absl::StatusOr<Resp>> value;
  Controller::Reply<Resp> reply() {
    return [this](absl::StatusOr<Resp> r) { value = std::move(r); };
  }
  const Resp& ok() const {
    REQUIRE(value.has_value());
    INFO(value->status().ToString());
    REQUIRE(value->ok());
    return **value;
  }
};

// A controller leading term 1 with a fake quorum and a manual clock.
struct Fixture {
  ManualClock clock;
  ControllerOptions options;
  std::unique_ptr<Controller> controller;
  std::unique_ptr<TestQuorum> quorum;

  explicit Fixture(ControllerOptions opts = {}) : options(opts) {
    controller = std::make_unique<Controller>(options, std::map<int32_t, HostPort>{{3000, {"127.0.0.1", 9093}},
                                                                                    {3001, {"127.0.0.1", 9094}}},
                                              clock);
    quorum = std::make_unique<TestQuorum>(*controller);
    quorum->Lead(1, 3000);
  }
  Controller& c() { return *controller; }
  const metadata::MetadataImage& image() { return controller->image(); }

  // Runs `call(reply)` and commits what it proposed; returns the answer.
  template <class Resp, class Call>
  absl::StatusOr<Resp> Run(Call call) {
    Answer<Resp> answer;
    call(answer.reply());
    quorum->CommitAll();
    REQUIRE(answer.value.has_value());
    return *answer.value;
  }

  int64_t Register(int32_t id, const char* rack = "") {
    metadata::RegisterBrokerRequest request;
    request.set_broker_id(id);
    request.set_host("127.0.0.1");
    request.set_port(9000 + id);
    request.set_rack(rack);
    auto response = Run<metadata::RegisterBrokerResponse>([&](auto reply) { c().RegisterBroker(/*session=*/id, request, reply); });
    REQUIRE(response.ok());
    return response->broker_epoch();
  }

  void Heartbeat(int32_t id) {
    metadata::BrokerHeartbeatRequest request;
    request.set_broker_id(id);
    request.set_broker_epoch(image().FindBroker(id)->epoch);
    auto response = Run<metadata::BrokerHeartbeatResponse>([&](auto reply) { c().Heartbeat(/*session=*/id, request, reply); });
    REQUIRE(response.ok());
    REQUIRE(!response->fenced());
  }

  metadata::TopicResult Create(const std::string& name, int32_t partitions, int32_t replication,
                               std::map<std::string, std::string> configs = {},
                               std::vector<std::vector<int32_t>> assignment = {}) {
    metadata::CreateTopicsRequest request;
    request.set_default_num_partitions(1);
    request.set_default_replication_factor(1);
    auto* topic = request.add_topics();
    topic->set_name(name);
    topic->set_num_partitions(assignment.empty() ? partitions : -1);
    topic->set_replication_factor(assignment.empty() ? replication : -1);
    for (size_t p = 0; p < assignment.size(); ++p) {
      auto* a = topic->add_assignments();
      a->set_partition(static_cast<int32_t>(p));
      for (int32_t id : assignment[p]) a->add_broker_ids(id);
    }
    for (const auto& [k, v] : configs) (*topic->mutable_configs())[k] = v;
    auto response = Run<metadata::CreateTopicsResponse>([&](auto reply) { c().CreateTopics(request, reply); });
    REQUIRE(response.ok());
    return response->results(0);
  }

  metadata::PartitionInfo Partition(const std::string& topic, int32_t partition) {
    auto t = image().FindTopic(topic);
    REQUIRE(t);
    return t->partitions.at(partition);
  }
};

inline int32_t Code(kafka::ErrorCode code) { return static_cast<int32_t>(code); }

}  // namespace sluice::controller::testing
