#include "broker/groups/group.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "common/absl_compat.h"
#include "common/log.h"

namespace sluice::broker::groups {
namespace {

using kafka::ErrorCode;

std::string NewMemberId(const std::string& prefix) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{}-{:016x}{:016x}", prefix, random(), random());
}

}  // namespace

const char* GroupStateName(GroupState state) {
  switch (state) {
    case GroupState::kEmpty: return "Empty";
    case GroupState::kPreparingRebalance: return "PreparingRebalance";
    case GroupState::kCompletingRebalance: return "CompletingRebalance";
    case GroupState::kStable: return "Stable";
    case GroupState::kDead: return "Dead";
  }
  return "Unknown";
}

const std::string* Member::MetadataFor(const std::string& protocol) const {
  for (const auto& p : protocols) {
    if (p.name == protocol) return &p.metadata;
  }
  return nullptr;
}

Group::Group(std::string id, GroupTimeouts timeouts, Persist persist)
    : id_(std::move(id)), timeouts_(timeouts), persist_(std::move(persist)) {}

void Group::TransitionTo(GroupState state, int64_t now_ms) {
  state_ = state;
  state_timestamp_ms_ = now_ms;
}

ErrorCode Group::CheckInstance(const std::string& member_id, const std::optional<std::string>& instance_id) const {
  if (!instance_id) return ErrorCode::kNone;
  auto it = static_members_.find(*instance_id);
  if (it != static_members_.end() && it->second != member_id) return ErrorCode::kFencedInstanceId;
  return ErrorCode::kNone;
}

bool Group::ProtocolsCompatible(const JoinParams& params) const {
  if (params.protocol_type.empty() || params.protocols.empty()) return false;
  if (members_.empty()) return true;
  if (params.protocol_type != protocol_type_) return false;
  // Some protocol must be supported by every other member and by the joining one.
  for (const auto& candidate : params.protocols) {
    bool everyone = true;
    for (const auto& [id, member] : members_) {
      if (id != params.member_id && member.MetadataFor(candidate.name) == nullptr) everyone = false;
    }
    if (everyone) return true;
  }
  return false;
}

int32_t Group::MaxRebalanceTimeoutMs() const {
  int32_t max = 0;
  for (const auto& [id, member] : members_) max = std::max(max, member.rebalance_timeout_ms);
  return max;
}

void Group::Join(JoinParams params, int64_t now_ms, JoinCallback done) {
  auto fail = [&](ErrorCode error) {
    JoinResult result;
    result.error = error;
    result.member_id = params.member_id;
    done(std::move(result));
  };
  if (state_ == GroupState::kDead) return fail(ErrorCode::kCoordinatorNotAvailable);
  const bool known = !params.member_id.empty() && (members_.count(params.member_id) || pending_.count(params.member_id));
  if (!params.member_id.empty() && !known) {
    return fail(params.instance_id && static_members_.count(*params.instance_id) ? ErrorCode::kFencedInstanceId
                                                                                 : ErrorCode::kUnknownMemberId);
  }
  if (!ProtocolsCompatible(params)) return fail(ErrorCode::kInconsistentGroupProtocol);
  if (params.member_id.empty()) {
    if (params.instance_id) {
      if (auto it = static_members_.find(*params.instance_id); it != static_members_.end()) {
        return ReplaceStaticMember(std::move(params), it->second, now_ms, std::move(done));
      }
    }
    if (static_cast<int64_t>(members_.size() + pending_.size()) >= timeouts_.max_size) {
      return fail(ErrorCode::kGroupMaxSizeReached);
    }
    std::string member_id = NewMemberId(params.client_id);
    if (!params.instance_id && params.require_known_member_id) {
      pending_[member_id] = now_ms + params.session_timeout_ms;
      JoinResult result;
      result.error = ErrorCode::kMemberIdRequired;
      result.member_id = member_id;
      return done(std::move(result));
    }
    return JoinNewMember(std::move(params), std::move(member_id), now_ms, std::move(done));
  }
  if (pending_.erase(params.member_id)) {
    std::string member_id = params.member_id;
    return JoinNewMember(std::move(params), std::move(member_id), now_ms, std::move(done));
  }
  if (ErrorCode fenced = CheckInstance(params.member_id, params.instance_id); fenced != ErrorCode::kNone) {
    return fail(fenced);
  }
  JoinKnownMember(std::move(params), now_ms, std::move(done));
}

