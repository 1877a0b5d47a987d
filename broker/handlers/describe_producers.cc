// DescribeProducers (KIP-664): each partition's leader reports the producers its producer state
// holds, read on its owner shard; the response is assembled on the connection's shard.

#include <memory>

#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/on_owner.h"
#include "broker/handlers/partition_lookup.h"
#include "protocol/kafka/messages/describe_producers.h"

namespace sluice::broker {
namespace {

using kafka::DescribeProducersRequest;
using kafka::DescribeProducersResponse;
using kafka::ErrorCode;

class DescribeProducersOperation : public std::enable_shared_from_this<DescribeProducersOperation> {
 public:
  DescribeProducersOperation(BrokerContext& broker, RequestPtr request, DescribeProducersRequest body)
      : broker_(broker), request_(std::move(request)), body_(std::move(body)) {}

  void Start() {
    const RequestAuthorizer authorizer(broker_, *request_);
    auto image = broker_.metadata.Current();
    response_.topics.resize(body_.topics.size());
    pending_ = 1;  // this loop
    for (size_t t = 0; t < body_.topics.size(); ++t) {
      const auto& topic = body_.topics[t];
      auto& topic_out = response_.topics[t];
      topic_out.name = topic.name;
      topic_out.partitions.resize(topic.partition_indexes.size());
      // Kafka asks READ on the topic, before looking it up.
      const bool readable =
          authorizer.Check(AclOperation::kRead, ResourceType::kTopic, topic.name, ErrorCode::kTopicAuthorizationFailed);
      for (size_t p = 0; p < topic.partition_indexes.size(); ++p) {
        auto& out = topic_out.partitions[p];
        out.partition_index = topic.partition_indexes[p];
        if (!readable) {
          out.error_code = static_cast<int16_t>(ErrorCode::kTopicAuthorizationFailed);
          continue;
        }
        LeaderLookup lookup = FindLeaderPartition(broker_, *image, topic.name, out.partition_index);
        if (lookup.error != ErrorCode::kNone) {
          out.error_code = static_cast<int16_t>(lookup.error);
          continue;
        }
        ++pending_;
        std::shared_ptr<Partition> partition = std::move(lookup.partition);
        RunOn(partition->owner(), request_->io, [self = shared_from_this(), partition, t, p] {
          std::vector<ProducerSummary> producers;
          const ErrorCode error = partition->DescribeProducers(producers);
          RunOn(self->request_->io, partition->owner(), [self, t, p, error, producers = std::move(producers)] {
            self->Fill(self->response_.topics[t].partitions[p], error, producers);
            self->Finished();
          });
        });
      }
    }
    Finished();
  }

 private:
  static void Fill(DescribeProducersResponse::PartitionResponse& out, ErrorCode error,
                   const std::vector<ProducerSummary>& producers) {
    out.error_code = static_cast<int16_t>(error);
    for (const ProducerSummary& producer : producers) {
      out.active_producers.push_back({.producer_id = producer.producer_id,
                                      .producer_epoch = producer.epoch,
                                      .last_sequence = producer.last_sequence,
                                      .last_timestamp = producer.last_timestamp,
                                      .coordinator_epoch = producer.coordinator_epoch,
                                      .current_txn_start_offset = producer.txn_start_offset});
    }
  }

  void Finished() {
    if (--pending_ == 0) request_->Respond(response_);
  }

  BrokerContext& broker_;
  RequestPtr request_;
  DescribeProducersRequest body_;
  DescribeProducersResponse response_;
  size_t pending_ = 0;  // connection shard only
};

}  // namespace

void HandleDescribeProducers(BrokerContext& broker, RequestPtr request) {
  DescribeProducersRequest body;
  if (!request->Decode(body)) return;
  std::make_shared<DescribeProducersOperation>(broker, request, std::move(body))->Start();
}

}  // namespace sluice::broker
