// Fetch, for consumers and for followers (replica id set): each partition is read on its owner
// shard, the shards visited one after another so that the response byte budget and KIP-74's
// "first partition with data returns a whole batch" hold as in Kafka; the answer is assembled
// on the connection's shard and sent with sendfile. Consumers read up to the high watermark
// (read_committed: the last stable offset, with the aborted transactions in what they get),
// followers up to the log end (their fetch offset tells the leader how far they have the log).
// A fetch with too little data parks on every partition it asked for (registered on each owner
// in the same step as its read, so no append can slip between) until one of them has news or
// max_wait_ms passes.
//
// Fetch sessions (KIP-227) are answered correctly without being kept: every response carries
// session id 0 ("no session"), so clients keep sending full requests; an unknown session id gets
// FETCH_SESSION_ID_NOT_FOUND.

#include <map>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/on_owner.h"
#include "broker/handlers/partition_lookup.h"
#include "protocol/kafka/api_registry.h"
#include "protocol/kafka/messages/fetch.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;
using kafka::FetchRequest;
using kafka::FetchResponse;

class FetchOperation : public FetchWaiter, public std::enable_shared_from_this<FetchOperation> {
 public:
  FetchOperation(BrokerContext& broker, RequestPtr request, FetchRequest body)
      : broker_(broker), request_(std::move(request)), body_(std::move(body)), timer_(request_->io) {
    replica_id_ = request_->version() >= 15 ? body_.replica_state.replica_id : body_.replica_id;
  }

  void Start() {
    if (body_.session_id != 0) return RespondWithError(ErrorCode::kFetchSessionIdNotFound);
    if (request_->version() < kafka::AcceptedMinVersion(FetchRequest::kApiKey)) {
      return RespondWithError(ErrorCode::kUnsupportedVersion);
    }
    Plan();
    deadline_passed_ = body_.max_wait_ms <= 0;
    Attempt();
  }

  // Any thread (an owner shard whose partition has news): read again on the connection's.
  void Wake() override {
    asio::post(request_->io, [self = shared_from_this()] {
      if (self->answered_) return;
      if (self->reading_) {
        self->wake_pending_ = true;
      } else {
        self->Attempt();
      }
    });
  }

 private:
  struct Item {
    size_t topic;
    size_t partition;
    std::shared_ptr<Partition> replica;  // null when the lookup already answered
  };

  std::string TopicName(const metadata::MetadataImage& image, const FetchRequest::FetchTopic& topic) const {
    if (request_->version() < 13) return topic.topic;
    auto info = image.FindTopicById(ToTopicId(topic.topic_id));
    return info ? info->name : std::string();
  }

  // Resolves every partition once and groups them by owner shard, in request order within each.
  void Plan() {
    auto image = broker_.metadata.Current();
    const RequestAuthorizer authorizer(broker_, *request_);
    // A follower needs CLUSTER_ACTION; Kafka then refuses every partition as a topic it may not read.
    const bool follower_allowed =
        replica_id_ < 0 || authorizer.Check(AclOperation::kClusterAction, ResourceType::kCluster,
                                            security::kClusterResourceName, ErrorCode::kTopicAuthorizationFailed);
    response_.responses.resize(body_.topics.size());
    for (size_t t = 0; t < body_.topics.size(); ++t) {
      const auto& topic = body_.topics[t];
      auto& topic_response = response_.responses[t];
      topic_response.topic = topic.topic;
      topic_response.topic_id = topic.topic_id;
      topic_response.partitions.resize(topic.partitions.size());
      const std::string name = TopicName(*image, topic);
      const bool readable = !name.empty() && follower_allowed &&
                            (replica_id_ >= 0 || authorizer.Check(AclOperation::kRead, ResourceType::kTopic, name,
                                                                  ErrorCode::kTopicAuthorizationFailed));
      for (size_t p = 0; p < topic.partitions.size(); ++p) {
        auto& out = topic_response.partitions[p];
        out.partition_index = topic.partitions[p].partition;
        out.records = kafka::Records::Borrow({});
        ErrorCode error = ErrorCode::kUnknownTopicId;
        std::shared_ptr<Partition> replica;
        if (!name.empty() && !readable) {
          error = ErrorCode::kTopicAuthorizationFailed;
        } else if (!name.empty()) {
          LeaderLookup lookup = FindLeaderPartition(broker_, *image, name, out.partition_index);
          error = lookup.error;
          replica = std::move(lookup.partition);
          if (error == ErrorCode::kNotLeaderOrFollower) {
            // KIP-951: tell the client where the partition went.
            const metadata::PartitionInfo* info = FindPartitionInfo(*image, name, out.partition_index);
            if (info) out.current_leader = {.leader_id = info->leader, .leader_epoch = info->leader_epoch};
          }
        }
        if (error != ErrorCode::kNone) {
          SetError(out, error);
          any_error_ = true;
          continue;
        }
        const size_t shard = replica->shard();
        if (!groups_.count(shard)) shard_order_.push_back(shard);
        groups_[shard].push_back(Item{t, p, std::move(replica)});
      }
    }
  }

