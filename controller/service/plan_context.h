#pragma once
// What a controller operation plans against: the committed image plus the records of the
// requests before it in the same Raft entry, the controller's settings, and randomness for
// ids and placement. A plan appends the records that carry out the request and returns the
// answer the caller gets once they are committed.

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "protocol/metadata/image.h"

namespace sluice::controller {

struct ControllerOptions {
  int32_t node_id = 3000;
  int64_t broker_session_timeout_ms = 9000;
  int32_t producer_id_block_size = 1000;
  bool unclean_leader_election = false;  // cluster default of unclean.leader.election.enable
  bool auto_leader_rebalance = true;
  int64_t leader_imbalance_check_interval_ms = 300'000;
  int32_t leader_imbalance_per_broker_percentage = 10;
  // Committed entries kept in memory for FetchMetadata; a broker further behind gets the image.
  size_t fetch_tail_entries = 10'000;
  // scram.bootstrap.credentials: written once, by the first leader of a new metadata log.
  std::vector<metadata::UserScramCredential> scram_bootstrap;
};

struct PlanContext {
  const metadata::MetadataImage& image;
  const ControllerOptions& options;
  std::mt19937_64& random;
  std::vector<metadata::Record>& records;
};

}  // namespace sluice::controller
