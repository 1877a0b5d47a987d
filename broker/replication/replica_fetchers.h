#pragma once
// The replica fetchers of one shard, one per leader its follower replicas follow. Shard only.

#include <cstdint>
#include <map>
#include <memory>

#include <asio/io_context.hpp>

#include "broker/replication/replica_context.h"

namespace sluice::broker {

class Partition;
class ReplicaFetcher;

class ReplicaFetchers {
 public:
  ReplicaFetchers(asio::io_context& shard, ReplicaContext& context) : shard_(shard), context_(context) {}

  // Fetches for `partition` from `leader`, moving it off the fetcher of a previous leader.
  void Follow(std::shared_ptr<Partition> partition, int32_t leader);
  void Remove(const Partition& partition);
  void Poke();
  void Stop();

 private:
  asio::io_context& shard_;
  ReplicaContext& context_;
  std::map<int32_t, std::shared_ptr<ReplicaFetcher>> by_leader_;
  std::map<const Partition*, int32_t> leader_of_;
};

}  // namespace sluice::broker