void Group::JoinNewMember(JoinParams params, std::string member_id, int64_t now_ms, JoinCallback done) {
  if (members_.empty()) protocol_type_ = params.protocol_type;
  Member& member = members_[member_id];
  member.member_id = member_id;
  member.instance_id = params.instance_id;
  member.client_id = std::move(params.client_id);
  member.client_host = std::move(params.client_host);
  member.session_timeout_ms = params.session_timeout_ms;
  member.rebalance_timeout_ms = params.rebalance_timeout_ms;
  member.protocols = std::move(params.protocols);
  member.last_heartbeat_ms = now_ms;
  member.awaiting_join = std::move(done);
  if (member.instance_id) static_members_[*member.instance_id] = member_id;
  if (leader_.empty()) leader_ = member_id;
  if (initial_delay_until_ms_ > 0) joined_during_delay_ = true;
  if (state_ == GroupState::kPreparingRebalance) return TryCompleteJoin(now_ms);
  PrepareRebalance(now_ms);
}

void Group::JoinKnownMember(JoinParams params, int64_t now_ms, JoinCallback done) {
  if (state_ == GroupState::kEmpty) {
    JoinResult result;
    result.error = ErrorCode::kUnknownMemberId;
    result.member_id = params.member_id;
    return done(std::move(result));
  }
  Member& member = members_.at(params.member_id);
  member.last_heartbeat_ms = now_ms;
  const bool unchanged = member.protocols == params.protocols;
  const bool is_leader = member.member_id == leader_;
  if ((state_ == GroupState::kCompletingRebalance && unchanged) ||
      (state_ == GroupState::kStable && unchanged && !is_leader)) {
    // Nothing changed: answer with the current generation (a retried or duplicate join).
    return done(CurrentGeneration(member, is_leader));
  }
  member.protocols = std::move(params.protocols);
  member.session_timeout_ms = params.session_timeout_ms;
  member.rebalance_timeout_ms = params.rebalance_timeout_ms;
  if (member.awaiting_join) {
    JoinResult superseded;
    superseded.error = ErrorCode::kUnknownMemberId;
    member.awaiting_join(std::move(superseded));
  }
  member.awaiting_join = std::move(done);
  if (state_ == GroupState::kPreparingRebalance) return TryCompleteJoin(now_ms);
  PrepareRebalance(now_ms);
}

void Group::ReplaceStaticMember(JoinParams params, std::string old_id, int64_t now_ms, JoinCallback done) {
  Member member = std::move(members_.at(old_id));
  members_.erase(old_id);
  // The old incarnation is fenced: anything it still waits for is answered now.
  if (member.awaiting_join) {
    JoinResult fenced;
    fenced.error = ErrorCode::kFencedInstanceId;
    fenced.member_id = old_id;
    member.awaiting_join(std::move(fenced));
    member.awaiting_join = nullptr;
  }
  if (member.awaiting_sync) {
    SyncResult fenced;
    fenced.error = ErrorCode::kFencedInstanceId;
    member.awaiting_sync(std::move(fenced));
    member.awaiting_sync = nullptr;
  }
  const std::string new_id = NewMemberId(params.client_id);
  const bool unchanged = member.protocols == params.protocols;
  member.member_id = new_id;
  member.client_id = std::move(params.client_id);
  member.client_host = std::move(params.client_host);
  member.session_timeout_ms = params.session_timeout_ms;
  member.rebalance_timeout_ms = params.rebalance_timeout_ms;
  member.last_heartbeat_ms = now_ms;
  static_members_[*member.instance_id] = new_id;
  if (leader_ == old_id) leader_ = new_id;
  Member& placed = members_[new_id] = std::move(member);
  if (state_ == GroupState::kStable && unchanged) {
    // KIP-345: a known instance restarting with the same subscription keeps the generation
    // and its assignment; no rebalance.
    if (absl::Status status = persist_(*this); !status.ok()) {
      log::Warn("group {}: cannot persist static member replacement: {}", id_, status);
    }
    const bool is_leader = leader_ == new_id;
    JoinResult result = CurrentGeneration(placed, is_leader && params.supports_skip_assignment);
    result.skip_assignment = is_leader && params.supports_skip_assignment;
    return done(std::move(result));
  }
  placed.protocols = std::move(params.protocols);
  placed.awaiting_join = std::move(done);
  if (state_ == GroupState::kPreparingRebalance) return TryCompleteJoin(now_ms);
  PrepareRebalance(now_ms);
}

