#pragma once
// One consumer group of the classic protocol: members, generations and the rebalance state
// machine (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead), plus its committed
// offsets. Pure logic: time comes in as arguments (so tests drive it with a fake clock), answers
// leave through callbacks, and durable changes go through the `persist` hook. Not thread-safe:
// the coordinator calls it from its one thread.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "protocol/kafka/error_codes.h"

namespace sluice::broker::groups {

enum class GroupState { kEmpty, kPreparingRebalance, kCompletingRebalance, kStable, kDead };
const char* GroupStateName(GroupState state);

struct Protocol {
  std::string name;
  std::string metadata;
  bool operator==(const Protocol&) const = default;
};

struct JoinedMember {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string metadata;  // of the selected protocol
};

struct JoinResult {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  int32_t generation = -1;
  std::string protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  std::string member_id;
  bool skip_assignment = false;
  std::vector<JoinedMember> members;  // for the leader only
};

struct SyncResult {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  std::string protocol_type;
  std::optional<std::string> protocol_name;
  std::string assignment;
};

using JoinCallback = std::function<void(JoinResult)>;
using SyncCallback = std::function<void(SyncResult)>;

struct JoinParams {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<Protocol> protocols;
  bool require_known_member_id = false;  // JoinGroup v4+: new dynamic members get MEMBER_ID_REQUIRED
  bool supports_skip_assignment = false;  // JoinGroup v9+
};

struct SyncParams {
  std::string member_id;
  std::optional<std::string> instance_id;
  int32_t generation = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<std::pair<std::string, std::string>> assignments;  // member id, assignment
};

struct Member {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::vector<Protocol> protocols;
  std::string assignment;
  int64_t last_heartbeat_ms = 0;
  JoinCallback awaiting_join;  // set while its JoinGroup waits for the rebalance
  SyncCallback awaiting_sync;  // set while its SyncGroup waits for the leader

  const std::string* MetadataFor(const std::string& protocol) const;
};

struct CommittedOffset {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  int64_t commit_timestamp_ms = 0;
  int64_t expire_timestamp_ms = -1;  // from OffsetCommit v2-v4 retention_time_ms; -1 = by policy
};

using TopicPartition = std::pair<std::string, int32_t>;

struct GroupTimeouts {
  int64_t initial_rebalance_delay_ms = 3000;
  int32_t max_size = INT32_MAX;
};

class Group {
 public:
  // Writes the group's membership record; an error fails the operation that caused it.
  using Persist = std::function<absl::Status(const Group&)>;

  Group(std::string id, GroupTimeouts timeouts, Persist persist);

  void Join(JoinParams params, int64_t now_ms, JoinCallback done);
  void Sync(SyncParams params, int64_t now_ms, SyncCallback done);
  kafka::ErrorCode Heartbeat(const std::string& member_id, const std::optional<std::string>& instance_id,
                             int32_t generation, int64_t now_ms);
  kafka::ErrorCode Leave(const std::string& member_id, const std::optional<std::string>& instance_id, int64_t now_ms);
  // Whether an OffsetCommit from this member and generation may be written now.
  kafka::ErrorCode ValidateCommit(const std::string& member_id, const std::optional<std::string>& instance_id,
                                  int32_t generation, int64_t now_ms);
  // Whether a TxnOffsetCommit from this member and generation may be written (KIP-447): unlike
  // OffsetCommit it names no member (older clients) or one that is still in the group, and a
  // generation of -1 skips the generation check.
  kafka::ErrorCode ValidateTxnCommit(const std::string& member_id, const std::optional<std::string>& instance_id,
                                     int32_t generation) const;
  // Expires members and pending joins, ends rebalance delays and timeouts.
  void Tick(int64_t now_ms);
  // Answers every waiting request with `error` (the coordinator lost the group) and marks it Dead.
  void Unload(kafka::ErrorCode error);

  // Restores state replayed from the log: a group with members comes back Stable.
  void Restore(std::string protocol_type, int32_t generation, std::optional<std::string> protocol,
               std::optional<std::string> leader, int64_t state_timestamp_ms, std::vector<Member> members,
               int64_t now_ms);

  const std::string& id() const { return id_; }
  GroupState state() const { return state_; }
  int32_t generation() const { return generation_; }
  const std::string& protocol_type() const { return protocol_type_; }
  const std::optional<std::string>& protocol() const { return protocol_; }
  const std::string& leader() const { return leader_; }
  const std::map<std::string, Member>& members() const { return members_; }
  int64_t state_timestamp_ms() const { return state_timestamp_ms_; }
  // Members told MEMBER_ID_REQUIRED that have not rejoined yet.
  bool has_pending_members() const { return !pending_.empty(); }

  std::map<TopicPartition, CommittedOffset>& offsets() { return offsets_; }
  const std::map<TopicPartition, CommittedOffset>& offsets() const { return offsets_; }
  void MarkDead() { state_ = GroupState::kDead; }

 private:
  void JoinNewMember(JoinParams params, std::string member_id, int64_t now_ms, JoinCallback done);
  void JoinKnownMember(JoinParams params, int64_t now_ms, JoinCallback done);
  void ReplaceStaticMember(JoinParams params, std::string old_id, int64_t now_ms, JoinCallback done);
  bool ProtocolsCompatible(const JoinParams& params) const;
  void PrepareRebalance(int64_t now_ms);
  void TryCompleteJoin(int64_t now_ms);
  void CompleteJoin(int64_t now_ms);
  void RemoveMember(const std::string& member_id, int64_t now_ms);
  void MemberRemoved(int64_t now_ms);
  JoinResult CurrentGeneration(const Member& member, bool with_members) const;
  std::string SelectProtocol() const;
  void TransitionTo(GroupState state, int64_t now_ms);
  kafka::ErrorCode CheckInstance(const std::string& member_id, const std::optional<std::string>& instance_id) const;
  int32_t MaxRebalanceTimeoutMs() const;

  const std::string id_;
  const GroupTimeouts timeouts_;
  const Persist persist_;
  GroupState state_ = GroupState::kEmpty;
  int64_t state_timestamp_ms_ = 0;
  int32_t generation_ = 0;
  std::string protocol_type_;
  std::optional<std::string> protocol_;
  std::string leader_;
  std::map<std::string, Member> members_;
  std::map<std::string, std::string> static_members_;  // instance id -> member id
  std::map<std::string, int64_t> pending_;              // member ids issued by MEMBER_ID_REQUIRED -> expiry
  int64_t rebalance_deadline_ms_ = 0;
  int64_t initial_delay_until_ms_ = 0;  // > 0 while the initial rebalance delay runs
  int64_t initial_delay_limit_ms_ = 0;
  bool joined_during_delay_ = false;
  std::map<TopicPartition, CommittedOffset> offsets_;
};

}  // namespace sluice::broker::groups
