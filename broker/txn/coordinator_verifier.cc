#include "broker/txn/coordinator_verifier.h"

#include "common/absl_compat.h"
#include "common/log.h"
#include "protocol/kafka/messages/add_partitions_to_txn.h"

namespace sluice::broker::txn {
namespace {

using kafka::ErrorCode;

constexpr int16_t kVerifyVersion = 4;
constexpr int64_t kVerifyTimeoutMs = 10000;

// Errors that say "ask again later" become one the producer retries.
ErrorCode ForProducer(ErrorCode error) {
  switch (error) {
    case ErrorCode::kNotCoordinator:
    case ErrorCode::kCoordinatorNotAvailable:
    case ErrorCode::kCoordinatorLoadInProgress:
      return ErrorCode::kNotEnoughReplicas;
    default:
      return error;
  }
}

}  // namespace

void CoordinatorVerifier::Verify(TxnPartitionCheck check, std::function<void(ErrorCode)> done) {
  coordinator_.Post([this, check = std::move(check), done = std::move(done)]() mutable {
    const int32_t coordinator = coordinator_.CoordinatorOf(check.transactional_id);
    if (coordinator < 0) return done(ErrorCode::kNotEnoughReplicas);
    const TopicPartition tp(check.topic, check.partition);
    if (coordinator == coordinator_.broker_id()) {
      return coordinator_.VerifyPartitions(check.transactional_id, check.producer_id, check.producer_epoch, {tp},
                                           [tp, done = std::move(done)](std::map<TopicPartition, ErrorCode> errors) {
                                             done(ForProducer(errors[tp]));
                                           });
    }
    kafka::AddPartitionsToTxnRequest request;
    request.transactions.push_back({.transactional_id = check.transactional_id,
                                    .producer_id = check.producer_id,
                                    .producer_epoch = check.producer_epoch,
                                    .verify_only = true,
                                    .topics = {{.name = check.topic, .partitions = {check.partition}}}});
    coordinator_.channels().Call<kafka::AddPartitionsToTxnRequest, kafka::AddPartitionsToTxnResponse>(
        coordinator, kVerifyVersion, request, kVerifyTimeoutMs,
        [check, done = std::move(done)](absl::StatusOr<kafka::AddPartitionsToTxnResponse> response) {
          if (!response.ok()) {
            log::Warn("transaction {}: cannot reach its coordinator to verify {}-{}: {}", check.transactional_id,
                      check.topic, check.partition, response.status());
            return done(ErrorCode::kNotEnoughReplicas);
          }
          if (response->error_code != 0) return done(ForProducer(static_cast<ErrorCode>(response->error_code)));
          for (const auto& txn : response->results_by_transaction) {
            for (const auto& topic : txn.topic_results) {
              for (const auto& p : topic.results_by_partition) {
                if (topic.name == check.topic && p.partition_index == check.partition) {
                  return done(ForProducer(static_cast<ErrorCode>(p.partition_error_code)));
                }
              }
            }
          }
          done(ErrorCode::kNotEnoughReplicas);  // an answer without our partition
        });
  });
}

}  // namespace sluice::broker::txn
