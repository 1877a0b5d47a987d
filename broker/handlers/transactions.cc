// AddPartitionsToTxn, AddOffsetsToTxn and EndTxn: a transactional producer's requests to its
// transaction coordinator (and, for AddPartitionsToTxn v4+, partition leaders' KIP-890
// verification).

#include <atomic>
#include <memory>
#include <set>

#include "broker/groups/coordinator_key.h"
#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "common/absl_compat.h"
#include "protocol/kafka/messages/add_offsets_to_txn.h"
#include "protocol/kafka/messages/add_partitions_to_txn.h"
#include "protocol/kafka/messages/end_txn.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;
using kafka::ToInt;
using Topics = std::vector<kafka::AddPartitionsToTxnRequest::AddPartitionsToTxnTopic>;
using TopicResults = std::vector<kafka::AddPartitionsToTxnResponse::AddPartitionsToTxnTopicResult>;

// Before version 2 clients do not know PRODUCER_FENCED.
ErrorCode ForVersion(ErrorCode error, int16_t version, int16_t first_with_fenced) {
  return error == ErrorCode::kProducerFenced && version < first_with_fenced ? ErrorCode::kInvalidProducerEpoch : error;
}

TopicResults Uniform(const Topics& topics, ErrorCode error) {
  TopicResults out;
  for (const auto& topic : topics) {
    out.push_back({.name = topic.name});
    for (int32_t p : topic.partitions) {
      out.back().results_by_partition.push_back({.partition_index = p, .partition_error_code = ToInt(error)});
    }
  }
  return out;
}

// Refusals decided before the coordinator is asked: WRITE on each topic, and its existence.
// When one partition is refused, the others are not attempted (as Kafka answers).
std::optional<TopicResults> Refusals(const RequestAuthorizer& authorizer, const metadata::MetadataImage& image,
                                     const Topics& topics) {
  TopicResults out;
  bool refused = false;
  for (const auto& topic : topics) {
    out.push_back({.name = topic.name});
    const bool allowed = authorizer.Check(AclOperation::kWrite, ResourceType::kTopic, topic.name,
                                          ErrorCode::kTopicAuthorizationFailed);
    auto info = image.FindTopic(topic.name);
    for (int32_t p : topic.partitions) {
      ErrorCode error = ErrorCode::kNone;
      if (!allowed) {
        error = ErrorCode::kTopicAuthorizationFailed;
      } else if (!info || p < 0 || p >= static_cast<int32_t>(info->partitions.size())) {
        error = ErrorCode::kUnknownTopicOrPartition;
      }
      refused = refused || error != ErrorCode::kNone;
      out.back().results_by_partition.push_back({.partition_index = p, .partition_error_code = ToInt(error)});
    }
  }
  if (!refused) return std::nullopt;
  for (auto& topic : out) {
    for (auto& p : topic.results_by_partition) {
      if (p.partition_error_code == 0) p.partition_error_code = ToInt(ErrorCode::kOperationNotAttempted);
    }
  }
  return out;
}

std::set<txn::TopicPartition> PartitionsOf(const Topics& topics) {
  std::set<txn::TopicPartition> out;
  for (const auto& topic : topics) {
    for (int32_t p : topic.partitions) out.emplace(topic.name, p);
  }
  return out;
}

// Adds (or with `verify_only`, checks) the partitions of one transaction; `done(results)` runs
// on the coordinator thread, or on this one when refused up front.
void AddOrVerify(BrokerContext& broker, const RequestAuthorizer& authorizer, int16_t version, std::string id,
                 int64_t producer_id, int16_t producer_epoch, bool verify_only, const Topics& topics,
                 std::function<void(TopicResults)> done) {
  if (verify_only) {
    std::vector<txn::TopicPartition> partitions;
    for (const auto& tp : PartitionsOf(topics)) partitions.push_back(tp);
    broker.txn_coordinator.VerifyPartitions(
        std::move(id), producer_id, producer_epoch, std::move(partitions),
        [topics, done = std::move(done)](std::map<txn::TopicPartition, ErrorCode> errors) {
          TopicResults out = Uniform(topics, ErrorCode::kNone);
          for (auto& topic : out) {
            for (auto& p : topic.results_by_partition) p.partition_error_code = ToInt(errors[{topic.name, p.partition_index}]);
          }
          done(std::move(out));
        });
    return;
  }
  if (!authorizer.Check(AclOperation::kWrite, ResourceType::kTransactionalId, id,
                        ErrorCode::kTransactionalIdAuthorizationFailed)) {
    return done(Uniform(topics, ErrorCode::kTransactionalIdAuthorizationFailed));
  }
  if (auto refused = Refusals(authorizer, *broker.metadata.Current(), topics)) return done(std::move(*refused));
  broker.txn_coordinator.AddPartitions(std::move(id), producer_id, producer_epoch, PartitionsOf(topics),
                                       [topics, version, done = std::move(done)](ErrorCode error) {
                                         done(Uniform(topics, ForVersion(error, version, 2)));
                                       });
}

}  // namespace

