#pragma once
// Typed helpers over Client::Call and Server::Register for protobuf messages.

#include <functional>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "absl/status/statusor.h"
#include "protocol/rpc/client.h"
#include "protocol/rpc/server.h"

namespace sluice::rpc {

template <class Req, class Resp>
void CallProto(Client& client, uint16_t method, const Req& request, int timeout_ms,
               std::function<void(absl::StatusOr<Resp>)> done) {
  std::string payload;
  if (!request.SerializeToString(&payload)) {
    return done(absl::InvalidArgumentError(fmt::format("cannot serialize rpc request for method {}", method)));
  }
  client.Call(method, std::move(payload), timeout_ms,
              [method, done = std::move(done)](absl::StatusOr<std::string> reply) {
                if (!reply.ok()) return done(std::move(reply).status());
                Resp response;
                if (!response.ParseFromString(*reply)) {
                  return done(absl::DataLossError(fmt::format("malformed rpc response for method {}", method)));
                }
                done(std::move(response));
              });
}

// `handler` runs on an io_context thread with the request's connection; its reply callback is
// thread-safe and must be called exactly once (it may be kept and called later, e.g. for a
// long poll).
template <class Req, class Resp>
void RegisterProtoWithSession(
    Server& server, uint16_t method,
    std::function<void(Server::SessionId, const Req&, std::function<void(absl::StatusOr<Resp>)>)> handler) {
  server.RegisterWithSession(method, [method, handler = std::move(handler)](Server::SessionId session,
                                                                            std::string_view payload,
                                                                            Server::Reply reply) {
    Req request;
    if (!request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      return reply(absl::InvalidArgumentError(fmt::format("malformed rpc request for method {}", method)));
    }
    handler(session, request, [reply = std::move(reply)](absl::StatusOr<Resp> response) {
      if (!response.ok()) return reply(std::move(response).status());
      std::string bytes;
      if (!response->SerializeToString(&bytes)) return reply(absl::InternalError("cannot serialize rpc response"));
      reply(std::move(bytes));
    });
  });
}

template <class Req, class Resp>
void RegisterProto(Server& server, uint16_t method,
                   std::function<void(const Req&, std::function<void(absl::StatusOr<Resp>)>)> handler) {
  RegisterProtoWithSession<Req, Resp>(
      server, method,
      [handler = std::move(handler)](Server::SessionId, const Req& request,
                                     std::function<void(absl::StatusOr<Resp>)> reply) { handler(request, std::move(reply)); });
}

}  // namespace sluice::rpc