JoinResult Group::CurrentGeneration(const Member& member, bool with_members) const {
  JoinResult result;
  result.generation = generation_;
  result.protocol_type = protocol_type_;
  result.protocol_name = protocol_;
  result.leader = leader_;
  result.member_id = member.member_id;
  if (with_members && protocol_) {
    for (const auto& [id, m] : members_) {
      const std::string* metadata = m.MetadataFor(*protocol_);
      result.members.push_back({id, m.instance_id, metadata ? *metadata : std::string()});
    }
  }
  return result;
}

void Group::PrepareRebalance(int64_t now_ms) {
  if (state_ == GroupState::kCompletingRebalance) {
    for (auto& [id, member] : members_) {
      member.assignment.clear();
      if (member.awaiting_sync) {
        SyncResult result;
        result.error = ErrorCode::kRebalanceInProgress;
        std::exchange(member.awaiting_sync, nullptr)(std::move(result));
      }
    }
  }
  const int32_t rebalance_timeout = MaxRebalanceTimeoutMs();
  if (state_ == GroupState::kEmpty && timeouts_.initial_rebalance_delay_ms > 0) {
    // A fresh group waits a little so that members starting together land in one generation.
    initial_delay_limit_ms_ = now_ms + rebalance_timeout;
    initial_delay_until_ms_ = now_ms + std::min<int64_t>(timeouts_.initial_rebalance_delay_ms, rebalance_timeout);
    joined_during_delay_ = false;
  }
  rebalance_deadline_ms_ = now_ms + rebalance_timeout;
  TransitionTo(GroupState::kPreparingRebalance, now_ms);
  TryCompleteJoin(now_ms);
}

void Group::TryCompleteJoin(int64_t now_ms) {
  if (state_ != GroupState::kPreparingRebalance || initial_delay_until_ms_ > 0) return;
  if (!pending_.empty()) return;
  for (const auto& [id, member] : members_) {
    if (!member.awaiting_join) return;
  }
  CompleteJoin(now_ms);
}

std::string Group::SelectProtocol() const {
  // Each member votes for its most preferred protocol among those every member supports.
  std::vector<std::string> candidates;
  for (const auto& p : members_.begin()->second.protocols) {
    bool everyone = std::all_of(members_.begin(), members_.end(),
                                [&](const auto& entry) { return entry.second.MetadataFor(p.name) != nullptr; });
    if (everyone) candidates.push_back(p.name);
  }
  std::map<std::string, int> votes;
  for (const auto& [id, member] : members_) {
    for (const auto& p : member.protocols) {
      if (std::find(candidates.begin(), candidates.end(), p.name) != candidates.end()) {
        ++votes[p.name];
        break;
      }
    }
  }
  std::string best;
  int best_votes = -1;
  for (const auto& name : candidates) {
    if (votes[name] > best_votes) best = name, best_votes = votes[name];
  }
  return best;
}

