#pragma once
// Turns a request frame into a call of its API's handler: decodes the header, refuses APIs and
// versions Sluice does not serve (closing the connection with a log line, as Kafka does for
// requests it cannot parse), and routes the rest.

#include <memory>
#include <string>

#include "broker/handlers/broker_context.h"
#include "protocol/net/kafka_server.h"

namespace sluice::broker {

class RequestDispatcher {
 public:
  explicit RequestDispatcher(BrokerContext& broker) : broker_(broker) {}
  void Dispatch(const net::ConnectionInfo& connection, std::shared_ptr<const std::string> frame,
                net::Responder responder);

 private:
  BrokerContext& broker_;
};

}  // namespace sluice::broker
