#include "broker/txn/transaction_coordinator.h"

#include <asio/post.hpp>

#include "broker/groups/coordinator_key.h"
#include "broker/txn/transaction_records.h"
#include "common/absl_compat.h"
#include "common/log.h"
#include "protocol/kafka/batch/record_batch_builder.h"

namespace sluice::broker::txn {
namespace {

using kafka::ErrorCode;

// Leadership changes are noticed within one tick; timeouts are checked on their own intervals.
constexpr auto kTickInterval = std::chrono::milliseconds(50);
constexpr int64_t kLoadRetryMs = 200;
constexpr int64_t kCompleteRetryMs = 200;
// How long an AddPartitionsToTxn waits for the producer's previous transaction to complete
// before it answers CONCURRENT_TRANSACTIONS; markers take milliseconds unless a leader is down.
constexpr int64_t kSettleWaitMs = 1000;

}  // namespace

TxnCoordinatorOptions TxnCoordinatorOptions::FromConfig(int32_t broker_id, const config::Properties& config) {
  TxnCoordinatorOptions o;
  o.broker_id = broker_id;
  o.state_topic_partitions = config.GetInt("transaction.state.log.num.partitions");
  o.state_topic_replication_factor = static_cast<int16_t>(config.GetInt("transaction.state.log.replication.factor"));
  o.state_topic_min_isr = config.GetInt("transaction.state.log.min.isr");
  o.state_topic_segment_bytes = config.GetInt("transaction.state.log.segment.bytes");
  o.max_timeout_ms = config.GetInt("transaction.max.timeout.ms");
  o.id_expiration_ms = config.GetLong("transactional.id.expiration.ms");
  o.abort_timed_out_interval_ms = config.GetLong("transaction.abort.timed.out.transaction.cleanup.interval.ms");
  o.remove_expired_interval_ms = config.GetLong("transaction.remove.expired.transaction.cleanup.interval.ms");
  return o;
}

TransactionCoordinator::TransactionCoordinator(TxnCoordinatorOptions options, MetadataCache& metadata,
                                               PartitionManager& partitions, ControllerLink& controller,
                                               ProducerIdManager& producer_ids, const Clock& clock,
                                               ReplicationOptions::InterBrokerSecurity security)
    : options_(options),
      metadata_(metadata),
      partitions_(partitions),
      controller_(controller),
      producer_ids_(producer_ids),
      clock_(clock),
      work_(asio::make_work_guard(io_)),
      tick_timer_(io_),
      loader_work_(asio::make_work_guard(loader_io_)),
      channels_(io_, metadata, std::move(security)),
      markers_(io_, metadata, channels_) {}

TransactionCoordinator::~TransactionCoordinator() { Stop(); }

void TransactionCoordinator::Start() {
  const int64_t now = clock_.NowMs();
  next_abort_check_ms_ = now + options_.abort_timed_out_interval_ms;
  next_expiry_check_ms_ = now + options_.remove_expired_interval_ms;
  loader_thread_ = std::thread([this] { loader_io_.run(); });
  thread_ = std::thread([this] { io_.run(); });
  Post([this] { Tick(); });
}

void TransactionCoordinator::Stop() {
  if (stopping_.exchange(true)) return;
  loader_work_.reset();
  if (loader_thread_.joinable()) loader_thread_.join();
  asio::post(io_, [this] {
    tick_timer_.cancel();
    markers_.Stop();
    channels_.Stop();
    txns_.clear();
    owned_.clear();
  });
  work_.reset();
  if (thread_.joinable()) thread_.join();
}

void TransactionCoordinator::Post(std::function<void()> task) { asio::post(io_, std::move(task)); }

int32_t TransactionCoordinator::PartitionFor(const std::string& transactional_id) const {
  auto topic = metadata_.Current()->FindTopic(kTransactionStateTopic);
  const int32_t count = topic ? static_cast<int32_t>(topic->partitions.size()) : options_.state_topic_partitions;
  // Kafka's partitioning of transactional ids is that of group ids.
  return groups::OffsetsPartitionFor(transactional_id, count);
}

int32_t TransactionCoordinator::CoordinatorOf(const std::string& transactional_id) const {
  auto image = metadata_.Current();
  auto topic = image->FindTopic(kTransactionStateTopic);
  const int32_t partition = PartitionFor(transactional_id);
  if (!topic || partition >= static_cast<int32_t>(topic->partitions.size())) return -1;
  return topic->partitions[partition].leader;
}

void TransactionCoordinator::EnsureStateTopic(std::function<void(bool ok)> done) {
  if (metadata_.Current()->FindTopic(kTransactionStateTopic)) return done(true);
  metadata::CreateTopicsRequest create;
  auto* topic = create.add_topics();
  topic->set_name(kTransactionStateTopic);
  topic->set_num_partitions(options_.state_topic_partitions);
  // A dev cluster with fewer live brokers than the configured factor still gets the topic.
  const auto live = static_cast<int32_t>(metadata_.Current()->LiveBrokerIds().size());
  const int32_t factor = std::max(1, std::min<int32_t>(options_.state_topic_replication_factor, live));
  topic->set_replication_factor(factor);
  // Compaction keeps each id's latest state; expiry writes tombstones.
  (*topic->mutable_configs())["cleanup.policy"] = "compact";
  (*topic->mutable_configs())["segment.bytes"] = std::to_string(options_.state_topic_segment_bytes);
  (*topic->mutable_configs())["min.insync.replicas"] = std::to_string(std::min(options_.state_topic_min_isr, factor));
  controller_.Forward<metadata::CreateTopicsRequest, metadata::CreateTopicsResponse>(
      metadata::CREATE_TOPICS, create,
      [this, done = std::move(done)](absl::StatusOr<metadata::CreateTopicsResponse> created) mutable {
        if (!created.ok()) {
          log::Warn("transaction coordinator: cannot create {}: {}", kTransactionStateTopic, created.status());
          return done(false);
        }
        const auto& result = created->results(0);
        const auto code = static_cast<ErrorCode>(result.error_code());
        if (code != ErrorCode::kNone && code != ErrorCode::kTopicAlreadyExists) {
          log::Warn("transaction coordinator: cannot create {}: {} {}", kTransactionStateTopic,
                    kafka::ErrorName(code), result.error_message());
          return done(false);
        }
        if (code == ErrorCode::kNone) log::Info("transaction coordinator: created {}", kTransactionStateTopic);
        metadata_.WhenApplied(created->metadata_offset(), [done = std::move(done)] { done(true); });
      });
}

ErrorCode TransactionCoordinator::CheckOwned(const std::string& transactional_id) const {
  if (transactional_id.empty()) return ErrorCode::kInvalidRequest;
  const int32_t partition = PartitionFor(transactional_id);
  auto it = owned_.find(partition);
  if (it != owned_.end()) return it->second.loaded ? ErrorCode::kNone : ErrorCode::kCoordinatorLoadInProgress;
  // Led according to the newest image but not yet noticed by the tick: loading is imminent.
  return CoordinatorOf(transactional_id) == options_.broker_id ? ErrorCode::kCoordinatorLoadInProgress
                                                               : ErrorCode::kNotCoordinator;
}

bool TransactionCoordinator::StillOwned(int32_t partition, uint64_t load_epoch) const {
  auto it = owned_.find(partition);
  return !stopping_ && it != owned_.end() && it->second.loaded && it->second.load_epoch == load_epoch;
}

void TransactionCoordinator::Append(int32_t partition_index, std::string key, std::optional<std::string> value,
                                    std::function<void(ErrorCode)> done) {
  auto partition = partitions_.Get(kTransactionStateTopic, partition_index);
  if (!partition) return done(ErrorCode::kNotCoordinator);
  kafka::RecordBatchBuilder builder({.partition_leader_epoch = partition->leader_epoch()});
  builder.Add(key, value ? std::optional<std::string_view>(*value) : std::nullopt, clock_.NowMs());
  auto built = builder.Build();
  if (!built.ok()) {
    log::Error("transaction coordinator: cannot build a record batch: {}", built.status());
    return done(ErrorCode::kUnknownServerError);
  }
  auto batch = std::make_shared<std::string>(std::move(*built));
  auto header = kafka::ParseBatchHeader(*batch);
  if (!header.ok()) return done(ErrorCode::kUnknownServerError);
  asio::post(partition->owner(), [this, partition, partition_index, batch, header = *header,
                                  done = std::move(done)]() mutable {
    partition->Produce(std::span<char>(batch->data(), batch->size()), header, /*acks=*/-1, options_.append_timeout_ms,
                       [this, partition_index, done = std::move(done)](ProduceOutcome outcome) mutable {
                         Post([partition_index, outcome = std::move(outcome), done = std::move(done)] {
                           if (outcome.error != ErrorCode::kNone) {
                             log::Warn("transaction coordinator: append to {}-{} failed: {} {}",
                                       kTransactionStateTopic, partition_index, kafka::ErrorName(outcome.error),
                                       outcome.message);
                           }
                           done(outcome.error);
                         });
                       });
  });
}

void TransactionCoordinator::Persist(const std::string& id, std::optional<TransactionMetadata> next, Written done) {
  const int32_t partition = PartitionFor(id);
  const uint64_t load_epoch = owned_.count(partition) ? owned_[partition].load_epoch : 0;
  TransactionMetadata& current = txns_[id];
  if (current.transactional_id.empty()) current.transactional_id = id;  // a new id: a placeholder until written
  current.pending = next ? next->state : TxnState::kDead;
  std::optional<std::string> value = next ? std::optional<std::string>(EncodeTxnValue(*next)) : std::nullopt;
  Append(partition, EncodeTxnKey(id), std::move(value),
         [this, id, partition, load_epoch, next = std::move(next), done = std::move(done)](ErrorCode error) mutable {
           auto it = txns_.find(id);
           if (!StillOwned(partition, load_epoch) || it == txns_.end()) {
             done(ErrorCode::kNotCoordinator);
             return RunSettledWaiters(id);
           }
           if (error != ErrorCode::kNone) {
             it->second.pending.reset();
             if (it->second.producer_epoch == kNoProducerEpoch) txns_.erase(it);  // the placeholder
             // As Kafka maps a failed state write: the client retries, here or at the new leader.
             const bool moved = error == ErrorCode::kNotLeaderOrFollower || error == ErrorCode::kFencedLeaderEpoch;
             done(moved ? ErrorCode::kNotCoordinator : ErrorCode::kCoordinatorNotAvailable);
             return RunSettledWaiters(id);
           }
           if (next) {
             next->pending.reset();
             next->transactional_id = id;
             it->second = std::move(*next);
           } else {
             txns_.erase(it);
           }
           done(ErrorCode::kNone);
           RunSettledWaiters(id);
         });
}

void TransactionCoordinator::InitProducerId(std::string id, int32_t timeout_ms, int64_t expected_producer_id,
                                            int16_t expected_epoch, std::function<void(InitProducerIdResult)> done) {
  Post([this, id = std::move(id), timeout_ms, expected_producer_id, expected_epoch, done = std::move(done)]() mutable {
    if (id.empty()) return done({.error = ErrorCode::kInvalidRequest});
    if (timeout_ms <= 0 || timeout_ms > options_.max_timeout_ms) {
      return done({.error = ErrorCode::kInvalidTransactionTimeout});
    }
    if (ErrorCode error = CheckOwned(id); error != ErrorCode::kNone) return done({.error = error});
    auto it = txns_.find(id);
    if (it == txns_.end()) return InitNewProducerId(std::move(id), timeout_ms, std::move(done));
    InitExisting(it->second, timeout_ms, expected_producer_id, expected_epoch, std::move(done));
  });
}

void TransactionCoordinator::InitNewProducerId(std::string id, int32_t timeout_ms,
                                               std::function<void(InitProducerIdResult)> done) {
  // A placeholder makes concurrent InitProducerIds for the id wait (CONCURRENT_TRANSACTIONS).
  TransactionMetadata& placeholder = txns_[id];
  placeholder.transactional_id = id;
  placeholder.pending = TxnState::kEmpty;
  RotateProducerId(std::move(id), timeout_ms, std::move(done));
}

void TransactionCoordinator::RotateProducerId(std::string id, int32_t timeout_ms,
                                              std::function<void(InitProducerIdResult)> done) {
  txns_[id].pending = TxnState::kEmpty;
  const int32_t partition = PartitionFor(id);
  const uint64_t load_epoch = owned_[partition].load_epoch;
  producer_ids_.Next([this, id = std::move(id), timeout_ms, partition, load_epoch,
                      done = std::move(done)](absl::StatusOr<int64_t> pid) mutable {
    Post([this, id = std::move(id), timeout_ms, partition, load_epoch, pid = std::move(pid),
          done = std::move(done)]() mutable {
      auto it = txns_.find(id);
      // Unloaded (perhaps loaded again) meanwhile: the id's state is not the one this started from.
      if (it == txns_.end() || !StillOwned(partition, load_epoch)) return done({.error = ErrorCode::kNotCoordinator});
      if (!pid.ok()) {
        log::Warn("transaction coordinator: cannot allocate a producer id: {}", pid.status());
        it->second.pending.reset();
        if (it->second.producer_epoch == kNoProducerEpoch) txns_.erase(it);
        return done({.error = ErrorCode::kCoordinatorNotAvailable});
      }
      TransactionMetadata next = PrepareNewProducerId(it->second, *pid, timeout_ms, clock_.NowMs());
      Persist(id, next, [next, done = std::move(done)](ErrorCode error) {
        if (error != ErrorCode::kNone) return done({.error = error});
        done({.error = ErrorCode::kNone, .producer_id = next.producer_id, .producer_epoch = next.producer_epoch});
      });
    });
  });
}

void TransactionCoordinator::InitExisting(TransactionMetadata& txn, int32_t timeout_ms, int64_t expected_producer_id,
                                          int16_t expected_epoch, std::function<void(InitProducerIdResult)> done) {
  if (txn.pending) return done({.error = ErrorCode::kConcurrentTransactions});
  const bool kip360 = expected_producer_id != kNoProducerId;
  if (kip360) {
    if (ErrorCode error = CheckExpectedProducerId(txn, expected_producer_id); error != ErrorCode::kNone) {
      return done({.error = error});
    }
  }
  switch (txn.state) {
    case TxnState::kOngoing:
      // The new producer fences the old one; it retries once the abort completed, and then
      // gets the next epoch.
      FenceAndAbort(txn);
      return done({.error = ErrorCode::kConcurrentTransactions});
    case TxnState::kEmpty:
    case TxnState::kCompleteCommit:
    case TxnState::kCompleteAbort: {
      if (txn.epoch_exhausted() && (!kip360 || expected_epoch == txn.producer_epoch)) {
        return RotateProducerId(txn.transactional_id, timeout_ms, std::move(done));
      }
      Transition transition = PrepareEpochBump(
          txn, timeout_ms, kip360 ? std::optional<int16_t>(expected_epoch) : std::nullopt, clock_.NowMs());
      if (transition.error != ErrorCode::kNone || !transition.next) return done({.error = transition.error});
      TransactionMetadata next = *transition.next;
      return Persist(txn.transactional_id, next, [next, done = std::move(done)](ErrorCode error) {
        if (error != ErrorCode::kNone) return done({.error = error});
        done({.error = ErrorCode::kNone, .producer_id = next.producer_id, .producer_epoch = next.producer_epoch});
      });
    }
    default:
      return done({.error = ErrorCode::kConcurrentTransactions});
  }
}

void TransactionCoordinator::AddPartitions(std::string id, int64_t producer_id, int16_t producer_epoch,
                                           std::set<TopicPartition> partitions, std::function<void(ErrorCode)> done) {
  Post([this, id = std::move(id), producer_id, producer_epoch, partitions = std::move(partitions),
        done = std::move(done)]() mutable {
    AddPartitionsNow(std::move(id), producer_id, producer_epoch, std::move(partitions), std::move(done),
                     clock_.MonotonicMs() + kSettleWaitMs);
  });
}

void TransactionCoordinator::AddPartitionsNow(std::string id, int64_t producer_id, int16_t producer_epoch,
                                              std::set<TopicPartition> partitions, std::function<void(ErrorCode)> done,
                                              int64_t deadline_ms) {
  if (ErrorCode error = CheckOwned(id); error != ErrorCode::kNone) return done(error);
  auto it = txns_.find(id);
  if (it == txns_.end() || it->second.producer_epoch == kNoProducerEpoch) {
    return done(ErrorCode::kInvalidProducerIdMapping);
  }
  Transition transition = PrepareAddPartitions(it->second, producer_id, producer_epoch, partitions, clock_.NowMs());
  const bool same_producer = it->second.producer_id == producer_id && it->second.producer_epoch == producer_epoch;
  if (transition.error == ErrorCode::kConcurrentTransactions && same_producer &&
      clock_.MonotonicMs() < deadline_ms) {
    auto shared_done = std::make_shared<std::function<void(ErrorCode)>>(std::move(done));
    settled_waiters_[id].push_back(
        {.deadline_ms = deadline_ms,
         .retry = [this, id, producer_id, producer_epoch, partitions, shared_done, deadline_ms]() mutable {
           AddPartitionsNow(id, producer_id, producer_epoch, partitions, std::move(*shared_done), deadline_ms);
         },
         .expire = [shared_done] { (*shared_done)(ErrorCode::kConcurrentTransactions); }});
    return;
  }
  if (transition.error != ErrorCode::kNone || !transition.next) return done(transition.error);
  Persist(id, std::move(transition.next), std::move(done));
}

void TransactionCoordinator::RunSettledWaiters(const std::string& id) {
  auto it = settled_waiters_.find(id);
  if (it == settled_waiters_.end()) return;
  std::vector<SettledWaiter> waiters = std::move(it->second);
  settled_waiters_.erase(it);
  for (auto& waiter : waiters) waiter.retry();
}

void TransactionCoordinator::ExpireSettledWaiters(int64_t now_ms) {
  for (auto it = settled_waiters_.begin(); it != settled_waiters_.end();) {
    auto& waiters = it->second;
    for (auto w = waiters.begin(); w != waiters.end();) {
      if (w->deadline_ms <= now_ms) {
        auto expire = std::move(w->expire);
        w = waiters.erase(w);
        expire();
      } else {
        ++w;
      }
    }
    it = waiters.empty() ? settled_waiters_.erase(it) : std::next(it);
  }
}

void TransactionCoordinator::VerifyPartitions(std::string id, int64_t producer_id, int16_t producer_epoch,
                                              std::vector<TopicPartition> partitions,
                                              std::function<void(std::map<TopicPartition, ErrorCode>)> done) {
  Post([this, id = std::move(id), producer_id, producer_epoch, partitions = std::move(partitions),
        done = std::move(done)] {
    std::map<TopicPartition, ErrorCode> out;
    ErrorCode error = CheckOwned(id);
    const TransactionMetadata* txn = nullptr;
    if (error == ErrorCode::kNone) {
      auto it = txns_.find(id);
      if (it == txns_.end() || it->second.producer_id != producer_id) {
        error = ErrorCode::kInvalidProducerIdMapping;
      } else if (it->second.producer_epoch != producer_epoch) {
        error = ErrorCode::kProducerFenced;
      } else if (it->second.completing()) {
        error = ErrorCode::kConcurrentTransactions;
      } else {
        txn = &it->second;
      }
    }
    for (const auto& tp : partitions) {
      if (txn == nullptr) {
        out[tp] = error;
      } else {
        const bool in = txn->state == TxnState::kOngoing && txn->partitions.count(tp) > 0;
        out[tp] = in ? ErrorCode::kNone : ErrorCode::kInvalidTxnState;
      }
    }
    done(std::move(out));
  });
}

void TransactionCoordinator::EndTxn(std::string id, int64_t producer_id, int16_t producer_epoch, bool commit,
                                    std::function<void(ErrorCode)> done) {
  Post([this, id = std::move(id), producer_id, producer_epoch, commit, done = std::move(done)]() mutable {
    if (ErrorCode error = CheckOwned(id); error != ErrorCode::kNone) return done(error);
    auto it = txns_.find(id);
    if (it == txns_.end() || it->second.producer_epoch == kNoProducerEpoch) {
      return done(ErrorCode::kInvalidProducerIdMapping);
    }
    Transition transition = PrepareEnd(it->second, producer_id, producer_epoch, commit, clock_.NowMs());
    if (transition.error != ErrorCode::kNone || !transition.next) return done(transition.error);
    Persist(id, std::move(transition.next), [this, id, done = std::move(done)](ErrorCode error) {
      done(error);
      if (error == ErrorCode::kNone) StartMarkers(id);
    });
  });
}

void TransactionCoordinator::FenceAndAbort(const TransactionMetadata& txn) {
  const std::string id = txn.transactional_id;
  log::Info("transaction {}: aborting the ongoing transaction of producer {} epoch {} and fencing it", id,
            txn.producer_id, txn.producer_epoch);
  Persist(id, PrepareFenceAndAbort(txn, clock_.NowMs()), [this, id](ErrorCode error) {
    if (error != ErrorCode::kNone) {
      log::Warn("transaction {}: cannot write its abort: {}", id, kafka::ErrorName(error));
      return;
    }
    StartMarkers(id);
  });
}

void TransactionCoordinator::StartMarkers(const std::string& id) {
  auto it = txns_.find(id);
  if (it == txns_.end() || !it->second.completing()) return;
  const TransactionMetadata& txn = it->second;
  const int32_t partition = PartitionFor(id);
  auto owned = owned_.find(partition);
  if (owned == owned_.end()) return;
  MarkerJob job{.producer_id = txn.producer_id,
                .producer_epoch = txn.producer_epoch,
                .commit = txn.state == TxnState::kPrepareCommit,
                .coordinator_epoch = owned->second.coordinator_epoch,
                .partitions = txn.partitions};
  markers_.Send(id, std::move(job),
                [this, id, producer_id = txn.producer_id, epoch = txn.producer_epoch, state = txn.state](bool written) {
                  if (!written) {
                    log::Warn("transaction {}: a partition leader knows a newer coordinator; leaving it", id);
                    return;
                  }
                  OnMarkersWritten(id, producer_id, epoch, state);
                });
}

void TransactionCoordinator::OnMarkersWritten(const std::string& id, int64_t producer_id, int16_t producer_epoch,
                                              TxnState prepared) {
  auto it = txns_.find(id);
  if (it == txns_.end() || it->second.producer_id != producer_id || it->second.producer_epoch != producer_epoch ||
      it->second.state != prepared) {
    return;  // unloaded or moved on meanwhile
  }
  if (it->second.pending) {
    // Another write (a fencing InitProducerId cannot start while Prepare*) is in flight: later.
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(kCompleteRetryMs));
    timer->async_wait([this, timer, id, producer_id, producer_epoch, prepared](const asio::error_code& ec) {
      if (!ec && !stopping_) OnMarkersWritten(id, producer_id, producer_epoch, prepared);
    });
    return;
  }
  Persist(id, PrepareComplete(it->second, clock_.NowMs()),
          [this, id, producer_id, producer_epoch, prepared](ErrorCode error) {
            if (error == ErrorCode::kNone || error == ErrorCode::kNotCoordinator) return;
            // The markers are written; only the Complete* record is missing. Try again.
            auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(kCompleteRetryMs));
            timer->async_wait([this, timer, id, producer_id, producer_epoch, prepared](const asio::error_code& ec) {
              if (!ec && !stopping_) OnMarkersWritten(id, producer_id, producer_epoch, prepared);
            });
          });
}

