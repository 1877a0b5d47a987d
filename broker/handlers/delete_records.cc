// DeleteRecords: each partition's leader raises its log start on its owner shard and answers
// once its live followers have followed (Partition::DeleteRecords); the response is assembled
// on the connection's shard, in request order.

#include <memory>

#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/on_owner.h"
#include "broker/handlers/partition_lookup.h"
#include "protocol/kafka/messages/delete_records.h"

namespace sluice::broker {
namespace {

using kafka::DeleteRecordsRequest;
using kafka::DeleteRecordsResponse;
using kafka::ErrorCode;

class DeleteRecordsOperation : public std::enable_shared_from_this<DeleteRecordsOperation> {
 public:
  DeleteRecordsOperation(BrokerContext& broker, RequestPtr request, DeleteRecordsRequest body)
      : broker_(broker), request_(std::move(request)), body_(std::move(body)) {}

  void Start() {
    auto image = broker_.metadata.Current();
    response_.topics.resize(body_.topics.size());
    for (size_t t = 0; t < body_.topics.size(); ++t) {
      response_.topics[t].name = body_.topics[t].name;
      response_.topics[t].partitions.resize(body_.topics[t].partitions.size());
    }
    pending_ = 1;  // this loop: nothing is sent before every partition is handed out
    // DELETE on the topic; the answer's audit lines carry the refusals.
    const RequestAuthorizer authorizer(broker_, *request_);
    for (size_t t = 0; t < body_.topics.size(); ++t) {
      const auto& topic = body_.topics[t];
      const bool deletable = authorizer.Allowed(AclOperation::kDelete, ResourceType::kTopic, topic.name);
      for (size_t p = 0; p < topic.partitions.size(); ++p) {
        const auto& asked = topic.partitions[p];
        auto& out = response_.topics[t].partitions[p];
        out.partition_index = asked.partition_index;
        out.low_watermark = -1;
        if (!deletable) {
          out.error_code = static_cast<int16_t>(ErrorCode::kTopicAuthorizationFailed);
          continue;
        }
        LeaderLookup lookup = FindLeaderPartition(broker_, *image, topic.name, asked.partition_index);
        if (lookup.error != ErrorCode::kNone) {
          out.error_code = static_cast<int16_t>(lookup.error);
          continue;
        }
        ++pending_;
        std::shared_ptr<Partition> partition = std::move(lookup.partition);
        RunOn(partition->owner(), request_->io, [self = shared_from_this(), partition, offset = asked.offset, t, p] {
          partition->DeleteRecords(offset, self->body_.timeout_ms,
                                   [self, t, p, &owner = partition->owner()](DeleteRecordsOutcome outcome) {
                                     self->Complete(owner, t, p, outcome);
                                   });
        });
      }
    }
    Finished();
  }

 private:
  void Complete(asio::io_context& from, size_t t, size_t p, DeleteRecordsOutcome outcome) {
    RunOn(request_->io, from, [self = shared_from_this(), t, p, outcome] {
      auto& out = self->response_.topics[t].partitions[p];
      out.error_code = static_cast<int16_t>(outcome.error);
      out.low_watermark = outcome.low_watermark;
      self->Finished();
    });
  }

  void Finished() {
    if (--pending_ == 0) request_->Respond(response_);
  }

  BrokerContext& broker_;
  RequestPtr request_;
  DeleteRecordsRequest body_;
  DeleteRecordsResponse response_;
  size_t pending_ = 0;  // connection shard only
};

}  // namespace

void HandleDeleteRecords(BrokerContext& broker, RequestPtr request) {
  DeleteRecordsRequest body;
  if (!request->Decode(body)) return;
  std::make_shared<DeleteRecordsOperation>(broker, request, std::move(body))->Start();
}

}  // namespace sluice::broker
