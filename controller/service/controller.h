#pragma once
// The controller's state machine: validates broker and admin requests against the metadata
// image, commits the resulting records to the metadata log, applies them, and serves brokers
// the records they have not seen. Not thread-safe: the service runs every call on one thread
// (the controller's event loop), which is also the only writer of the log.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "controller/service/metadata_log.h"
#include "protocol/metadata/controller_api.pb.h"
#include "protocol/metadata/image.h"

namespace sluice::controller {

struct ControllerOptions {
  int64_t broker_session_timeout_ms = 9000;
  int32_t producer_id_block_size = 1000;
};

class Controller {
 public:
  static absl::StatusOr<std::unique_ptr<Controller>> Open(const std::filesystem::path& dir, ControllerOptions options,
                                                          const Clock& clock);

  absl::StatusOr<metadata::RegisterBrokerResponse> RegisterBroker(const metadata::RegisterBrokerRequest& request);
  absl::StatusOr<metadata::BrokerHeartbeatResponse> Heartbeat(const metadata::BrokerHeartbeatRequest& request);
  absl::StatusOr<metadata::CreateTopicsResponse> CreateTopics(const metadata::CreateTopicsRequest& request);
  absl::StatusOr<metadata::DeleteTopicsResponse> DeleteTopics(const metadata::DeleteTopicsRequest& request);
  absl::StatusOr<metadata::CreatePartitionsResponse> CreatePartitions(const metadata::CreatePartitionsRequest& request);
  absl::StatusOr<metadata::AlterConfigsResponse> AlterConfigs(const metadata::AlterConfigsRequest& request);
  absl::StatusOr<metadata::AllocateProducerIdsResponse> AllocateProducerIds(
      const metadata::AllocateProducerIdsRequest& request);

  // Records after `after_offset`, or an empty response when there are none yet (the service
  // parks the call and retries it after the next commit or its deadline).
  absl::StatusOr<metadata::FetchMetadataResponse> FetchMetadata(int64_t after_offset) const;

  // Fences brokers whose heartbeat lease lapsed and moves their leaderships.
  absl::Status ExpireBrokerLeases();

  const metadata::MetadataImage& image() const { return image_; }

 private:
  Controller(std::unique_ptr<MetadataLog> log, ControllerOptions options, const Clock& clock);
  // Commits records atomically and applies them to the image; returns the last offset.
  absl::StatusOr<int64_t> Commit(const std::vector<metadata::Record>& records);
  // Leader changes for every partition whose leader is missing or no longer live.
  std::vector<metadata::Record> ElectLeaders(const std::vector<int32_t>& live) const;
  metadata::TopicResult ValidateNewTopic(const metadata::CreatableTopic& topic, int32_t default_partitions,
                                         int32_t default_replication, std::vector<std::vector<int32_t>>* assignment);

  std::unique_ptr<MetadataLog> log_;
  ControllerOptions options_;
  const Clock& clock_;
  metadata::MetadataImage image_;
  std::map<int32_t, int64_t> lease_deadline_ms_;  // broker id -> monotonic deadline
  std::mt19937 random_;
};

}  // namespace sluice::controller
