#include "broker/groups/group_coordinator.h"

#include <future>

#include <asio/post.hpp>

#include "broker/groups/coordinator_key.h"
#include "broker/groups/group_records.h"
#include "common/absl_compat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "protocol/kafka/batch/record_batch_builder.h"

namespace sluice::broker::groups {
namespace {

using kafka::ErrorCode;

// Session expiry, rebalance delays and leadership changes are noticed within one tick.
constexpr auto kTickInterval = std::chrono::milliseconds(50);
// A partition whose leadership the image shows but its owner has not taken yet is retried soon.
constexpr int64_t kLoadRetryMs = 200;

std::string GroupKey(const std::string& group_id) {
  return EncodeKey({.kind = RecordKind::kGroup, .group_id = group_id});
}

std::string OffsetKey(const std::string& group_id, const TopicPartition& tp) {
  return EncodeKey({.kind = RecordKind::kOffset, .group_id = group_id, .topic = tp.first, .partition = tp.second});
}

}  // namespace

CoordinatorOptions CoordinatorOptions::FromConfig(int32_t broker_id, const config::Properties& config) {
  CoordinatorOptions o;
  o.broker_id = broker_id;
  o.offsets_topic_partitions = config.GetInt("offsets.topic.num.partitions");
  o.offsets_topic_replication_factor = static_cast<int16_t>(config.GetInt("offsets.topic.replication.factor"));
  o.initial_rebalance_delay_ms = config.GetLong("group.initial.rebalance.delay.ms");
  o.min_session_timeout_ms = config.GetInt("group.min.session.timeout.ms");
  o.max_session_timeout_ms = config.GetInt("group.max.session.timeout.ms");
  o.offsets_retention_ms = config.GetLong("offsets.retention.minutes") * 60'000;
  o.retention_check_interval_ms = config.GetLong("offsets.retention.check.interval.ms");
  o.max_group_size = config.GetInt("group.max.size");
  o.offsets_commit_timeout_ms = config.GetLong("offsets.commit.timeout.ms");
  return o;
}

GroupCoordinator::GroupCoordinator(CoordinatorOptions options, MetadataCache& metadata, PartitionManager& partitions,
                                   ControllerLink& controller, const Clock& clock)
    : options_(options),
      metadata_(metadata),
      partitions_(partitions),
      controller_(controller),
      clock_(clock),
      work_(asio::make_work_guard(io_)),
      tick_timer_(io_),
      loader_work_(asio::make_work_guard(loader_io_)) {}

GroupCoordinator::~GroupCoordinator() { Stop(); }

void GroupCoordinator::Start() {
  next_retention_check_ms_ = clock_.NowMs() + options_.retention_check_interval_ms;
  loader_thread_ = std::thread([this] { loader_io_.run(); });
  thread_ = std::thread([this] { io_.run(); });
  Post([this] { Tick(); });
}

void GroupCoordinator::Stop() {
  if (stopping_.exchange(true)) return;
  loader_work_.reset();
  if (loader_thread_.joinable()) loader_thread_.join();
  asio::post(io_, [this] {
    tick_timer_.cancel();
    for (auto& [id, group] : groups_) group->Unload(ErrorCode::kNotCoordinator);
    groups_.clear();
    owned_.clear();
  });
  work_.reset();
  if (thread_.joinable()) thread_.join();
}

std::vector<GroupCoordinator::CommittedLag> GroupCoordinator::SnapshotLag(std::chrono::milliseconds wait) {
  auto promise = std::make_shared<std::promise<std::vector<CommittedLag>>>();
  auto future = promise->get_future();
  Post([this, promise] {
    std::vector<CommittedLag> out;
    for (const auto& [id, group] : groups_) {
      for (const auto& [tp, committed] : group->offsets()) {
        CommittedLag entry{.group = id, .topic = tp.first, .partition = tp.second, .committed = committed.offset,
                           .lag = std::nullopt};
        if (auto partition = partitions_.Get(tp.first, tp.second); partition && committed.offset >= 0) {
          entry.lag = std::max<int64_t>(0, partition->high_watermark() - committed.offset);
        }
        out.push_back(std::move(entry));
      }
    }
    promise->set_value(std::move(out));
  });
  if (future.wait_for(wait) != std::future_status::ready) return {};
  return future.get();
}

void GroupCoordinator::Post(std::function<void()> task) { asio::post(io_, std::move(task)); }

int32_t GroupCoordinator::PartitionFor(const std::string& group_id) const {
  auto topic = metadata_.Current()->FindTopic(kOffsetsTopic);
  const int32_t count = topic ? static_cast<int32_t>(topic->partitions.size()) : options_.offsets_topic_partitions;
  return OffsetsPartitionFor(group_id, count);
}

void GroupCoordinator::EnsureOffsetsTopic(std::function<void(bool ok)> done) {
  if (metadata_.Current()->FindTopic(kOffsetsTopic)) return done(true);
  metadata::CreateTopicsRequest create;
  auto* topic = create.add_topics();
  topic->set_name(kOffsetsTopic);
  topic->set_num_partitions(options_.offsets_topic_partitions);
  // A dev cluster with fewer live brokers than the configured factor still gets the topic.
  const auto live = static_cast<int32_t>(metadata_.Current()->LiveBrokerIds().size());
  topic->set_replication_factor(std::max(1, std::min<int32_t>(options_.offsets_topic_replication_factor, live)));
  // Compaction keeps each group's and offset's latest record; expiry is the coordinator's job
  // (it writes tombstones). Segment size as Kafka's offsets.topic.segment.bytes.
  (*topic->mutable_configs())["cleanup.policy"] = "compact";
  (*topic->mutable_configs())["segment.bytes"] = "104857600";
  controller_.Forward<metadata::CreateTopicsRequest, metadata::CreateTopicsResponse>(
      metadata::CREATE_TOPICS, create,
      [this, done = std::move(done)](absl::StatusOr<metadata::CreateTopicsResponse> created) mutable {
        if (!created.ok()) {
          log::Warn("group coordinator: cannot create {}: {}", kOffsetsTopic, created.status());
          return done(false);
        }
        const auto& result = created->results(0);
        const auto code = static_cast<ErrorCode>(result.error_code());
        if (code != ErrorCode::kNone && code != ErrorCode::kTopicAlreadyExists) {
          log::Warn("group coordinator: cannot create {}: {} {}", kOffsetsTopic, kafka::ErrorName(code),
                    result.error_message());
          return done(false);
        }
        if (code == ErrorCode::kNone) log::Info("group coordinator: created {}", kOffsetsTopic);
        metadata_.WhenApplied(created->metadata_offset(), [done = std::move(done)] { done(true); });
      });
}

bool GroupCoordinator::LeadsInImage(int32_t partition) const {
  auto topic = metadata_.Current()->FindTopic(kOffsetsTopic);
  return topic && partition < static_cast<int32_t>(topic->partitions.size()) &&
         topic->partitions[partition].leader == options_.broker_id;
}

ErrorCode GroupCoordinator::CheckGroupId(const std::string& group_id) const {
  if (group_id.empty()) return ErrorCode::kInvalidGroupId;
  const int32_t partition = PartitionFor(group_id);
  auto it = owned_.find(partition);
  if (it != owned_.end()) return it->second.loaded ? ErrorCode::kNone : ErrorCode::kCoordinatorLoadInProgress;
  // Led according to the newest image but not yet noticed by the tick: loading is imminent.
  return LeadsInImage(partition) ? ErrorCode::kCoordinatorLoadInProgress : ErrorCode::kNotCoordinator;
}

bool GroupCoordinator::AnyLoading() const {
  for (const auto& [partition, owned] : owned_) {
    if (!owned.loaded) return true;
  }
  return false;
}

Group* GroupCoordinator::Find(const std::string& group_id) {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second.get();
}

std::unique_ptr<Group> GroupCoordinator::NewGroup(const std::string& group_id) {
  return std::make_unique<Group>(
      group_id, GroupTimeouts{.initial_rebalance_delay_ms = options_.initial_rebalance_delay_ms, .max_size = options_.max_group_size},
      [this](const Group& group) { return PersistGroup(group); });
}

Group& GroupCoordinator::FindOrCreate(const std::string& group_id) {
  auto& slot = groups_[group_id];
  if (!slot) slot = NewGroup(group_id);
  return *slot;
}

std::vector<Group*> GroupCoordinator::AllGroups() {
  std::vector<Group*> out;
  for (auto& [id, group] : groups_) out.push_back(group.get());
  return out;
}

void GroupCoordinator::AppendRecords(int32_t partition_index, const std::vector<KeyValue>& records,
                                     std::optional<TxnProducer> producer, bool wait_for_commit,
                                     std::function<void(ProduceOutcome)> done) {
  auto refuse = [&done](ErrorCode error, std::string message) {
    done(ProduceOutcome{.error = error, .message = std::move(message)});
  };
  auto partition = partitions_.Get(kOffsetsTopic, partition_index);
  if (!partition) return refuse(ErrorCode::kNotLeaderOrFollower, "the offsets partition is not hosted here");
  // Transactional offsets carry no sequence: the producer's sequences count its own batches.
  kafka::RecordBatchBuilder builder({.partition_leader_epoch = partition->leader_epoch(),
                                     .producer_id = producer ? producer->id : -1,
                                     .producer_epoch = producer ? producer->epoch : int16_t{-1},
                                     .transactional = producer.has_value()});
  const int64_t now = clock_.NowMs();
  for (const auto& [key, value] : records) {
    builder.Add(key, value ? std::optional<std::string_view>(*value) : std::nullopt, now);
  }
  auto built = builder.Build();
  if (!built.ok()) return refuse(ErrorCode::kUnknownServerError, std::string(ToStd(built.status().message())));
  auto batch = std::make_shared<std::string>(std::move(*built));
  auto header = kafka::ParseBatchHeader(*batch);
  if (!header.ok()) return refuse(ErrorCode::kUnknownServerError, std::string(ToStd(header.status().message())));
  asio::post(partition->owner(), [this, partition, batch, header = *header, wait_for_commit,
                                  done = std::move(done)]() mutable {
    partition->Produce(std::span<char>(batch->data(), batch->size()), header, wait_for_commit ? -1 : 1,
                       options_.offsets_commit_timeout_ms,
                       [this, done = std::move(done)](ProduceOutcome outcome) mutable {
                         Post([outcome = std::move(outcome), done = std::move(done)]() mutable {
                           done(std::move(outcome));
                         });
                       });
  });
}

void GroupCoordinator::Append(int32_t partition_index, const std::vector<KeyValue>& records, bool wait_for_commit,
                              Committed done) {
  AppendRecords(partition_index, records, std::nullopt, wait_for_commit,
                [partition_index, done = std::move(done)](const ProduceOutcome& outcome) {
                  if (outcome.error == ErrorCode::kNone) return done(absl::OkStatus());
                  done(absl::UnavailableError(fmt::format("append to {}-{} failed: {} {}", kOffsetsTopic,
                                                          partition_index, kafka::ErrorName(outcome.error),
                                                          outcome.message)));
                });
}

absl::Status GroupCoordinator::PersistGroup(const Group& group) {
  // Membership is written without waiting for the ISR: losing it with a coordinator costs a
  // rebalance, never an offset (commits wait; see CommitOffsets).
  const std::string id = group.id();
  Append(PartitionFor(id), {{GroupKey(id), EncodeGroupValue(group)}}, /*wait_for_commit=*/false,
         [id](absl::Status status) {
           if (!status.ok()) log::Warn("group {}: cannot persist its metadata: {}", id, status);
         });
  return absl::OkStatus();
}

void GroupCoordinator::CommitOffsets(const std::string& group_id,
                                     std::vector<std::pair<TopicPartition, CommittedOffset>> offsets, Committed done) {
  if (offsets.empty()) return done(absl::OkStatus());
  std::vector<KeyValue> records;
  records.reserve(offsets.size());
  for (const auto& [tp, offset] : offsets) records.emplace_back(OffsetKey(group_id, tp), EncodeOffsetValue(offset));
  Append(PartitionFor(group_id), records, /*wait_for_commit=*/true,
         [this, group_id, offsets = std::move(offsets), done = std::move(done)](absl::Status status) {
           if (status.ok()) {
             Group* group = Find(group_id);
             for (const auto& [tp, offset] : offsets) {
               pending_txn_.Supersede(group_id, tp);
               if (group != nullptr) group->offsets()[tp] = offset;
             }
           }
           done(status);
         });
}

void GroupCoordinator::DeleteOffsets(Group& group, const std::vector<TopicPartition>& partitions, Committed done) {
  std::vector<KeyValue> records;
  for (const auto& tp : partitions) {
    pending_txn_.Supersede(group.id(), tp);
    if (group.offsets().erase(tp)) records.emplace_back(OffsetKey(group.id(), tp), std::nullopt);
  }
  if (records.empty()) return done(absl::OkStatus());
  Append(PartitionFor(group.id()), records, /*wait_for_commit=*/true, std::move(done));
}

void GroupCoordinator::DeleteGroup(const std::string& group_id, Committed done) {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return done(absl::OkStatus());
  std::vector<KeyValue> records;
  for (const auto& [tp, offset] : it->second->offsets()) records.emplace_back(OffsetKey(group_id, tp), std::nullopt);
  records.emplace_back(GroupKey(group_id), std::nullopt);
  it->second->Unload(ErrorCode::kCoordinatorNotAvailable);
  groups_.erase(it);
  pending_txn_.DropGroup(group_id);
  Append(PartitionFor(group_id), records, /*wait_for_commit=*/true, std::move(done));
}

void GroupCoordinator::ScheduleTick() {
  tick_timer_.expires_after(kTickInterval);
  tick_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec && !stopping_) Tick();
  });
}

