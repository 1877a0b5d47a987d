// Fetch: reads whole batches from partition logs as file slices (sent with sendfile), capped by
// the high watermark and the partition and response byte limits, and long-polls on min_bytes /
// max_wait_ms with a waiter that any append to a requested partition wakes.
//
// Fetch sessions (KIP-227) are answered correctly without being kept: every response carries
// session id 0 ("no session"), so clients keep sending full requests; an unknown session id gets
// FETCH_SESSION_ID_NOT_FOUND.

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "broker/handlers/handlers.h"
#include "broker/handlers/partition_lookup.h"
#include "common/absl_compat.h"
#include "protocol/kafka/api_registry.h"
#include "protocol/kafka/messages/fetch.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;
using kafka::FetchRequest;
using kafka::FetchResponse;

class FetchOperation : public AppendWaiter, public std::enable_shared_from_this<FetchOperation> {
 public:
  FetchOperation(BrokerContext& broker, RequestPtr request, FetchRequest body)
      : broker_(broker), request_(std::move(request)), body_(std::move(body)), timer_(request_->io) {}

  void Start() {
    if (body_.session_id != 0) return RespondWithError(ErrorCode::kFetchSessionIdNotFound);
    if (request_->version() < kafka::AcceptedMinVersion(FetchRequest::kApiKey)) {
      return RespondWithError(ErrorCode::kUnsupportedVersion);
    }
    Attempt(/*deadline_passed=*/body_.max_wait_ms <= 0);
  }

  // Runs on the producer's thread: hop to the fetch's own connection thread.
  void OnAppend() override {
    asio::post(request_->io, [self = shared_from_this()] { self->Attempt(false); });
  }

 private:
  void Attempt(bool deadline_passed) {
    if (answered_) return;
    int64_t bytes = 0;
    bool any_error = false;
    FetchResponse response = Read(&bytes, &any_error);
    if (deadline_passed || any_error || bytes >= body_.min_bytes) {
      answered_ = true;
      timer_.cancel();
      request_->Respond(response);
      return;
    }
    Park();
  }

  void Park() {
    auto image = broker_.metadata.Current();
    auto self = shared_from_this();
    for (const auto& topic : body_.topics) {
      const std::string name = TopicName(*image, topic);
      for (const auto& p : topic.partitions) {
        if (auto partition = broker_.partitions.Get(name, p.partition)) partition->AddAppendWaiter(self);
      }
    }
    if (!timer_armed_) {
      timer_armed_ = true;
      timer_.expires_after(std::chrono::milliseconds(body_.max_wait_ms));
      timer_.async_wait([self](const asio::error_code& ec) {
        if (!ec) self->Attempt(true);
      });
    }
  }

  std::string TopicName(const metadata::MetadataImage& image, const FetchRequest::FetchTopic& topic) const {
    if (request_->version() < 13) return topic.topic;
    auto info = image.FindTopicById(ToTopicId(topic.topic_id));
    return info ? info->name : std::string();
  }

  FetchResponse Read(int64_t* total_bytes, bool* any_error) {
    auto image = broker_.metadata.Current();
    FetchResponse response;
    int64_t response_budget = body_.max_bytes;
    for (const auto& topic : body_.topics) {
      FetchResponse::FetchableTopicResponse topic_response;
      topic_response.topic = topic.topic;
      topic_response.topic_id = topic.topic_id;
      const std::string name = TopicName(*image, topic);
      for (const auto& p : topic.partitions) {
        FetchResponse::PartitionData out;
        out.partition_index = p.partition;
        out.records = kafka::Records::Borrow({});
        ErrorCode error = ErrorCode::kNone;
        LeaderLookup lookup;
        if (name.empty()) {
          error = ErrorCode::kUnknownTopicId;
        } else {
          lookup = FindLeaderPartition(broker_, *image, name, p.partition, p.current_leader_epoch);
          error = lookup.error;
        }
        if (error == ErrorCode::kNone) {
          storage::PartitionLog& log = lookup.partition->log();
          const int64_t high_watermark = lookup.partition->high_watermark();
          out.high_watermark = high_watermark;
          out.last_stable_offset = high_watermark;
          out.log_start_offset = log.log_start_offset();
          out.aborted_transactions = std::vector<FetchResponse::AbortedTransaction>{};
          const int64_t limit = std::min<int64_t>(p.partition_max_bytes, std::max<int64_t>(response_budget, 0));
          // KIP-74: the first partition with data returns at least one whole batch.
          auto read = log.Read(p.fetch_offset, limit, high_watermark, /*min_one_batch=*/*total_bytes == 0);
          if (!read.ok()) {
            error = read.status().code() == absl::StatusCode::kOutOfRange ? ErrorCode::kOffsetOutOfRange
                                                                           : ErrorCode::kKafkaStorageError;
          } else {
            for (auto& slice : read->slices) out.records.chunks.push_back(kafka::RecordsChunk{.file = std::move(slice)});
            *total_bytes += read->bytes;
            response_budget -= read->bytes;
          }
        }
        if (error != ErrorCode::kNone) {
          *any_error = true;
          out.error_code = static_cast<int16_t>(error);
          out.high_watermark = -1;
        }
        topic_response.partitions.push_back(std::move(out));
      }
      response.responses.push_back(std::move(topic_response));
    }
    return response;
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
        out.error_code = static_cast<int16_t>(error);
        out.high_watermark = -1;
        out.records = kafka::Records::Borrow({});
        topic_response.partitions.push_back(std::move(out));
      }
      response.responses.push_back(std::move(topic_response));
    }
    request_->Respond(response);
  }

  BrokerContext& broker_;
  RequestPtr request_;
  FetchRequest body_;
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  bool answered_ = false;  // touched only on the connection's thread
};

}  // namespace

void HandleFetch(BrokerContext& broker, RequestPtr request) {
  FetchRequest body;
  if (!request->Decode(body)) return;
  auto operation = std::make_shared<FetchOperation>(broker, request, std::move(body));
  operation->Start();
}

}  // namespace sluice::broker