void TransactionCoordinator::Describe(std::vector<std::string> ids, std::function<void(std::vector<Described>)> done) {
  Post([this, ids = std::move(ids), done = std::move(done)] {
    std::vector<Described> out;
    for (const auto& id : ids) {
      Described d;
      d.txn.transactional_id = id;
      d.error = CheckOwned(id);
      if (d.error == ErrorCode::kNone) {
        auto it = txns_.find(id);
        if (it == txns_.end() || it->second.producer_epoch == kNoProducerEpoch) {
          d.error = ErrorCode::kTransactionalIdNotFound;
        } else {
          d.txn = it->second;
        }
      }
      out.push_back(std::move(d));
    }
    done(std::move(out));
  });
}

void TransactionCoordinator::List(std::function<void(ErrorCode, std::vector<TransactionMetadata>)> done) {
  Post([this, done = std::move(done)] {
    for (const auto& [partition, owned] : owned_) {
      if (!owned.loaded) return done(ErrorCode::kCoordinatorLoadInProgress, {});
    }
    std::vector<TransactionMetadata> out;
    for (const auto& [id, txn] : txns_) {
      if (txn.producer_epoch != kNoProducerEpoch) out.push_back(txn);
    }
    done(ErrorCode::kNone, std::move(out));
  });
}

