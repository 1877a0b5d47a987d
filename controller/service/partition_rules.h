#pragma once
// The rules every controller operation follows when it changes a partition's leader, ISR or
// replicas: leaders come from the ISR and never are replicas reported offline (or, where the topic allows unclean election, from any
// live replica, which then is the whole ISR); a fenced broker leaves every ISR, except that
// an ISR never becomes empty; the ISR always holds the leader; a new leader bumps the leader
// epoch and the partition epoch, any other change bumps the partition epoch.

#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "protocol/metadata/image.h"

namespace sluice::controller {

using metadata::PartitionRecord;

// Which brokers count as live while a change is planned: live in the image, plus those coming
// up and minus those going down in the same entry.
struct Liveness {
  const metadata::MetadataImage& image;
  std::set<int32_t> up = {};
  std::set<int32_t> down = {};
  bool operator()(int32_t broker_id) const;
};

bool Contains(const std::vector<int32_t>& ids, int32_t id);

// The topic's unclean.leader.election.enable, else the controller's default.
bool UncleanElectionAllowed(const metadata::TopicInfo& topic, bool cluster_default);

// `id` is live and has not reported the partition's log offline.
bool CanLead(const metadata::PartitionInfo& p, int32_t id, const Liveness& live);

// The first replica, in replica order, that is in the ISR and can lead; -1 if none.
int32_t IsrLeader(const metadata::PartitionInfo& p, const Liveness& live);

// Gives `p` a leader if it has no live one: from the ISR, else (when `unclean`) the first live
// replica, which becomes the sole ISR member; else leader -1.
metadata::PartitionInfo ElectIfLeaderless(metadata::PartitionInfo p, const Liveness& live, bool unclean);

// `after` with its epochs bumped for the change from `before`; nullopt when nothing changed.
std::optional<metadata::PartitionInfo> Bumped(const metadata::PartitionInfo& before, metadata::PartitionInfo after);


// The fence records for `brokers` plus, in the same list, every ISR shrink and leader move
// they force.
std::vector<metadata::Record> FenceBrokers(const metadata::MetadataImage& image, const std::set<int32_t>& brokers,
                                           bool unclean_default);

// What registering broker `id` changes in the partitions. A registration while an earlier
// one is still live (`replaces_live`: a restart within the lease) comes from a process whose
// log may lack what the old one held (a replaced volume, writes lost with the page cache): the
// broker leaves every ISR it shares and every leadership another in-sync replica can take, as
// if fenced, and rejoins as it catches up. Then every leaderless partition it can lead is
// elected.
std::vector<metadata::Record> RejoinBroker(const metadata::MetadataImage& image, int32_t id, bool replaces_live,
                                           bool unclean_default);

// Leader elections for every partition without a live leader that can now get one, with
// `live` deciding who is up.
std::vector<metadata::Record> ElectOfflineLeaders(const metadata::MetadataImage& image, const Liveness& live,
                                                  bool unclean_default);

// Finishes an ongoing reassignment once the ISR holds every target replica: replicas become
// the target, the ISR loses the removed ones and the leader moves if it was removed.
// Unchanged when the reassignment cannot complete yet.
metadata::PartitionInfo CompleteReassignmentIfDone(metadata::PartitionInfo p, const Liveness& live);

}  // namespace sluice::controller
