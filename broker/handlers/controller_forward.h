#pragma once
// Admin requests are decided by the controller. The broker forwards them and answers the
// client once it has applied the resulting metadata itself, so that the client's next request
// to this broker already sees the change.

#include <memory>

#include <asio/post.hpp>

#include "broker/handlers/broker_context.h"
#include "broker/server/request_context.h"

namespace sluice::broker {

// `answer(const absl::StatusOr<Resp>&)` runs on the request's connection thread.
template <class Req, class Resp, class Answer>
void ForwardToController(BrokerContext& broker, const RequestPtr& request, metadata::Method method, const Req& body,
                         Answer answer) {
  broker.controller.Forward<Req, Resp>(
      method, body, [&broker, request, answer = std::move(answer)](absl::StatusOr<Resp> response) mutable {
        const int64_t offset = response.ok() ? response->metadata_offset() : -1;
        auto shared = std::make_shared<absl::StatusOr<Resp>>(std::move(response));
        broker.metadata.WhenApplied(offset, [request, shared, answer = std::move(answer)]() mutable {
          asio::post(request->io, [shared, answer = std::move(answer)]() mutable { answer(*shared); });
        });
      });
}

}  // namespace sluice::broker
