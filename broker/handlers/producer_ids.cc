#include <asio/post.hpp>

#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "common/absl_compat.h"
#include "protocol/kafka/messages/init_producer_id.h"

namespace sluice::broker {

void HandleInitProducerId(BrokerContext& broker, RequestPtr request) {
  kafka::InitProducerIdRequest body;
  if (!request->Decode(body)) return;
  const RequestAuthorizer authorizer(broker, *request);
  // Transactional: WRITE on the transactional id. Idempotent: IDEMPOTENT_WRITE on the cluster
  // or WRITE on some topic (KIP-679).
  if (body.transactional_id && !authorizer.Check(AclOperation::kWrite, ResourceType::kTransactionalId,
                                                 *body.transactional_id,
                                                 kafka::ErrorCode::kTransactionalIdAuthorizationFailed)) {
    kafka::InitProducerIdResponse response;
    response.error_code = static_cast<int16_t>(kafka::ErrorCode::kTransactionalIdAuthorizationFailed);
    return request->Respond(response);
  }
  if (!body.transactional_id && !authorizer.AllowedOnCluster(AclOperation::kIdempotentWrite) &&
      !authorizer.AllowedOnAny(AclOperation::kWrite, ResourceType::kTopic)) {
    authorizer.AuditDenied(ResourceType::kCluster, security::kClusterResourceName,
                           kafka::ErrorCode::kClusterAuthorizationFailed);
    kafka::InitProducerIdResponse response;
    response.error_code = static_cast<int16_t>(kafka::ErrorCode::kClusterAuthorizationFailed);
    return request->Respond(response);
  }
  if (body.transactional_id) {
    // KIP-360: a producer id and epoch (v3+) ask to bump that epoch.
    const int16_t version = request->version();
    broker.txn_coordinator.InitProducerId(
        *body.transactional_id, body.transaction_timeout_ms, body.producer_id, body.producer_epoch,
        [request, version](txn::InitProducerIdResult result) {
          kafka::InitProducerIdResponse response;
          // Before version 4 clients do not know PRODUCER_FENCED.
          const bool old_client = version < 4 && result.error == kafka::ErrorCode::kProducerFenced;
          response.error_code = static_cast<int16_t>(old_client ? kafka::ErrorCode::kInvalidProducerEpoch : result.error);
          response.producer_id = result.producer_id;
          response.producer_epoch = result.producer_epoch;
          request->Respond(response);
        });
    return;
  }
  // An idempotent producer (no transactional id) gets a fresh id at epoch 0, also when it asks
  // to bump the epoch of its old id (KIP-360): sequence state starts over either way.
  broker.producer_ids.Next([request](absl::StatusOr<int64_t> id) {
    asio::post(request->io, [request, id = std::move(id)] {
      kafka::InitProducerIdResponse response;
      if (!id.ok()) {
        log::Warn("InitProducerId: cannot allocate a producer id: {}", id.status());
        response.error_code = static_cast<int16_t>(kafka::ErrorCode::kCoordinatorNotAvailable);
      } else {
        response.producer_id = *id;
        response.producer_epoch = 0;
      }
      request->Respond(response);
    });
  });
}

}  // namespace sluice::broker
