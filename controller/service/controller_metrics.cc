#include "controller/service/controller_metrics.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include <asio/post.hpp>

namespace sluice::controller {
namespace {

// A scrape waits this long for the event loop, then reports nothing rather than hang.
constexpr auto kEventLoopWait = std::chrono::seconds(2);

struct Snapshot {
  bool active = false;
  int32_t leader_id = -1;
  uint64_t term = 0;
  int64_t metadata_offset = -1;
  double brokers = 0;
  double fenced_brokers = 0;
  double topics = 0;
  double partitions = 0;
  double offline_partitions = 0;
  std::map<int32_t, int64_t> broker_lag;  // metadata entries each broker is behind (acting only)
};

std::optional<Snapshot> Read(const Controller& controller, asio::io_context& events) {
  auto promise = std::make_shared<std::promise<Snapshot>>();
  auto future = promise->get_future();
  asio::post(events, [&controller, promise] {
    Snapshot s;
    s.active = controller.acting();
    s.leader_id = controller.leader_id();
    s.term = controller.term();
    const metadata::MetadataImage& image = controller.image();
    s.metadata_offset = image.offset();
    for (const auto& [id, broker] : image.brokers()) {
      ++s.brokers;
      if (broker.fenced) ++s.fenced_brokers;
    }
    for (const auto& [name, topic] : image.topics()) {
      ++s.topics;
      for (const auto& p : topic->partitions) {
        ++s.partitions;
        if (p.leader < 0) ++s.offline_partitions;
      }
    }
    for (const auto& [id, offset] : controller.BrokerMetadataOffsets()) {
      s.broker_lag[id] = std::max<int64_t>(0, image.offset() - offset);
    }
    promise->set_value(s);
  });
  if (future.wait_for(kEventLoopWait) != std::future_status::ready) return std::nullopt;
  return future.get();
}

}  // namespace

void DescribeControllerMetrics(metrics::Registry& registry) {
  using Type = metrics::Registry::Type;
  registry.Describe("kafka_controller_kafkacontroller_activecontrollercount", Type::kGauge,
                    "1 on the controller that acts as the quorum's leader, else 0.");
  registry.Describe("kafka_controller_kafkacontroller_offlinepartitionscount", Type::kGauge,
                    "Partitions without a leader.");
  registry.Describe("kafka_controller_kafkacontroller_fencedbrokercount", Type::kGauge, "Registered brokers fenced.");
  registry.Describe("kafka_controller_kafkacontroller_brokercount", Type::kGauge, "Registered brokers.");
  registry.Describe("kafka_controller_kafkacontroller_globaltopiccount", Type::kGauge, "Topics.");
  registry.Describe("kafka_controller_kafkacontroller_globalpartitioncount", Type::kGauge, "Partitions.");
  registry.Describe("sluice_controller_raft_term", Type::kGauge, "The Raft term this controller last saw.");
  registry.Describe("sluice_controller_commit_latency_seconds", Type::kHistogram,
                    "From proposing a metadata entry to its commit by a majority of the quorum.");
  registry.Describe("sluice_controller_broker_metadata_lag", Type::kGauge,
                    "Metadata entries a broker is behind the active controller, by its last fetch (active "
                    "controller only).");
  registry.Describe("sluice_controller_metadata_offset", Type::kGauge, "Offset of the last metadata entry applied here.");
}

void RegisterControllerMetrics(metrics::Registry& registry, const Controller& controller, asio::io_context& events) {
  DescribeControllerMetrics(registry);
  registry.AddCollector([&controller, &events](std::vector<metrics::Sample>& samples) {
    const std::optional<Snapshot> s = Read(controller, events);
    if (!s) return;
    samples.push_back({"kafka_controller_kafkacontroller_activecontrollercount", {}, s->active ? 1.0 : 0.0});
    samples.push_back({"kafka_controller_kafkacontroller_offlinepartitionscount", {}, s->offline_partitions});
    samples.push_back({"kafka_controller_kafkacontroller_fencedbrokercount", {}, s->fenced_brokers});
    samples.push_back({"kafka_controller_kafkacontroller_brokercount", {}, s->brokers});
    samples.push_back({"kafka_controller_kafkacontroller_globaltopiccount", {}, s->topics});
    samples.push_back({"kafka_controller_kafkacontroller_globalpartitioncount", {}, s->partitions});
    samples.push_back({"sluice_controller_raft_term", {}, static_cast<double>(s->term)});
    samples.push_back({"sluice_controller_metadata_offset", {}, static_cast<double>(s->metadata_offset)});
    for (const auto& [broker, lag] : s->broker_lag) {
      samples.push_back({"sluice_controller_broker_metadata_lag", {{"broker", std::to_string(broker)}},
                         static_cast<double>(lag)});
    }
  });
}

std::string ControllerNotReadyReason(const Controller& controller, asio::io_context& events) {
  const std::optional<Snapshot> s = Read(controller, events);
  if (!s) return "the controller's event loop did not answer";
  if (s->leader_id < 0) return "no quorum leader known yet";
  return "";
}

}  // namespace sluice::controller
