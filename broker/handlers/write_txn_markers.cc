// WriteTxnMarkers: a transaction coordinator ends a producer's transaction in each partition it
// wrote to. Each partition's leader appends the marker on its owner shard and answers once the
// high watermark covers it (Partition::AppendTxnMarker); a committed marker in a
// __consumer_offsets partition then completes the transaction's group offsets there. The
// response is assembled on the connection's shard, in request order.

#include <memory>

#include "broker/groups/coordinator_key.h"
#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/on_owner.h"
#include "broker/handlers/partition_lookup.h"
#include "protocol/kafka/messages/write_txn_markers.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;
using kafka::WriteTxnMarkersRequest;
using kafka::WriteTxnMarkersResponse;

// The request carries no timeout; Kafka bounds marker writes by its request.timeout.ms default.
constexpr int64_t kMarkerTimeoutMs = 30000;

class WriteTxnMarkersOperation : public std::enable_shared_from_this<WriteTxnMarkersOperation> {
 public:
  WriteTxnMarkersOperation(BrokerContext& broker, RequestPtr request, WriteTxnMarkersRequest body)
      : broker_(broker), request_(std::move(request)), body_(std::move(body)) {}

  void Start() {
    const RequestAuthorizer authorizer(broker_, *request_);
    // Only brokers (coordinators) write markers.
    const bool allowed = authorizer.CheckCluster(AclOperation::kClusterAction);
    auto image = broker_.metadata.Current();
    response_.markers.resize(body_.markers.size());
    pending_ = 1;  // this loop: nothing is sent before every partition is handed out
    for (size_t m = 0; m < body_.markers.size(); ++m) {
      const auto& marker = body_.markers[m];
      auto& marker_out = response_.markers[m];
      marker_out.producer_id = marker.producer_id;
      marker_out.topics.resize(marker.topics.size());
      for (size_t t = 0; t < marker.topics.size(); ++t) {
        const auto& topic = marker.topics[t];
        auto& topic_out = marker_out.topics[t];
        topic_out.name = topic.name;
        topic_out.partitions.resize(topic.partition_indexes.size());
        for (size_t p = 0; p < topic.partition_indexes.size(); ++p) {
          auto& out = topic_out.partitions[p];
          out.partition_index = topic.partition_indexes[p];
          if (!allowed) {
            out.error_code = static_cast<int16_t>(ErrorCode::kClusterAuthorizationFailed);
            continue;
          }
          LeaderLookup lookup = FindLeaderPartition(broker_, *image, topic.name, out.partition_index);
          if (lookup.error != ErrorCode::kNone) {
            out.error_code = static_cast<int16_t>(lookup.error);
            continue;
          }
          ++pending_;
          std::shared_ptr<Partition> partition = std::move(lookup.partition);
          RunOn(partition->owner(), request_->io, [self = shared_from_this(), partition, m, t, p] {
            const auto& marker = self->body_.markers[m];
            partition->AppendTxnMarker(
                marker.producer_id, marker.producer_epoch, marker.transaction_result, marker.coordinator_epoch,
                kMarkerTimeoutMs, [self, partition, m, t, p](ProduceOutcome outcome) {
                  self->Complete(*partition, m, t, p, outcome.error);
                });
          });
        }
      }
    }
    Finished();
  }

 private:
  // On the partition's owner shard.
  void Complete(const Partition& partition, size_t m, size_t t, size_t p, ErrorCode error) {
    const auto& marker = body_.markers[m];
    if (error == ErrorCode::kNone && partition.topic() == groups::kOffsetsTopic) {
      broker_.groups.CompleteTransaction(partition.index(), marker.producer_id, marker.transaction_result);
    }
    RunOn(request_->io, partition.owner(), [self = shared_from_this(), m, t, p, error] {
      self->response_.markers[m].topics[t].partitions[p].error_code = static_cast<int16_t>(error);
      self->Finished();
    });
  }

  void Finished() {
    if (--pending_ == 0) request_->Respond(response_);
  }

  BrokerContext& broker_;
  RequestPtr request_;
  WriteTxnMarkersRequest body_;
  WriteTxnMarkersResponse response_;
  size_t pending_ = 0;  // connection shard only
};

}  // namespace

void HandleWriteTxnMarkers(BrokerContext& broker, RequestPtr request) {
  WriteTxnMarkersRequest body;
  if (!request->Decode(body)) return;
  std::make_shared<WriteTxnMarkersOperation>(broker, request, std::move(body))->Start();
}

}  // namespace sluice::broker