void Group::CompleteJoin(int64_t now_ms) {
  initial_delay_until_ms_ = 0;
  // Dynamic members that did not rejoin in time are gone; static ones keep their place until
  // their session expires (they may be restarting).
  for (auto it = members_.begin(); it != members_.end();) {
    if (!it->second.awaiting_join && !it->second.instance_id) {
      if (leader_ == it->first) leader_.clear();
      it = members_.erase(it);
    } else {
      ++it;
    }
  }
  const bool any_rejoined = std::any_of(members_.begin(), members_.end(),
                                        [](const auto& entry) { return entry.second.awaiting_join != nullptr; });
  if (!members_.empty() && !any_rejoined) {
    // Only static members that did not rejoin are left: a generation without them would have
    // no leader to sync it, and would be followed by another one every rebalance timeout
    // until their sessions expire. As Kafka does, keep preparing for another rebalance
    // timeout; an expiring session (Tick) removes them and ends the rebalance.
    rebalance_deadline_ms_ = now_ms + MaxRebalanceTimeoutMs();
    return;
  }
  ++generation_;
  if (members_.empty()) {
    protocol_.reset();
    leader_.clear();
    TransitionTo(GroupState::kEmpty, now_ms);
    if (absl::Status status = persist_(*this); !status.ok()) {
      log::Warn("group {}: cannot persist empty generation {}: {}", id_, generation_, status);
    }
    return;
  }
  protocol_ = SelectProtocol();
  if (leader_.empty() || !members_.at(leader_).awaiting_join) {
    for (const auto& [id, member] : members_) {
      if (member.awaiting_join) {
        leader_ = id;
        break;
      }
    }
  }
  TransitionTo(GroupState::kCompletingRebalance, now_ms);
  rebalance_deadline_ms_ = now_ms + MaxRebalanceTimeoutMs();
  for (auto& [id, member] : members_) {
    member.assignment.clear();
    if (!member.awaiting_join) continue;
    member.last_heartbeat_ms = now_ms;
    JoinResult result = CurrentGeneration(member, id == leader_);
    std::exchange(member.awaiting_join, nullptr)(std::move(result));
  }
}

void Group::Sync(SyncParams params, int64_t now_ms, SyncCallback done) {
  auto fail = [&](ErrorCode error) {
    SyncResult result;
    result.error = error;
    done(std::move(result));
  };
  if (state_ == GroupState::kDead) return fail(ErrorCode::kCoordinatorNotAvailable);
  if (ErrorCode fenced = CheckInstance(params.member_id, params.instance_id); fenced != ErrorCode::kNone) {
    return fail(fenced);
  }
  auto it = members_.find(params.member_id);
  if (it == members_.end()) return fail(ErrorCode::kUnknownMemberId);
  if (params.generation != generation_) return fail(ErrorCode::kIllegalGeneration);
  if ((params.protocol_type && *params.protocol_type != protocol_type_) ||
      (params.protocol_name && *params.protocol_name != protocol_.value_or(""))) {
    return fail(ErrorCode::kInconsistentGroupProtocol);
  }
  Member& member = it->second;
  member.last_heartbeat_ms = now_ms;
  if (state_ == GroupState::kPreparingRebalance) return fail(ErrorCode::kRebalanceInProgress);
  if (state_ == GroupState::kStable) {
    return done({.protocol_type = protocol_type_, .protocol_name = protocol_, .assignment = member.assignment});
  }
  if (state_ != GroupState::kCompletingRebalance) return fail(ErrorCode::kUnknownMemberId);
  member.awaiting_sync = std::move(done);
  if (params.member_id != leader_) return;
  for (auto& [id, m] : members_) m.assignment.clear();
  for (auto& [id, assignment] : params.assignments) {
    if (auto target = members_.find(id); target != members_.end()) target->second.assignment = std::move(assignment);
  }
  absl::Status status = persist_(*this);
  if (!status.ok()) {
    log::Warn("group {}: cannot persist generation {}: {}", id_, generation_, status);
    for (auto& [id, m] : members_) {
      m.assignment.clear();
      if (m.awaiting_sync) {
        SyncResult result;
        result.error = ErrorCode::kCoordinatorNotAvailable;
        std::exchange(m.awaiting_sync, nullptr)(std::move(result));
      }
    }
    return PrepareRebalance(now_ms);
  }
  TransitionTo(GroupState::kStable, now_ms);
  for (auto& [id, m] : members_) {
    if (!m.awaiting_sync) continue;
    SyncResult result{.protocol_type = protocol_type_, .protocol_name = protocol_, .assignment = m.assignment};
    std::exchange(m.awaiting_sync, nullptr)(std::move(result));
  }
}