void TransactionCoordinator::ScheduleTick() {
  tick_timer_.expires_after(kTickInterval);
  tick_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec && !stopping_) Tick();
  });
}

void TransactionCoordinator::Tick() {
  WatchLeadership();
  ExpireSettledWaiters(clock_.MonotonicMs());
  const int64_t now = clock_.NowMs();
  if (now >= next_abort_check_ms_) {
    next_abort_check_ms_ = now + options_.abort_timed_out_interval_ms;
    AbortTimedOut(now);
  }
  if (now >= next_expiry_check_ms_) {
    next_expiry_check_ms_ = now + options_.remove_expired_interval_ms;
    ExpireIds(now);
  }
  ScheduleTick();
}

void TransactionCoordinator::AbortTimedOut(int64_t now_ms) {
  std::vector<TransactionMetadata> timed_out;
  for (const auto& [id, txn] : txns_) {
    if (txn.state == TxnState::kOngoing && !txn.pending && txn.start_ms >= 0 && txn.start_ms + txn.timeout_ms < now_ms &&
        CheckOwned(id) == ErrorCode::kNone) {
      timed_out.push_back(txn);
    }
  }
  for (const auto& txn : timed_out) {
    log::Info("transaction {}: timed out after {} ms", txn.transactional_id, txn.timeout_ms);
    FenceAndAbort(txn);
  }
}

