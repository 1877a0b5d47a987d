#include "broker/replication/replica_fetchers.h"

#include "broker/replication/replica_fetcher.h"

namespace sluice::broker {

void ReplicaFetchers::Follow(std::shared_ptr<Partition> partition, int32_t leader) {
  Remove(*partition);
  auto& fetcher = by_leader_[leader];
  if (!fetcher) fetcher = std::make_shared<ReplicaFetcher>(shard_, leader, context_);
  leader_of_[partition.get()] = leader;
  fetcher->Add(std::move(partition));
}

void ReplicaFetchers::Remove(const Partition& partition) {
  auto it = leader_of_.find(&partition);
  if (it == leader_of_.end()) return;
  auto fetcher = by_leader_.find(it->second);
  leader_of_.erase(it);
  if (fetcher == by_leader_.end()) return;
  fetcher->second->Remove(partition);
  if (fetcher->second->empty()) {
    fetcher->second->Stop();
    by_leader_.erase(fetcher);
  }
}

void ReplicaFetchers::Poke() {
  for (auto& [leader, fetcher] : by_leader_) fetcher->Poke();
}

void ReplicaFetchers::Stop() {
  for (auto& [leader, fetcher] : by_leader_) fetcher->Stop();
  by_leader_.clear();
  leader_of_.clear();
}

}  // namespace sluice::broker
