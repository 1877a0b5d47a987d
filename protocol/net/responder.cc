#include "protocol/net/responder.h"

#include <asio/dispatch.hpp>

#include "common/log.h"
#include "protocol/net/connection.h"

namespace sluice::net {

void Responder::Send(kafka::OutboundMessage message, SendTiming timing) const {
  state_->Answer(Connection::Answer::kSend, std::move(message), timing);
}
void Responder::SendAndClose(kafka::OutboundMessage message) const {
  state_->Answer(Connection::Answer::kSendAndClose, std::move(message), {});
}
void Responder::NoResponse() const { state_->Answer(Connection::Answer::kNoResponse, {}, {}); }
void Responder::Close() const { state_->Answer(Connection::Answer::kClose, {}, {}); }

void Responder::State::Answer(Connection::Answer answer, kafka::OutboundMessage message, SendTiming timing) {
  if (answered.exchange(true)) {
    log::Error("kafka: request {} answered twice; extra answer ignored", sequence);
    return;
  }
  auto target = connection.lock();
  if (!target) return;
  // Inline when already on the connection's thread (the handler answered synchronously).
  asio::dispatch(io, [target = std::move(target), sequence = sequence, answer, message = std::move(message),
                       timing]() mutable { target->Fill(sequence, answer, std::move(message), timing); });
}

Responder::State::~State() {
  if (answered.load()) return;
  log::Error("kafka: handler dropped request {} without answering; closing the connection", sequence);
  Answer(Connection::Answer::kClose, {}, {});
}

}  // namespace sluice::net
