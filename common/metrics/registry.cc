#include "common/metrics/registry.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace sluice::metrics {
namespace {

const char* TypeName(Registry::Type type) {
  switch (type) {
    case Registry::Type::kCounter: return "counter";
    case Registry::Type::kGauge: return "gauge";
    case Registry::Type::kHistogram: return "histogram";
  }
  return "untyped";
}

// Label values escaped as the exposition format requires: backslash, quote, newline.
std::string Escape(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string FormatLabels(const Labels& labels, const std::string& extra_name = "", const std::string& extra = "") {
  if (labels.empty() && extra_name.empty()) return "";
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ',';
    out += fmt::format("{}=\"{}\"", name, Escape(value));
  }
  if (!extra_name.empty()) {
    if (out.size() > 1) out += ',';
    out += fmt::format("{}=\"{}\"", extra_name, extra);
  }
  return out + "}";
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

}  // namespace

size_t ThreadSlot() {
  static std::atomic<size_t> next{0};
  thread_local const size_t slot = next.fetch_add(1, std::memory_order_relaxed) % kSlots;
  return slot;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(std::make_unique<ShardedCount[]>(bounds_.size() + 1)) {
  std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::Observe(double value) {
  const size_t bucket = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  buckets_[bucket].Add(1);
  sum_micros_.Add(value > 0 ? static_cast<uint64_t>(value * 1e6) : 0);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot{.cumulative = {}, .sum = static_cast<double>(sum_micros_.Sum()) / 1e6, .count = 0};
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    snapshot.count += buckets_[i].Sum();
    snapshot.cumulative.push_back(snapshot.count);
  }
  return snapshot;
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

Registry::FamilyData& Registry::FamilyLocked(const std::string& name, Type type) {
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(name, FamilyData{.type = type, .help = "", .counters = {}, .histograms = {}, .gauges = {}}).first;
  return it->second;
}

void Registry::Describe(const std::string& name, Type type, std::string help) {
  std::lock_guard lock(mutex_);
  FamilyData& family = FamilyLocked(name, type);
  if (family.help.empty()) family.help = std::move(help);
}

Counter& Registry::GetCounter(const std::string& name, Labels labels) {
  std::lock_guard lock(mutex_);
  auto& slot = FamilyLocked(name, Type::kCounter).counters[std::move(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Histogram& Registry::GetHistogram(const std::string& name, Labels labels) {
  std::lock_guard lock(mutex_);
  auto& slot = FamilyLocked(name, Type::kHistogram).histograms[std::move(labels)];
  if (!slot) slot = std::make_unique<Histogram>(LatencyBuckets());
  return *slot;
}

Gauge& Registry::GetGauge(const std::string& name, Labels labels) {
  std::lock_guard lock(mutex_);
  auto& slot = FamilyLocked(name, Type::kGauge).gauges[std::move(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

void Registry::AddCollector(std::function<void(std::vector<Sample>&)> collect) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::Render() const {
  std::vector<std::function<void(std::vector<Sample>&)>> collectors;
  {
    std::lock_guard lock(mutex_);
    collectors = collectors_;
  }
  // Collectors run without the registry's lock: they take their owners' locks.
  std::vector<Sample> collected;
  for (const auto& collect : collectors) collect(collected);
  std::map<std::string, std::vector<const Sample*>> by_family;
  for (const Sample& sample : collected) by_family[sample.name].push_back(&sample);

  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, family.help, name, TypeName(family.type));
    for (const auto& [labels, counter] : family.counters) {
      out += fmt::format("{}{} {}\n", name, FormatLabels(labels), counter->Value());
    }
    for (const auto& [labels, gauge] : family.gauges) {
      out += fmt::format("{}{} {}\n", name, FormatLabels(labels), gauge->Value());
    }
    for (const auto& [labels, histogram] : family.histograms) {
      const Histogram::Snapshot snapshot = histogram->Read();
      for (size_t i = 0; i < snapshot.cumulative.size(); ++i) {
        const std::string bound = i < histogram->bounds().size() ? FormatValue(histogram->bounds()[i]) : "+Inf";
        out += fmt::format("{}_bucket{} {}\n", name, FormatLabels(labels, "le", bound), snapshot.cumulative[i]);
      }
      out += fmt::format("{}_sum{} {}\n", name, FormatLabels(labels), FormatValue(snapshot.sum));
      out += fmt::format("{}_count{} {}\n", name, FormatLabels(labels), snapshot.count);
    }
    if (auto it = by_family.find(name); it != by_family.end()) {
      for (const Sample* sample : it->second) {
        out += fmt::format("{}{} {}\n", name, FormatLabels(sample->labels), FormatValue(sample->value));
      }
    }
  }
  return out;
}

std::vector<Registry::Family> Registry::Families() const {
  std::lock_guard lock(mutex_);
  std::vector<Family> families;
  for (const auto& [name, family] : families_) families.push_back(Family{name, family.type, family.help});
  return families;
}

}  // namespace sluice::metrics
