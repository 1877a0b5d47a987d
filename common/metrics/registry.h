#pragma once
// The metrics of one process, rendered in Prometheus' text format at scrape time.
//
// Counters and histograms are created once per label set (creation takes a lock; keep the
// returned reference) and then updated lock-free from any thread. Values that the process
// already knows (partition counts, Raft term) are not kept twice: a collector computes them
// when scraped.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/metrics/sharded.h"

namespace sluice::metrics {

// Label name -> value, e.g. {{"topic", "orders"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Add(uint64_t n = 1) { count_.Add(n); }
  uint64_t Value() const { return count_.Sum(); }

 private:
  ShardedCount count_;
};

// A value that goes up and down (waiting operations); each thread adds its own changes and a
// scrape sums them. Two's-complement wrap makes the unsigned slots sum to the signed total.
class Gauge {
 public:
  void Add(int64_t n) { count_.Add(static_cast<uint64_t>(n)); }
  int64_t Value() const { return static_cast<int64_t>(count_.Sum()); }

 private:
  ShardedCount count_;
};

// Cumulative buckets with fixed upper bounds (seconds for latencies), plus sum and count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf
    double sum;
    uint64_t count;
  };
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<ShardedCount[]> buckets_;  // bounds_.size() + 1
  ShardedCount sum_micros_;                  // the sum in millionths, kept as an integer
};

// Latency buckets in seconds, 100 µs to 30 s.
std::vector<double> LatencyBuckets();

// One sample a collector reports: the family's name, its labels, the value.
struct Sample {
  std::string name;
  Labels labels;
  double value;
};

class Registry {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  // Declares a family (its help text and type, rendered once). A family declared twice keeps
  // the first declaration.
  void Describe(const std::string& name, Type type, std::string help);
  // The counter of `name` with `labels`, created on first use; valid for the registry's life.
  Counter& GetCounter(const std::string& name, Labels labels = {});
  Histogram& GetHistogram(const std::string& name, Labels labels = {});
  Gauge& GetGauge(const std::string& name, Labels labels = {});
  // Called at every scrape to report gauges (and counters kept elsewhere) of declared families.
  void AddCollector(std::function<void(std::vector<Sample>&)> collect);

  // Prometheus text exposition format 0.0.4.
  std::string Render() const;
  // Every declared family: name, type and help (for the generated docs).
  struct Family {
    std::string name;
    Type type;
    std::string help;
  };
  std::vector<Family> Families() const;

 private:
  struct FamilyData {
    Type type;
    std::string help;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
  };
  FamilyData& FamilyLocked(const std::string& name, Type type);

  mutable std::mutex mutex_;
  std::map<std::string, FamilyData> families_;
  std::vector<std::function<void(std::vector<Sample>&)>> collectors_;
};

}  // namespace sluice::metrics
