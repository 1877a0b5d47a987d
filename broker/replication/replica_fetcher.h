#pragma once
// Fetches, for the follower replicas of one shard whose leader is one broker, what that leader
// appended, with the Kafka Fetch API (replica id and broker epoch in ReplicaState), and hands
// each partition's answer to its replica. One request in flight; the next goes out as soon as
// the answer is applied, and the leader parks it until it has something new
// (replica.fetch.wait.max.ms). Shard only.

#include <cstdint>
#include <map>
#include <memory>
#include <utility>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "broker/cluster/partition.h"
#include "broker/replication/leader_connection.h"
#include "broker/replication/replica_context.h"

namespace sluice::broker {

class ReplicaFetcher : public std::enable_shared_from_this<ReplicaFetcher> {
 public:
  ReplicaFetcher(asio::io_context& shard, int32_t leader, ReplicaContext& context);

  void Add(std::shared_ptr<Partition> partition);
  void Remove(const Partition& partition);
  bool empty() const { return members_.empty(); }
  // A replica that was paused (truncating) may be fetched for again.
  void Poke();
  void Stop();

 private:
  using Key = std::pair<metadata::TopicId, int32_t>;
  struct Member {
    std::shared_ptr<Partition> partition;
    int64_t retry_after_ms = 0;  // monotonic; left out of fetches until then
    int64_t backoff_ms = 0;      // the next pause after a refused fetch; 0 after a good one
  };

  void MaybeFetch();
  // A replica joined (or resumed) while a fetch is parked at the leader for up to
  // replica.fetch.wait.max.ms: abandon that fetch and send one that includes it. Posted, so
  // that the replicas one metadata change adds all make the same new fetch.
  void RestartFetch();
  void OnResponse(absl::StatusOr<std::string_view> frame, int32_t correlation_id, int16_t version,
                  std::shared_ptr<std::map<Key, Partition::FetchPosition>> sent);
  void BackOffAll();
  void ArmRetry(int64_t at_ms);

  asio::io_context& shard_;
  const int32_t leader_;
  ReplicaContext& context_;
  std::map<Key, Member> members_;
  std::shared_ptr<LeaderConnection> connection_;
  asio::steady_timer retry_timer_;
  bool retry_armed_ = false;
  bool in_flight_ = false;
  bool restart_posted_ = false;
  bool stopped_ = false;
  int32_t next_correlation_id_ = 1;
  int64_t last_error_log_ms_ = INT64_MIN / 2;
};

}  // namespace sluice::broker