void TransactionCoordinator::ExpireIds(int64_t now_ms) {
  std::vector<std::string> expired;
  for (const auto& [id, txn] : txns_) {
    const bool idle = txn.state == TxnState::kEmpty || txn.state == TxnState::kCompleteCommit ||
                      txn.state == TxnState::kCompleteAbort;
    if (idle && !txn.pending && txn.producer_epoch != kNoProducerEpoch &&
        txn.last_update_ms + options_.id_expiration_ms <= now_ms && CheckOwned(id) == ErrorCode::kNone) {
      expired.push_back(id);
    }
  }
  for (const auto& id : expired) {
    log::Info("transaction {}: expiring the idle transactional id", id);
    Persist(id, std::nullopt, [id](ErrorCode error) {
      if (error != ErrorCode::kNone) log::Warn("transaction {}: cannot expire it: {}", id, kafka::ErrorName(error));
    });
  }
}

void TransactionCoordinator::WatchLeadership() {
  auto image = metadata_.Current();
  if (image == watched_image_) return;
  watched_image_ = image;
  auto topic = image->FindTopic(kTransactionStateTopic);
  std::map<int32_t, int32_t> led;  // partition -> leader epoch
  if (topic) {
    for (const auto& p : topic->partitions) {
      if (p.leader == options_.broker_id) led[p.partition] = p.leader_epoch;
    }
  }
  std::vector<int32_t> lost;
  for (const auto& [partition, owned] : owned_) {
    auto it = led.find(partition);
    // A new leader epoch (leadership went away and came back) means a fresh load.
    if (it == led.end() || it->second != owned.coordinator_epoch) lost.push_back(partition);
  }
  for (int32_t partition : lost) UnloadPartition(partition);
  for (const auto& [partition, epoch] : led) {
    if (!owned_.count(partition)) {
      owned_[partition].coordinator_epoch = epoch;
      StartLoad(partition);
    }
  }
}