ErrorCode Group::Heartbeat(const std::string& member_id, const std::optional<std::string>& instance_id,
                           int32_t generation, int64_t now_ms) {
  if (state_ == GroupState::kDead) return ErrorCode::kCoordinatorNotAvailable;
  if (ErrorCode fenced = CheckInstance(member_id, instance_id); fenced != ErrorCode::kNone) return fenced;
  auto it = members_.find(member_id);
  if (it == members_.end() || state_ == GroupState::kEmpty) return ErrorCode::kUnknownMemberId;
  if (generation != generation_) return ErrorCode::kIllegalGeneration;
  it->second.last_heartbeat_ms = now_ms;
  return state_ == GroupState::kPreparingRebalance ? ErrorCode::kRebalanceInProgress : ErrorCode::kNone;
}

ErrorCode Group::Leave(const std::string& member_id, const std::optional<std::string>& instance_id, int64_t now_ms) {
  if (state_ == GroupState::kDead) return ErrorCode::kCoordinatorNotAvailable;
  std::string target = member_id;
  if (instance_id) {
    auto it = static_members_.find(*instance_id);
    if (it == static_members_.end()) return ErrorCode::kUnknownMemberId;
    // KIP-345 admin removal names only the instance (empty member id).
    if (!member_id.empty() && it->second != member_id) return ErrorCode::kFencedInstanceId;
    target = it->second;
  }
  if (pending_.erase(target)) return ErrorCode::kNone;
  if (!members_.count(target)) return ErrorCode::kUnknownMemberId;
  RemoveMember(target, now_ms);
  return ErrorCode::kNone;
}

void Group::RemoveMember(const std::string& member_id, int64_t now_ms) {
  auto it = members_.find(member_id);
  Member member = std::move(it->second);
  members_.erase(it);
  if (member.instance_id) static_members_.erase(*member.instance_id);
  if (member.awaiting_join) {
    JoinResult gone;
    gone.error = ErrorCode::kUnknownMemberId;
    member.awaiting_join(std::move(gone));
  }
  if (member.awaiting_sync) {
    SyncResult gone;
    gone.error = ErrorCode::kUnknownMemberId;
    member.awaiting_sync(std::move(gone));
  }
  if (leader_ == member_id) leader_ = members_.empty() ? std::string() : members_.begin()->first;
  MemberRemoved(now_ms);
}

void Group::MemberRemoved(int64_t now_ms) {
  switch (state_) {
    case GroupState::kStable:
    case GroupState::kCompletingRebalance: PrepareRebalance(now_ms); break;
    case GroupState::kPreparingRebalance: TryCompleteJoin(now_ms); break;
    default: break;
  }
}

ErrorCode Group::ValidateCommit(const std::string& member_id, const std::optional<std::string>& instance_id,
                                int32_t generation, int64_t now_ms) {
  if (state_ == GroupState::kDead) return ErrorCode::kCoordinatorNotAvailable;
  if (ErrorCode fenced = CheckInstance(member_id, instance_id); fenced != ErrorCode::kNone) return fenced;
  // A consumer outside any group (assign() + commit) uses generation -1 on an empty group.
  if (generation < 0 && state_ == GroupState::kEmpty) return ErrorCode::kNone;
  if (state_ == GroupState::kCompletingRebalance) return ErrorCode::kRebalanceInProgress;
  auto it = members_.find(member_id);
  if (it == members_.end()) return ErrorCode::kUnknownMemberId;
  if (generation != generation_) return ErrorCode::kIllegalGeneration;
  it->second.last_heartbeat_ms = now_ms;
  return ErrorCode::kNone;
}