  static void SetError(FetchResponse::PartitionData& out, ErrorCode error) {
    out.error_code = static_cast<int16_t>(error);
    out.high_watermark = -1;
    out.records = kafka::Records::Borrow({});
  }

  void Attempt() {
    deadline_passed_ = deadline_passed_ || deadline_fired_;
    reading_ = true;
    wake_pending_ = false;
    total_bytes_ = 0;
    budget_ = body_.max_bytes;
    round_any_error_ = any_error_;
    ReadShard(0);
  }

  // Reads the partitions of the i-th shard on that shard, then moves on to the next one.
  void ReadShard(size_t i) {
    if (i == shard_order_.size()) {
      asio::post(request_->io, [self = shared_from_this()] { self->Evaluate(); });
      return;
    }
    const size_t shard = shard_order_[i];
    asio::io_context& owner = broker_.shards.at(shard);
    asio::post(owner, [self = shared_from_this(), i, shard] {
      const bool park = !self->deadline_passed_;
      for (const Item& item : self->groups_[shard]) {
        const auto& request = self->body_.topics[item.topic].partitions[item.partition];
        auto& out = self->response_.responses[item.topic].partitions[item.partition];
        PartitionRead read{.fetch_offset = request.fetch_offset,
                           .current_leader_epoch = request.current_leader_epoch,
                           .last_fetched_epoch = request.last_fetched_epoch,
                           .max_bytes = std::min<int64_t>(request.partition_max_bytes, std::max<int64_t>(self->budget_, 0)),
                           .min_one_batch = self->total_bytes_ == 0,
                           .replica_id = self->replica_id_,
                           .log_start_offset = request.log_start_offset,
                           .update_follower_state = self->attempts_ == 0,
                           .read_committed = self->body_.isolation_level == 1};
        PartitionReadResult result = item.replica->Read(read, park ? self : nullptr);
        self->Fill(out, std::move(result));
      }
      self->ReadShard(i + 1);
    });
  }