void TransactionCoordinator::StartLoad(int32_t partition) {
  const uint64_t epoch = ++next_load_epoch_;
  owned_[partition].loaded = false;
  owned_[partition].load_epoch = epoch;
  asio::post(loader_io_, [this, partition, epoch] {
    const int64_t started = clock_.MonotonicMs();
    absl::StatusOr<LoadedTransactions> loaded =
        absl::UnavailableError("the transaction state partition is not hosted yet");
    // Only a replica that already acts as leader has a log that no truncation will change.
    if (auto hosted = partitions_.Get(kTransactionStateTopic, partition); hosted && hosted->leading()) {
      loaded = LoadTransactions(hosted->log());
    }
    Post([this, partition, epoch, started, loaded = std::move(loaded)]() mutable {
      InstallLoaded(partition, epoch, std::move(loaded), started);
    });
  });
}

void TransactionCoordinator::InstallLoaded(int32_t partition, uint64_t epoch,
                                           absl::StatusOr<LoadedTransactions> loaded, int64_t started_ms) {
  auto owned = owned_.find(partition);
  if (owned == owned_.end() || owned->second.load_epoch != epoch || stopping_) return;  // superseded
  if (!loaded.ok()) {
    log::Warn("transaction coordinator: loading {}-{} failed ({}); retrying", kTransactionStateTopic, partition,
              loaded.status());
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(kLoadRetryMs));
    timer->async_wait([this, timer, partition, epoch](const asio::error_code& ec) {
      auto still = owned_.find(partition);
      if (!ec && !stopping_ && still != owned_.end() && still->second.load_epoch == epoch) StartLoad(partition);
    });
    return;
  }
  std::vector<std::string> resume;
  for (auto& [id, txn] : loaded->transactions) {
    if (txn.completing()) resume.push_back(id);
    txns_[id] = std::move(txn);
  }
  owned->second.loaded = true;
  log::Info("transaction coordinator: loaded {}-{} (coordinator epoch {}): {} transactional ids from {} records in {} ms, "
            "{} transactions to complete",
            kTransactionStateTopic, partition, owned->second.coordinator_epoch, loaded->transactions.size(),
            loaded->records, clock_.MonotonicMs() - started_ms, resume.size());
  for (const auto& id : resume) StartMarkers(id);
}

void TransactionCoordinator::UnloadPartition(int32_t partition) {
  for (auto it = txns_.begin(); it != txns_.end();) {
    if (PartitionFor(it->first) == partition) {
      markers_.Cancel(it->first);
      it = txns_.erase(it);
    } else {
      ++it;
    }
  }
  owned_.erase(partition);
  std::vector<std::string> waiting;
  for (const auto& [id, waiters] : settled_waiters_) {
    if (PartitionFor(id) == partition) waiting.push_back(id);
  }
  for (const auto& id : waiting) RunSettledWaiters(id);  // answered NOT_COORDINATOR now
  log::Info("transaction coordinator: no longer leads {}-{}", kTransactionStateTopic, partition);
}

}  // namespace sluice::broker::txn