ErrorCode Group::ValidateTxnCommit(const std::string& member_id, const std::optional<std::string>& instance_id,
                                   int32_t generation) const {
  if (state_ == GroupState::kDead) return ErrorCode::kCoordinatorNotAvailable;
  if (ErrorCode fenced = CheckInstance(member_id, instance_id); fenced != ErrorCode::kNone) return fenced;
  if (!member_id.empty() && members_.count(member_id) == 0) return ErrorCode::kUnknownMemberId;
  if (generation >= 0 && generation != generation_) return ErrorCode::kIllegalGeneration;
  return ErrorCode::kNone;
}

void Group::Tick(int64_t now_ms) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = it->second <= now_ms ? pending_.erase(it) : std::next(it);
  }
  std::vector<std::string> expired;
  for (const auto& [id, member] : members_) {
    const bool waiting = member.awaiting_join || member.awaiting_sync;
    if (!waiting && member.last_heartbeat_ms + member.session_timeout_ms <= now_ms) expired.push_back(id);
  }
  for (const auto& id : expired) {
    log::Info("group {}: member {} session expired", id_, id);
    RemoveMember(id, now_ms);
  }
  if (state_ == GroupState::kPreparingRebalance) {
    if (initial_delay_until_ms_ > 0 && now_ms >= initial_delay_until_ms_) {
      if (joined_during_delay_ && now_ms < initial_delay_limit_ms_) {
        joined_during_delay_ = false;
        initial_delay_until_ms_ =
            std::min<int64_t>(now_ms + timeouts_.initial_rebalance_delay_ms, initial_delay_limit_ms_);
      } else {
        initial_delay_until_ms_ = 0;
        TryCompleteJoin(now_ms);
      }
    }
    if (state_ == GroupState::kPreparingRebalance && now_ms >= rebalance_deadline_ms_) CompleteJoin(now_ms);
  } else if (state_ == GroupState::kCompletingRebalance && now_ms >= rebalance_deadline_ms_) {
    log::Info("group {}: leader {} did not sync generation {} in time; rebalancing", id_, leader_, generation_);
    PrepareRebalance(now_ms);
  }
}

void Group::Unload(ErrorCode error) {
  for (auto& [id, member] : members_) {
    if (member.awaiting_join) {
      JoinResult result;
      result.error = error;
      std::exchange(member.awaiting_join, nullptr)(std::move(result));
    }
    if (member.awaiting_sync) {
      SyncResult result;
      result.error = error;
      std::exchange(member.awaiting_sync, nullptr)(std::move(result));
    }
  }
  state_ = GroupState::kDead;
}

void Group::Restore(std::string protocol_type, int32_t generation, std::optional<std::string> protocol,
                    std::optional<std::string> leader, int64_t state_timestamp_ms, std::vector<Member> members,
                    int64_t now_ms) {
  protocol_type_ = std::move(protocol_type);
  generation_ = generation;
  protocol_ = std::move(protocol);
  leader_ = leader.value_or("");
  members_.clear();
  static_members_.clear();
  for (auto& member : members) {
    member.last_heartbeat_ms = now_ms;  // restored members get a full session to come back
    if (member.instance_id) static_members_[*member.instance_id] = member.member_id;
    std::string id = member.member_id;
    members_[id] = std::move(member);
  }
  state_ = members_.empty() ? GroupState::kEmpty : GroupState::kStable;
  state_timestamp_ms_ = members_.empty() ? state_timestamp_ms : now_ms;
}

}  // namespace sluice::broker::groups