void HandleAddPartitionsToTxn(BrokerContext& broker, RequestPtr request) {
  kafka::AddPartitionsToTxnRequest body;
  if (!request->Decode(body)) return;
  const int16_t version = request->version();
  const RequestAuthorizer authorizer(broker, *request);
  if (version < 4) {
    AddOrVerify(broker, authorizer, version, body.v3_and_below_transactional_id, body.v3_and_below_producer_id,
                body.v3_and_below_producer_epoch, false, body.v3_and_below_topics, [request](TopicResults results) {
                  kafka::AddPartitionsToTxnResponse response;
                  response.results_by_topic_v3_and_below = std::move(results);
                  request->Respond(response);
                });
    return;
  }
  // Batched requests come from brokers (KIP-890).
  if (!authorizer.CheckCluster(AclOperation::kClusterAction)) {
    kafka::AddPartitionsToTxnResponse response;
    response.error_code = ToInt(ErrorCode::kClusterAuthorizationFailed);
    return request->Respond(response);
  }
  auto response = std::make_shared<kafka::AddPartitionsToTxnResponse>();
  response->results_by_transaction.resize(body.transactions.size());
  if (body.transactions.empty()) return request->Respond(*response);
  auto remaining = std::make_shared<std::atomic<size_t>>(body.transactions.size());
  for (size_t i = 0; i < body.transactions.size(); ++i) {
    auto& txn = body.transactions[i];
    response->results_by_transaction[i].transactional_id = txn.transactional_id;
    AddOrVerify(broker, authorizer, version, txn.transactional_id, txn.producer_id, txn.producer_epoch,
                txn.verify_only, txn.topics, [request, response, remaining, i](TopicResults results) {
                  response->results_by_transaction[i].topic_results = std::move(results);
                  if (remaining->fetch_sub(1, std::memory_order_acq_rel) == 1) request->Respond(*response);
                });
  }
}

void HandleAddOffsetsToTxn(BrokerContext& broker, RequestPtr request) {
  kafka::AddOffsetsToTxnRequest body;
  if (!request->Decode(body)) return;
  const int16_t version = request->version();
  const RequestAuthorizer authorizer(broker, *request);
  auto respond = [request](ErrorCode error) {
    kafka::AddOffsetsToTxnResponse response;
    response.error_code = ToInt(error);
    request->Respond(response);
  };
  if (!authorizer.Check(AclOperation::kWrite, ResourceType::kTransactionalId, body.transactional_id,
                        ErrorCode::kTransactionalIdAuthorizationFailed)) {
    return respond(ErrorCode::kTransactionalIdAuthorizationFailed);
  }
  if (!authorizer.Check(AclOperation::kRead, ResourceType::kGroup, body.group_id, ErrorCode::kGroupAuthorizationFailed)) {
    return respond(ErrorCode::kGroupAuthorizationFailed);
  }
  // The group's offsets partition joins the transaction, so its commit marker makes the
  // transaction's offsets the group's committed ones.
  const txn::TopicPartition offsets(groups::kOffsetsTopic, broker.groups.PartitionFor(body.group_id));
  broker.txn_coordinator.AddPartitions(body.transactional_id, body.producer_id, body.producer_epoch, {offsets},
                                       [respond, version](ErrorCode error) { respond(ForVersion(error, version, 2)); });
}

void HandleEndTxn(BrokerContext& broker, RequestPtr request) {
  kafka::EndTxnRequest body;
  if (!request->Decode(body)) return;
  const int16_t version = request->version();
  const RequestAuthorizer authorizer(broker, *request);
  auto respond = [request](ErrorCode error) {
    kafka::EndTxnResponse response;
    response.error_code = ToInt(error);
    request->Respond(response);
  };
  if (!authorizer.Check(AclOperation::kWrite, ResourceType::kTransactionalId, body.transactional_id,
                        ErrorCode::kTransactionalIdAuthorizationFailed)) {
    return respond(ErrorCode::kTransactionalIdAuthorizationFailed);
  }
  broker.txn_coordinator.EndTxn(body.transactional_id, body.producer_id, body.producer_epoch, body.committed,
                                [respond, version](ErrorCode error) { respond(ForVersion(error, version, 2)); });
}

}  // namespace sluice::broker
