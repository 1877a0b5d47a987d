#include "broker/replication/replica_fetcher.h"

#include <algorithm>

#include <asio/post.hpp>

#include "common/absl_compat.h"
#include "common/log.h"
#include "protocol/kafka/message_headers.h"
#include "protocol/kafka/messages/fetch.h"

namespace sluice::broker {
namespace {

using kafka::FetchRequest;
using kafka::FetchResponse;

// Followers speak the newest Fetch: topic ids, ReplicaState and DivergingEpoch.
constexpr int16_t kFetchVersion = FetchRequest::kMaxVersion;
// Kafka's replica.socket.timeout.ms: a leader that answers nothing for this long is given up on.
constexpr int64_t kRequestTimeoutMs = 30000;
// A partition the leader refuses (it has not taken the leadership yet, say, right after the
// topic was created) is asked again soon, then less and less often, up to replica.fetch.backoff.ms.
constexpr int64_t kFirstRetryMs = 20;
constexpr int64_t kErrorLogIntervalMs = 10000;

}  // namespace

ReplicaFetcher::ReplicaFetcher(asio::io_context& shard, int32_t leader, ReplicaContext& context)
    : shard_(shard),
      leader_(leader),
      context_(context),
      connection_(std::make_shared<LeaderConnection>(shard, context.options.inter_broker)),
      retry_timer_(shard) {}

void ReplicaFetcher::Add(std::shared_ptr<Partition> partition) {
  Key key(partition->topic_id(), partition->index());
  members_[key] = Member{.partition = std::move(partition)};
  RestartFetch();
}

void ReplicaFetcher::Remove(const Partition& partition) { members_.erase(Key(partition.topic_id(), partition.index())); }

void ReplicaFetcher::Poke() { RestartFetch(); }

void ReplicaFetcher::RestartFetch() {
  if (!in_flight_) return MaybeFetch();
  if (restart_posted_) return;
  restart_posted_ = true;
  asio::post(shard_, [weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self || self->stopped_) return;
    self->restart_posted_ = false;
    if (self->in_flight_) {
      self->connection_->Abandon();
      self->in_flight_ = false;
    }
    self->MaybeFetch();
  });
}

void ReplicaFetcher::Stop() {
  stopped_ = true;
  members_.clear();
  retry_timer_.cancel();
  connection_->Close();
}

void ReplicaFetcher::ArmRetry(int64_t at_ms) {
  if (retry_armed_) return;
  retry_armed_ = true;
  retry_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(1, at_ms - context_.clock.MonotonicMs())));
  retry_timer_.async_wait([weak = weak_from_this()](const asio::error_code& ec) {
    auto self = weak.lock();
    if (!self) return;
    self->retry_armed_ = false;
    if (!ec) self->MaybeFetch();
  });
}

void ReplicaFetcher::BackOffAll() {
  const int64_t until = context_.clock.MonotonicMs() + context_.options.fetch_backoff_ms;
  for (auto& [key, member] : members_) member.retry_after_ms = until;
  ArmRetry(until);
}