void GroupCoordinator::Tick() {
  WatchLeadership();
  const int64_t now = clock_.NowMs();
  for (auto& [id, group] : groups_) group->Tick(now);
  if (now >= next_retention_check_ms_) {
    next_retention_check_ms_ = now + options_.retention_check_interval_ms;
    ExpireOffsets(now);
  }
  ScheduleTick();
}

void GroupCoordinator::WatchLeadership() {
  auto image = metadata_.Current();
  if (image == watched_image_) return;
  watched_image_ = image;
  auto topic = image->FindTopic(kOffsetsTopic);
  std::vector<int32_t> led;
  if (topic) {
    for (const auto& p : topic->partitions) {
      if (p.leader == options_.broker_id) led.push_back(p.partition);
    }
  }
  std::vector<int32_t> lost;
  for (const auto& [partition, owned] : owned_) {
    if (std::find(led.begin(), led.end(), partition) == led.end()) lost.push_back(partition);
  }
  for (int32_t partition : lost) UnloadPartition(partition);
  for (int32_t partition : led) {
    if (!owned_.count(partition)) StartLoad(partition);
  }
}

void GroupCoordinator::StartLoad(int32_t partition) {
  const uint64_t epoch = ++next_load_epoch_;
  owned_[partition] = {.loaded = false, .load_epoch = epoch};
  asio::post(loader_io_, [this, partition, epoch] {
    const int64_t started = clock_.MonotonicMs();
    absl::StatusOr<LoadedPartition> loaded = absl::UnavailableError("the offsets partition is not hosted yet");
    // Only a replica that already acts as leader has a log that no truncation will change.
    if (auto hosted = partitions_.Get(kOffsetsTopic, partition); hosted && hosted->leading()) {
      loaded = LoadGroups(hosted->log(), partition);
    }
    Post([this, partition, epoch, started, loaded = std::move(loaded)]() mutable {
      InstallLoaded(partition, epoch, std::move(loaded), started);
    });
  });
}

