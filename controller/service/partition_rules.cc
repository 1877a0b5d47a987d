#include "controller/service/partition_rules.h"

#include <algorithm>
#include <iterator>


namespace sluice::controller {

using metadata::PartitionInfo;
using metadata::PartitionRecord;
using metadata::Record;

bool Liveness::operator()(int32_t broker_id) const {
  if (down.count(broker_id)) return false;
  if (up.count(broker_id)) return true;
  const metadata::BrokerInfo* broker = image.FindBroker(broker_id);
  return broker != nullptr && !broker->fenced;
}

bool Contains(const std::vector<int32_t>& ids, int32_t id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

bool UncleanElectionAllowed(const metadata::TopicInfo& topic, bool cluster_default) {
  auto it = topic.configs.find("unclean.leader.election.enable");
  if (it == topic.configs.end()) return cluster_default;
  return it->second == "true";
}

bool CanLead(const PartitionInfo& p, int32_t id, const Liveness& live) {
  return id >= 0 && live(id) && !Contains(p.offline_replicas, id);
}

int32_t IsrLeader(const PartitionInfo& p, const Liveness& live) {
  for (int32_t id : p.replicas) {
    if (Contains(p.isr, id) && CanLead(p, id, live)) return id;
  }
  return -1;
}

PartitionInfo ElectIfLeaderless(PartitionInfo p, const Liveness& live, bool unclean) {
  if (CanLead(p, p.leader, live) && Contains(p.isr, p.leader)) return p;
  p.leader = IsrLeader(p, live);
  if (p.leader >= 0 || !unclean) return p;
  for (int32_t id : p.replicas) {
    if (CanLead(p, id, live)) {
      p.leader = id;
      p.isr = {id};
      break;
    }
  }
  return p;
}

std::optional<PartitionInfo> Bumped(const PartitionInfo& before, PartitionInfo after) {
  const bool leader_changed = after.leader != before.leader;
  const bool other_changed = after.isr != before.isr || after.replicas != before.replicas ||
                             after.adding_replicas != before.adding_replicas ||
                             after.removing_replicas != before.removing_replicas ||
                             after.offline_replicas != before.offline_replicas;
  if (!leader_changed && !other_changed) return std::nullopt;
  after.leader_epoch = before.leader_epoch + (leader_changed ? 1 : 0);
  after.partition_epoch = before.partition_epoch + 1;
  return after;
}

std::vector<Record> FenceBrokers(const metadata::MetadataImage& image, const std::set<int32_t>& brokers,
                                 bool unclean_default) {
  std::vector<Record> records;
  for (int32_t id : brokers) {
    const metadata::BrokerInfo* broker = image.FindBroker(id);
    if (broker == nullptr || broker->fenced) continue;
    Record record;
    record.mutable_broker_fenced()->set_broker_id(id);
    record.mutable_broker_fenced()->set_broker_epoch(broker->epoch);
    records.push_back(std::move(record));
  }
  const Liveness live{.image = image, .down = brokers};
  for (const auto& [name, topic] : image.topics()) {
    const bool unclean = UncleanElectionAllowed(*topic, unclean_default);
    for (const PartitionInfo& p : topic->partitions) {
      PartitionInfo after = p;
      std::vector<int32_t> remaining;
      std::copy_if(p.isr.begin(), p.isr.end(), std::back_inserter(remaining),
                   [&](int32_t member) { return !brokers.count(member); });
      if (remaining.size() != p.isr.size()) {
        if (remaining.empty()) {
          // The last in-sync replica stays the ISR, so it is elected again when it returns
          // instead of the partition waiting for an unclean election.
          after.isr = {Contains(p.isr, p.leader) ? p.leader : p.isr.front()};
        } else {
          after.isr = std::move(remaining);
        }
      }
      if (brokers.count(after.leader) || (after.leader >= 0 && !Contains(after.isr, after.leader))) after.leader = -1;
      after = ElectIfLeaderless(std::move(after), live, unclean);
      if (auto changed = Bumped(p, std::move(after))) records.push_back(PartitionRecord(topic->id, *changed));
    }
  }
  return records;
}

std::vector<Record> RejoinBroker(const metadata::MetadataImage& image, int32_t id, bool replaces_live,
                                 bool unclean_default) {
  std::vector<Record> records;
  const Liveness others{.image = image, .down = {id}};
  const Liveness with_it{.image = image, .up = {id}};
  for (const auto& [name, topic] : image.topics()) {
    const bool unclean = UncleanElectionAllowed(*topic, unclean_default);
    for (const PartitionInfo& p : topic->partitions) {
      PartitionInfo after = p;
      if (replaces_live && Contains(p.isr, id) && p.isr.size() > 1) {
        PartitionInfo shed = p;
        std::erase(shed.isr, id);
        if (shed.leader == id) shed.leader = -1;
        shed = ElectIfLeaderless(std::move(shed), others, /*unclean=*/false);
        // Nobody else in sync can lead: the returning broker keeps what it had.
        if (shed.leader >= 0) after = std::move(shed);
      }
      if (!CanLead(after, after.leader, with_it)) {
        PartitionInfo elected = after;
        elected.leader = -1;
        elected = ElectIfLeaderless(std::move(elected), with_it, unclean);
        if (elected.leader >= 0) after = std::move(elected);
      }
      if (auto changed = Bumped(p, std::move(after))) records.push_back(PartitionRecord(topic->id, *changed));
    }
  }
  return records;
}

std::vector<Record> ElectOfflineLeaders(const metadata::MetadataImage& image, const Liveness& live,
                                        bool unclean_default) {
  std::vector<Record> records;
  for (const auto& [name, topic] : image.topics()) {
    const bool unclean = UncleanElectionAllowed(*topic, unclean_default);
    for (const PartitionInfo& p : topic->partitions) {
      if (CanLead(p, p.leader, live)) continue;
      PartitionInfo after = p;
      after.leader = -1;
      after = ElectIfLeaderless(std::move(after), live, unclean);
      if (after.leader < 0) continue;  // still nobody to lead: leave the record as it is
      if (auto changed = Bumped(p, std::move(after))) records.push_back(PartitionRecord(topic->id, *changed));
    }
  }
  return records;
}

PartitionInfo CompleteReassignmentIfDone(PartitionInfo p, const Liveness& live) {
  if (p.adding_replicas.empty() && p.removing_replicas.empty()) return p;
  std::vector<int32_t> target;
  for (int32_t id : p.replicas) {
    if (!Contains(p.removing_replicas, id)) target.push_back(id);
  }
  if (!std::all_of(target.begin(), target.end(), [&](int32_t id) { return Contains(p.isr, id); })) return p;
  PartitionInfo done = p;
  done.replicas = target;
  done.isr.clear();
  for (int32_t id : p.isr) {
    if (Contains(target, id)) done.isr.push_back(id);
  }
  done.adding_replicas.clear();
  done.removing_replicas.clear();
  if (!Contains(target, done.leader)) {
    done.leader = IsrLeader(done, live);
    // Moving off a removed leader needs a live target replica to lead; until one is live the
    // reassignment stays open rather than leave the partition leaderless.
    if (done.leader < 0) return p;
  }
  return done;
}

}  // namespace sluice::controller
