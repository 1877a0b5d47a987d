// Produce: the connection's shard decodes and validates the batches (CRC32C included), then
// hands each partition's batches to its owner shard, which appends them and answers, for
// acks=all once the high watermark covers them. The response is assembled back on the
// connection's shard, in request order.

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/on_owner.h"
#include "broker/handlers/partition_lookup.h"
#include "broker/handlers/produce_validation.h"
#include "protocol/kafka/batch/record_batch_header.h"
#include "protocol/kafka/api_registry.h"
#include "protocol/kafka/messages/produce.h"
#include "protocol/metadata/topic_names.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;
using kafka::ProduceRequest;
using kafka::ProduceResponse;

// Whether any partition's first batch is transactional (Kafka's hasTransactionalRecords):
// such a request must name its transactional id and may write as it.
bool HasTransactionalRecords(const ProduceRequest& body) {
  for (const auto& topic : body.topic_data) {
    for (const auto& data : topic.partition_data) {
      auto header = kafka::ParseBatchHeader(data.records.contiguous());
      if (header.ok() && header->is_transactional()) return true;
    }
  }
  return false;
}

void Refuse(ProduceResponse::PartitionProduceResponse& out, ErrorCode error, std::string message = {}) {
  out.error_code = static_cast<int16_t>(error);
  out.base_offset = -1;
  if (!message.empty()) out.error_message = std::move(message);
}

class ProduceOperation : public std::enable_shared_from_this<ProduceOperation> {
 public:
  ProduceOperation(BrokerContext& broker, RequestPtr request, ProduceRequest body)
      : broker_(broker), request_(std::move(request)), body_(std::move(body)) {}

  void Start() {
    // Message formats v0/v1 (Produce v0-v2) are advertised for librdkafka's feature detection
    // but never accepted.
    ErrorCode request_error = ErrorCode::kNone;
    std::string request_message;
    if (request_->version() < kafka::AcceptedMinVersion(ProduceRequest::kApiKey)) {
      request_error = ErrorCode::kUnsupportedVersion;
    } else if (body_.acks != 0 && body_.acks != 1 && body_.acks != -1) {
      request_error = ErrorCode::kInvalidRequiredAcks;
    }
    auto image = broker_.metadata.Current();
    const RequestAuthorizer authorizer(broker_, *request_);
    if (request_error == ErrorCode::kNone && HasTransactionalRecords(body_) &&
        (!body_.transactional_id ||
         !authorizer.Check(AclOperation::kWrite, ResourceType::kTransactionalId, *body_.transactional_id,
                           ErrorCode::kTransactionalIdAuthorizationFailed))) {
      request_error = ErrorCode::kTransactionalIdAuthorizationFailed;
      if (!body_.transactional_id) request_message = "transactional records need the request's transactional id";
    }
    response_.responses.resize(body_.topic_data.size());
    for (size_t t = 0; t < body_.topic_data.size(); ++t) {
      auto& topic = body_.topic_data[t];
      response_.responses[t].name = topic.name;
      response_.responses[t].partition_responses.resize(topic.partition_data.size());
    }
    // Pending answers, plus one for this loop: nothing is sent before every partition is handed out.
    pending_ = 1;
    for (size_t t = 0; t < body_.topic_data.size(); ++t) {
      auto& topic = body_.topic_data[t];
      // Checked before the topic's existence, as Kafka does: nobody learns what they may not see.
      const bool writable = request_error != ErrorCode::kNone ||
                            authorizer.Check(AclOperation::kWrite, ResourceType::kTopic, topic.name,
                                             ErrorCode::kTopicAuthorizationFailed);
      for (size_t p = 0; p < topic.partition_data.size(); ++p) {
        auto& data = topic.partition_data[p];
        auto& out = response_.responses[t].partition_responses[p];
        out.index = data.index;
        if (request_error != ErrorCode::kNone) {
          Refuse(out, request_error, request_message);
          continue;
        }
        if (!writable) {
          Refuse(out, ErrorCode::kTopicAuthorizationFailed);
          continue;
        }
        if (metadata::IsInternalTopic(topic.name)) {
          // Only the broker writes these (the group coordinator appends to its partitions
          // directly); a client's records there would be read back as group state.
          Refuse(out, ErrorCode::kInvalidTopicException,
                 fmt::format("clients may not produce to the internal topic {}", topic.name));
          continue;
        }
        LeaderLookup lookup = FindLeaderPartition(broker_, *image, topic.name, data.index);
        if (lookup.error != ErrorCode::kNone) {
          Refuse(out, lookup.error);
          continue;
        }
        std::string_view bytes = data.records.contiguous();
        ValidatedBatches validated = ValidateProduceBatches(bytes, *lookup.partition);
        if (validated.error != ErrorCode::kNone) {
          Refuse(out, validated.error, std::move(validated.message));
          for (RecordError& record : validated.record_errors) {
            out.record_errors.push_back({.batch_index = record.batch_index,
                                         .batch_index_error_message = std::move(record.message)});
          }
          continue;
        }
        ++pending_;
        // The decoded records borrow this request's frame, which the operation keeps alive;
        // offsets are patched in place.
        std::span<char> batches(const_cast<char*>(bytes.data()), bytes.size());
        std::shared_ptr<Partition> partition = std::move(lookup.partition);
        RunOn(partition->owner(), request_->io,
              [self = shared_from_this(), partition, batches, first = validated.first, t, p] {
                partition->Produce(
                    batches, first, self->body_.acks, self->body_.timeout_ms,
                    [self, t, p, &owner = partition->owner()](ProduceOutcome outcome) {
                      self->Complete(owner, t, p, std::move(outcome));
                    },
                    self->Verifier(*partition, first));
              });
      }
    }
    if (body_.acks == 0) request_->responder.NoResponse();
    Finished();
  }