void GroupCoordinator::InstallLoaded(int32_t partition, uint64_t epoch, absl::StatusOr<LoadedPartition> loaded,
                                     int64_t started_ms) {
  auto owned = owned_.find(partition);
  if (owned == owned_.end() || owned->second.load_epoch != epoch || stopping_) return;  // superseded
  if (!loaded.ok()) {
    log::Warn("group coordinator: loading {}-{} failed ({}); retrying", kOffsetsTopic, partition, loaded.status());
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(kLoadRetryMs));
    timer->async_wait([this, timer, partition, epoch](const asio::error_code& ec) {
      auto still = owned_.find(partition);
      if (!ec && !stopping_ && still != owned_.end() && still->second.load_epoch == epoch) StartLoad(partition);
    });
    return;
  }
  const int64_t now = clock_.NowMs();
  size_t offsets = 0;
  for (auto& [id, state] : loaded->groups) {
    auto group = NewGroup(id);
    if (state.metadata) {
      GroupSnapshot& g = *state.metadata;
      group->Restore(std::move(g.protocol_type), g.generation, std::move(g.protocol), std::move(g.leader),
                     g.state_timestamp_ms, std::move(g.members), now);
    }
    offsets += state.offsets.size();
    group->offsets() = std::move(state.offsets);
    groups_[id] = std::move(group);
  }
  pending_txn_.Merge(std::move(loaded->pending));
  owned->second.loaded = true;
  log::Info("group coordinator: loaded {}-{}: {} groups, {} offsets from {} records in {} ms", kOffsetsTopic, partition,
            loaded->groups.size(), offsets, loaded->records, clock_.MonotonicMs() - started_ms);
}

