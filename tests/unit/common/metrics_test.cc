#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "common/metrics/registry.h"

using namespace sluice::metrics;

TEST_CASE("counters summed over threads render in Prometheus text format") {
  Registry registry;
  registry.Describe("requests_total", Registry::Type::kCounter, "Requests.");
  Counter& produce = registry.GetCounter("requests_total", {{"request", "Produce"}});
  CHECK(&produce == &registry.GetCounter("requests_total", {{"request", "Produce"}}));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) produce.Add();
    });
  }
  for (auto& thread : threads) thread.join();
  registry.GetCounter("requests_total", {{"request", "Fetch \"x\"\n"}}).Add(2);
  const std::string text = registry.Render();
  CHECK(text.find("# HELP requests_total Requests.\n# TYPE requests_total counter\n") != std::string::npos);
  CHECK(text.find("requests_total{request=\"Produce\"} 4000\n") != std::string::npos);
  CHECK(text.find("requests_total{request=\"Fetch \\\"x\\\"\\n\"} 2\n") != std::string::npos);
}

TEST_CASE("histograms have cumulative buckets, a sum and a count") {
  Registry registry;
  registry.Describe("latency_seconds", Registry::Type::kHistogram, "Latency.");
  Histogram& latency = registry.GetHistogram("latency_seconds");
  latency.Observe(0.0002);
  latency.Observe(0.003);
  latency.Observe(100);
  const std::string text = registry.Render();
  CHECK(text.find("latency_seconds_bucket{le=\"0.0001\"} 0\n") != std::string::npos);
  CHECK(text.find("latency_seconds_bucket{le=\"0.00025\"} 1\n") != std::string::npos);
  CHECK(text.find("latency_seconds_bucket{le=\"0.005\"} 2\n") != std::string::npos);
  CHECK(text.find("latency_seconds_bucket{le=\"30\"} 2\n") != std::string::npos);
  CHECK(text.find("latency_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("latency_seconds_count 3\n") != std::string::npos);
  CHECK(text.find("latency_seconds_sum 100.0032\n") != std::string::npos);
}

TEST_CASE("collectors report gauges at scrape time under their declared family") {
  Registry registry;
  registry.Describe("partitions", Registry::Type::kGauge, "Partitions.");
  int calls = 0;
  registry.AddCollector([&](std::vector<Sample>& samples) {
    ++calls;
    samples.push_back({"partitions", {}, 7});
  });
  CHECK(registry.Render().find("# TYPE partitions gauge\npartitions 7\n") != std::string::npos);
  CHECK(calls == 1);
  CHECK(registry.Families().size() == 1);
}

TEST_CASE("a gauge raised on one thread and lowered on another sums to the difference") {
  Registry registry;
  registry.Describe("waiting", Registry::Type::kGauge, "Waiting operations.");
  Gauge& waiting = registry.GetGauge("waiting", {{"delayedOperation", "Produce"}});
  std::thread raise([&] {
    for (int i = 0; i < 1000; ++i) waiting.Add(1);
  });
  raise.join();
  std::thread lower([&] {
    for (int i = 0; i < 998; ++i) waiting.Add(-1);
  });
  lower.join();
  CHECK(waiting.Value() == 2);
  CHECK(registry.Render().find("waiting{delayedOperation=\"Produce\"} 2\n") != std::string::npos);
  waiting.Add(-3);
  CHECK(waiting.Value() == -1);
}