  void Fill(FetchResponse::PartitionData& out, PartitionReadResult result) {
    out.records = kafka::Records::Borrow({});
    out.diverging_epoch = {};
    if (result.error != ErrorCode::kNone) {
      SetError(out, result.error);
      // A follower learns where the leader's log starts and ends from an out-of-range answer.
      if (result.error == ErrorCode::kOffsetOutOfRange && replica_id_ >= 0) {
        out.log_start_offset = result.log_start_offset;
        out.high_watermark = result.high_watermark;
      }
      round_any_error_ = true;
      return;
    }
    out.error_code = 0;
    out.high_watermark = result.high_watermark;
    out.last_stable_offset = result.last_stable_offset;
    out.log_start_offset = result.log_start_offset;
    if (body_.isolation_level == 1) {
      std::vector<FetchResponse::AbortedTransaction> aborted;
      aborted.reserve(result.aborted_transactions.size());
      for (const AbortedTxn& txn : result.aborted_transactions) {
        aborted.push_back({.producer_id = txn.producer_id, .first_offset = txn.first_offset});
      }
      out.aborted_transactions = std::move(aborted);
    } else {
      out.aborted_transactions = std::nullopt;  // Kafka sends null to read_uncommitted consumers
    }
    if (result.diverging_epoch) {
      out.diverging_epoch = {.epoch = result.diverging_epoch->epoch, .end_offset = result.diverging_epoch->end_offset};
      round_any_error_ = true;  // the follower must act on it at once
      return;
    }
    for (auto& chunk : result.data.chunks) out.records.chunks.push_back(std::move(chunk));
    total_bytes_ += result.data.bytes;
    budget_ -= result.data.bytes;
  }

  void Evaluate() {
    reading_ = false;
    ++attempts_;
    if (answered_) return;
    if (deadline_passed_ || round_any_error_ || total_bytes_ >= body_.min_bytes) {
      answered_ = true;
      timer_.cancel();
      if (timer_armed_) {
        if (broker_.fetch_purgatory != nullptr) broker_.fetch_purgatory->Add(-1);
        request_->remote_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - parked_at_).count();
      }
      request_->Respond(response_);
      return;
    }
    if (wake_pending_) return Attempt();
    if (!timer_armed_) {
      timer_armed_ = true;  // parked: in the fetch purgatory until answered
      if (broker_.fetch_purgatory != nullptr) broker_.fetch_purgatory->Add(1);
      parked_at_ = std::chrono::steady_clock::now();
      timer_.expires_after(std::chrono::milliseconds(body_.max_wait_ms));
      timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
        if (ec || self->answered_) return;
        self->deadline_fired_ = true;
        if (self->reading_) {
          self->wake_pending_ = true;
        } else {
          self->Attempt();
        }
      });
    }
  }

  void RespondWithError(ErrorCode error) {
    answered_ = true;
    FetchResponse response;
    response.error_code = static_cast<int16_t>(error);
    // Versions before 7 have no top-level error: report it on every partition instead.
    for (const auto& topic : body_.topics) {
      FetchResponse::FetchableTopicResponse topic_response;
      topic_response.topic = topic.topic;
      topic_response.topic_id = topic.topic_id;
      for (const auto& p : topic.partitions) {
        FetchResponse::PartitionData out;
        out.partition_index = p.partition;
        SetError(out, error);
        topic_response.partitions.push_back(std::move(out));
      }
      response.responses.push_back(std::move(topic_response));
    }
    request_->Respond(response);
  }

  BrokerContext& broker_;
  RequestPtr request_;
  FetchRequest body_;
  int32_t replica_id_ = -1;
  asio::steady_timer timer_;
  // Partitions by owner shard, visited in shard_order_. Fixed after Plan().
  std::map<size_t, std::vector<Item>> groups_;
  std::vector<size_t> shard_order_;
  bool any_error_ = false;  // a partition the lookup already refused
  // The read in progress, handed from shard to shard (each post orders the accesses); the
  // owners only read deadline_passed_ and attempts_, which change between reads.
  FetchResponse response_;
  bool deadline_passed_ = false;
  int attempts_ = 0;
  int64_t total_bytes_ = 0;
  int64_t budget_ = 0;
  bool round_any_error_ = false;
  // Connection shard only.
  bool reading_ = false;
  bool wake_pending_ = false;
  bool deadline_fired_ = false;
  bool timer_armed_ = false;
  std::chrono::steady_clock::time_point parked_at_;
  bool answered_ = false;
};

}  // namespace

void HandleFetch(BrokerContext& broker, RequestPtr request) {
  FetchRequest body;
  if (!request->Decode(body)) return;
  std::make_shared<FetchOperation>(broker, request, std::move(body))->Start();
}

}  // namespace sluice::broker