void GroupCoordinator::UnloadPartition(int32_t partition) {
  for (auto it = groups_.begin(); it != groups_.end();) {
    if (PartitionFor(it->first) == partition) {
      it->second->Unload(ErrorCode::kNotCoordinator);
      it = groups_.erase(it);
    } else {
      ++it;
    }
  }
  owned_.erase(partition);
  pending_txn_.DropPartition(partition);
  log::Info("group coordinator: no longer leads {}-{}", kOffsetsTopic, partition);
}

void GroupCoordinator::ExpireOffsets(int64_t now_ms) {
  std::vector<std::string> emptied;
  for (auto& [id, group] : groups_) {
    if (group->state() != GroupState::kEmpty) continue;
    std::vector<TopicPartition> expired;
    for (const auto& [tp, offset] : group->offsets()) {
      // KIP-211: a consumer group's offsets age from when it became empty; offsets of
      // group-less committers age from their commit.
      const int64_t base = group->protocol_type().empty() ? offset.commit_timestamp_ms : group->state_timestamp_ms();
      const bool expired_by_request = offset.expire_timestamp_ms >= 0 && offset.expire_timestamp_ms <= now_ms;
      if (expired_by_request || base + options_.offsets_retention_ms <= now_ms) expired.push_back(tp);
    }
    if (!expired.empty()) {
      log::Info("group {}: expiring {} offsets", id, expired.size());
      DeleteOffsets(*group, expired, [id](absl::Status status) {
        if (!status.ok()) log::Warn("group {}: cannot expire offsets: {}", id, status);
      });
    }
    // A group whose first member is between MEMBER_ID_REQUIRED and its rejoin stays.
    if (group->offsets().empty() && !group->has_pending_members()) emptied.push_back(id);
  }
  for (const auto& id : emptied) {
    DeleteGroup(id, [id](absl::Status status) {
      if (!status.ok()) log::Warn("group {}: cannot remove: {}", id, status);
    });
  }
}