 private:
  // KIP-890 part 1 for a transactional batch; null without a verifier (the partition appends at
  // once). The callback keeps this operation, and so the request's bytes, alive.
  TxnVerify Verifier(const Partition& partition, const kafka::RecordBatchHeader& first) {
    if (broker_.transactions == nullptr || !first.is_transactional() || !body_.transactional_id) return nullptr;
    TxnPartitionCheck check{.transactional_id = *body_.transactional_id,
                            .producer_id = first.producer_id,
                            .producer_epoch = first.producer_epoch,
                            .topic = partition.topic(),
                            .partition = partition.index()};
    return [self = shared_from_this(), check = std::move(check)](std::function<void(ErrorCode)> answer) {
      self->broker_.transactions->Verify(check, std::move(answer));
    };
  }

  // Runs on the partition's owner shard: the answer goes back to the connection's.
  void Complete(asio::io_context& from, size_t t, size_t p, ProduceOutcome outcome) {
    RunOn(request_->io, from, [self = shared_from_this(), t, p, outcome = std::move(outcome)]() mutable {
      auto& out = self->response_.responses[t].partition_responses[p];
      out.error_code = static_cast<int16_t>(outcome.error);
      out.base_offset = outcome.error == ErrorCode::kNone ? outcome.base_offset : -1;
      out.log_append_time_ms = outcome.log_append_time_ms;
      out.log_start_offset = outcome.log_start_offset;
      if (!outcome.message.empty()) out.error_message = std::move(outcome.message);
      // The request waited as long as its slowest partition did.
      self->request_->remote_seconds = std::max(self->request_->remote_seconds, outcome.replication_wait_seconds);
      self->Finished();
    });
  }

  void Finished() {
    if (--pending_ > 0 || body_.acks == 0) return;
    request_->Respond(response_);
  }

  BrokerContext& broker_;
  RequestPtr request_;
  ProduceRequest body_;
  ProduceResponse response_;
  size_t pending_ = 0;  // connection shard only
};

}  // namespace

void HandleProduce(BrokerContext& broker, RequestPtr request) {
  ProduceRequest body;
  if (!request->Decode(body)) return;
  std::make_shared<ProduceOperation>(broker, request, std::move(body))->Start();
}

}  // namespace sluice::broker
