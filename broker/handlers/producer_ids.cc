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
    kafka::InitProducerIdResponse response;
    response.error_code = static_cast<int16_t>(kafka::ErrorCode::kTransactionalIdAuthorizationFailed);
    log::Warn("InitProducerId from {} for transactional id '{}': transactions are not supported yet", request->peer,
              *body.transactional_id);
    request->Respond(response);
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