namespace {

// The error a TxnOffsetCommit answers for a failed append, as Kafka maps them.
ErrorCode TxnCommitError(ErrorCode append_error) {
  switch (append_error) {
    case ErrorCode::kUnknownTopicOrPartition:
    case ErrorCode::kNotEnoughReplicas:
    case ErrorCode::kNotEnoughReplicasAfterAppend:
    case ErrorCode::kRequestTimedOut:
      return ErrorCode::kCoordinatorNotAvailable;
    case ErrorCode::kNotLeaderOrFollower:
    case ErrorCode::kKafkaStorageError:
      return ErrorCode::kNotCoordinator;
    case ErrorCode::kMessageTooLarge:
    case ErrorCode::kRecordListTooLarge:
      return ErrorCode::kInvalidCommitOffsetSize;
    default:
      return append_error;
  }
}

}  // namespace

void GroupCoordinator::CommitTxnOffsets(const std::string& group_id, int64_t producer_id, int16_t producer_epoch,
                                        std::vector<std::pair<TopicPartition, CommittedOffset>> offsets,
                                        std::function<void(ErrorCode)> done) {
  if (offsets.empty()) return done(ErrorCode::kNone);
  std::vector<KeyValue> records;
  records.reserve(offsets.size());
  for (const auto& [tp, offset] : offsets) records.emplace_back(OffsetKey(group_id, tp), EncodeOffsetValue(offset));
  const int32_t partition = PartitionFor(group_id);
  // Pending from the append on, so that a marker which overtakes the answer still finds them.
  pending_txn_.Add(producer_id, partition, group_id, offsets);
  AppendRecords(partition, records, TxnProducer{.id = producer_id, .epoch = producer_epoch}, /*wait_for_commit=*/true,
                [this, group_id, partition, producer_id, offsets = std::move(offsets),
                 done = std::move(done)](const ProduceOutcome& outcome) {
                  if (outcome.error != ErrorCode::kNone) {
                    log::Warn("group {}: transactional offset commit of producer {} failed: {} {}", group_id,
                              producer_id, kafka::ErrorName(outcome.error), outcome.message);
                    pending_txn_.Remove(producer_id, partition, group_id, offsets);
                    return done(TxnCommitError(outcome.error));
                  }
                  done(ErrorCode::kNone);
                });
}

void GroupCoordinator::CompleteTransaction(int32_t partition, int64_t producer_id, bool commit) {
  Post([this, partition, producer_id, commit] {
    GroupOffsets ended = pending_txn_.Take(producer_id, partition);
    if (!commit || owned_.count(partition) == 0) return;
    for (auto& [group_id, offsets] : ended) {
      Group& group = FindOrCreate(group_id);
      for (auto& [tp, offset] : offsets) group.offsets()[tp] = std::move(offset);
    }
  });
}

}  // namespace sluice::broker::groups