void ReplicaFetcher::MaybeFetch() {
  if (stopped_ || in_flight_ || members_.empty()) return;
  auto image = context_.metadata.Current();
  const metadata::BrokerInfo* leader = image->FindBroker(leader_);
  if (leader == nullptr) return BackOffAll();

  FetchRequest request;
  request.replica_state.replica_id = context_.broker_id;
  request.replica_state.replica_epoch = context_.broker_epoch();
  request.max_wait_ms = context_.options.fetch_wait_max_ms;
  request.min_bytes = context_.options.fetch_min_bytes;
  request.max_bytes = context_.options.fetch_response_max_bytes;
  auto sent = std::make_shared<std::map<Key, Partition::FetchPosition>>();
  const int64_t now = context_.clock.MonotonicMs();
  int64_t next_retry = INT64_MAX;
  std::map<metadata::TopicId, size_t> topic_index;
  for (auto& [key, member] : members_) {
    if (!member.partition->ReadyToFetch()) continue;  // a truncation resumes it with Poke()
    if (member.retry_after_ms > now) {
      next_retry = std::min(next_retry, member.retry_after_ms);
      continue;
    }
    const Partition::FetchPosition position = member.partition->follower_position();
    auto [it, inserted] = topic_index.try_emplace(key.first, request.topics.size());
    if (inserted) request.topics.push_back(FetchRequest::FetchTopic{.topic_id = kafka::Uuid{.bytes = key.first}});
    request.topics[it->second].partitions.push_back(FetchRequest::FetchPartition{
        .partition = key.second,
        .current_leader_epoch = position.leader_epoch,
        .fetch_offset = position.fetch_offset,
        .last_fetched_epoch = position.last_fetched_epoch,
        .log_start_offset = position.log_start_offset,
        .partition_max_bytes = context_.options.fetch_max_bytes});
    sent->emplace(key, position);
  }
  if (sent->empty()) {
    if (next_retry != INT64_MAX) ArmRetry(next_retry);
    return;
  }
  // A partition waiting out a retry must not wait for the others' long poll as well.
  if (next_retry != INT64_MAX) request.max_wait_ms = std::clamp<int64_t>(next_retry - now, 0, request.max_wait_ms);
  const int32_t correlation_id = next_correlation_id_++;
  kafka::OutboundMessage encoded = kafka::EncodeRequest(correlation_id, "sluice-replica-fetcher", kFetchVersion, request);
  in_flight_ = true;
  connection_->Call(leader->host, static_cast<uint16_t>(leader->port), std::move(encoded.bytes),
                    kRequestTimeoutMs + context_.options.fetch_wait_max_ms,
                    [weak = weak_from_this(), correlation_id, sent](absl::StatusOr<std::string_view> frame) {
                      if (auto self = weak.lock()) self->OnResponse(std::move(frame), correlation_id, kFetchVersion, sent);
                    });
}

void ReplicaFetcher::OnResponse(absl::StatusOr<std::string_view> frame, int32_t correlation_id,
                                int16_t version, std::shared_ptr<std::map<Key, Partition::FetchPosition>> sent) {
  in_flight_ = false;
  if (stopped_) return;
  absl::Status status = frame.status();
  FetchResponse response;
  if (status.ok()) {
    kafka::Reader reader(*frame);
    kafka::ResponseHeader header;
    status = header.Decode(reader, kafka::ResponseHeaderVersion<FetchResponse>(version));
    if (status.ok() && header.correlation_id != correlation_id) {
      status = absl::DataLossError("response for another request");
    }
    if (status.ok()) status = response.Decode(reader, version);
    if (status.ok() && response.error_code != 0) {
      status = absl::UnavailableError(ToAbsl(kafka::ErrorName(static_cast<kafka::ErrorCode>(response.error_code))));
    }
  }
  if (!status.ok()) {
    const int64_t now = context_.clock.MonotonicMs();
    if (now - last_error_log_ms_ >= kErrorLogIntervalMs) {
      last_error_log_ms_ = now;
      log::Warn("replica fetcher for leader {}: {}; retrying every {} ms", leader_, status,
                context_.options.fetch_backoff_ms);
    }
    return BackOffAll();
  }
  const int64_t now = context_.clock.MonotonicMs();
  for (auto& topic : response.responses) {
    for (auto& data : topic.partitions) {
      const Key key(topic.topic_id.bytes, data.partition_index);
      auto member = members_.find(key);
      auto position = sent->find(key);
      if (member == members_.end() || position == sent->end()) continue;
      FollowerFetchResult result{.error = static_cast<kafka::ErrorCode>(data.error_code),
                                 .high_watermark = data.high_watermark,
                                 .log_start_offset = data.log_start_offset};
      if (data.diverging_epoch.epoch >= 0 || data.diverging_epoch.end_offset >= 0) {
        result.diverging_epoch =
            storage::EpochEndOffset{.epoch = data.diverging_epoch.epoch, .end_offset = data.diverging_epoch.end_offset};
      }
      result.records = data.records.contiguous();  // borrows the response frame, valid during this call
      auto partition = member->second.partition;  // the call may remove the member
      const bool accepted = partition->OnFetchedFromLeader(position->second, result);
      if (auto again = members_.find(key); again != members_.end()) {
        Member& m = again->second;
        if (accepted) {
          m.backoff_ms = 0;
        } else {
          m.backoff_ms = std::min(context_.options.fetch_backoff_ms, m.backoff_ms == 0 ? kFirstRetryMs : 2 * m.backoff_ms);
          m.retry_after_ms = now + m.backoff_ms;
          log::Debug("replica fetcher for leader {}: {}-{} not served ({}); asking again in {} ms", leader_,
                     partition->topic(), partition->index(), kafka::ErrorName(result.error), m.backoff_ms);
        }
      }
    }
  }
  MaybeFetch();
}

}  // namespace sluice::broker
