#pragma once
// Deterministic simulation of a Raft cluster built from the pure core: a seeded PRNG drives a
// simulated network (loss, duplication, reordering, delay, symmetric and one-way partitions),
// simulated disks (crash drops whatever was not yet durable), skewed clocks, client
// proposals, reads, membership changes and leadership transfers. Safety invariants are checked
// after every event; after the faults stop, the cluster must elect a leader and commit a
// proposal within a bounded time. The same seed always replays the same run.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sluice::raft::sim {

struct FaultSet {
  bool loss = false;
  bool duplicate = false;
  bool reorder = false;    // wide delay spread, so messages overtake each other
  bool partition = false;  // symmetric splits
  bool one_way = false;    // single directions cut
  bool crash = false;      // crash and restart from the simulated disk
  bool skew = false;       // per-node tick rates differ
  bool member = false;     // add/promote/remove servers while faults run
  bool transfer = false;   // leadership transfers
  bool read = false;       // read-index requests (checked for linearizability)
  bool snapshot = false;   // log compaction, so lagging nodes catch up from snapshots
};

// Comma-separated names from the FaultSet fields ("one_way" also as "oneway"), "all" or
// "none".
absl::StatusOr<FaultSet> ParseFaults(std::string_view list);

struct SimOptions {
  uint64_t seed = 1;
  int nodes = 3;
  FaultSet faults;
  int fault_ticks = 600;     // length of the fault phase, in nominal ticks
  // Bound for electing a leader and committing a probe entry after the faults stop, in
  // nominal ticks. Generous because a run may replicate one entry per message through a
  // window of 2 over slow links; every member must then catch up within 10x this.
  int liveness_ticks = 600;
  bool trace = false;        // keep a readable trace of the last `trace_events` events
  size_t trace_events = 300;
};

struct SimResult {
  bool ok = true;
  std::string failure;
  std::vector<std::string> trace;  // filled only with SimOptions::trace
  uint64_t acknowledged = 0;       // client proposals reported committed
  uint64_t max_term = 0;
  uint64_t snapshots_installed = 0;
  uint64_t reads_confirmed = 0;
  uint64_t config_changes = 0;
  uint64_t liveness_ticks = 0;  // ticks from heal to the committed probe proposal
};

SimResult RunSimulation(const SimOptions& options);

}  // namespace sluice::raft::sim
