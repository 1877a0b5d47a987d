// raft-sim: runs seeded deterministic simulations of a Raft cluster and checks the safety
// invariants after every event and liveness after the faults stop.
//   raft-sim --runs N --seed S --nodes K [--faults LIST] [--fault-ticks T] [--trace-events E]
// Exits 1 on the first violation, printing the failing seed and a trace of its last events.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "tests/raft/simulator.h"

namespace {

int Usage(const std::string& error) {
  fmt::print(stderr,
             "raft-sim: {}\nusage: raft-sim --runs N --seed S --nodes K [--faults LIST]\n"
             "         [--fault-ticks T] [--liveness-ticks L] [--trace-events E] [--verbose]\n"
             "LIST: comma-separated loss,duplicate,reorder,partition,one_way,crash,skew,member,\n"
             "      transfer,read,snapshot | all | none (default all)\n",
             error);
  return 2;
}

bool ParseUint(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using sluice::raft::sim::SimOptions;
  uint64_t runs = 100, seed = 1, nodes = 3, fault_ticks = 600, liveness_ticks = 600,
           trace_events = 300;
  std::string faults = "all";
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--verbose") {
      verbose = true;
      continue;
    }
    if (i + 1 >= argc) return Usage(fmt::format("missing value for {}", arg));
    const std::string_view value = argv[++i];
    bool ok = true;
    if (arg == "--runs") ok = ParseUint(value, &runs);
    else if (arg == "--seed") ok = ParseUint(value, &seed);
    else if (arg == "--nodes") ok = ParseUint(value, &nodes);
    else if (arg == "--fault-ticks") ok = ParseUint(value, &fault_ticks);
    else if (arg == "--liveness-ticks") ok = ParseUint(value, &liveness_ticks);
    else if (arg == "--trace-events") ok = ParseUint(value, &trace_events);
    else if (arg == "--faults") faults = std::string(value);
    else return Usage(fmt::format("unknown flag {}", arg));
    if (!ok) return Usage(fmt::format("bad number for {}: {}", arg, value));
  }
  if (nodes < 1 || nodes > 9) return Usage("--nodes must be between 1 and 9");
  auto fault_set = sluice::raft::sim::ParseFaults(faults);
  if (!fault_set.ok()) return Usage(fault_set.status().ToString());

  SimOptions options;
  options.nodes = static_cast<int>(nodes);
  options.faults = *fault_set;
  options.fault_ticks = static_cast<int>(fault_ticks);
  options.liveness_ticks = static_cast<int>(liveness_ticks);
  options.trace_events = trace_events;

  const auto start = std::chrono::steady_clock::now();
  uint64_t acknowledged = 0, snapshots = 0, reads = 0, config_changes = 0, max_term = 0,
           max_liveness = 0;
  for (uint64_t r = 0; r < runs; ++r) {
    options.seed = seed + r;
    options.trace = false;
    sluice::raft::sim::SimResult result = sluice::raft::sim::RunSimulation(options);
    if (!result.ok) {
      // Replay the same seed with tracing on: the run is deterministic.
      options.trace = true;
      sluice::raft::sim::SimResult traced = sluice::raft::sim::RunSimulation(options);
      fmt::print("VIOLATION {}\nlast {} events of seed {}:\n", result.failure,
                 traced.trace.size(), options.seed);
      for (const std::string& line : traced.trace) fmt::print("  {}\n", line);
      fmt::print("VIOLATION {}\nFAILED seed {} (replay: raft-sim --runs 1 --seed {} --nodes {} "
                 "--faults {} --fault-ticks {})\n",
                 result.failure, options.seed, options.seed, nodes, faults, fault_ticks);
      return 1;
    }
    acknowledged += result.acknowledged;
    snapshots += result.snapshots_installed;
    reads += result.reads_confirmed;
    config_changes += result.config_changes;
    max_term = std::max(max_term, result.max_term);
    max_liveness = std::max(max_liveness, result.liveness_ticks);
    if (verbose) {
      fmt::print("seed {}: ok acked={} max_term={} snapshots={} reads={} conf={} live={}\n",
                 options.seed, result.acknowledged, result.max_term, result.snapshots_installed,
                 result.reads_confirmed, result.config_changes, result.liveness_ticks);
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("raft-sim: {} runs OK (seeds {}..{}, {} nodes, faults={}) in {:.1f}s: "
             "{} proposals acknowledged, {} snapshots installed, {} reads confirmed, "
             "{} config changes, max term {}, slowest recovery {} ticks\n",
             runs, seed, seed + runs - 1, nodes, faults, secs, acknowledged, snapshots, reads,
             config_changes, max_term, max_liveness);
  return 0;
}
