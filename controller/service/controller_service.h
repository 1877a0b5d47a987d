#pragma once
// Serves the Controller's broker methods over protocol/rpc (on the same server that carries
// the Raft peer traffic). Requests arrive on network threads and run on the controller's event
// thread, which keeps the controller single-threaded. Metadata fetches long-poll: one with
// nothing new is parked until the controller changes or its deadline passes. A timer drives
// the leader's duties (lease expiry, leader rebalance).

#include <cstdint>
#include <functional>
#include <list>
#include <memory>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "controller/service/controller.h"
#include "protocol/rpc/server.h"

namespace sluice::controller {

class ControllerService {
 public:
  ControllerService(rpc::Server& server, asio::io_context& events, Controller& controller, int64_t tick_interval_ms);
  void Start();
  // Call while the event loop still runs: answers parked fetches and stops the timer.
  void Stop();

 private:
  struct ParkedFetch {
    metadata::FetchMetadataRequest request;
    std::function<void(absl::StatusOr<metadata::FetchMetadataResponse>)> reply;
    std::unique_ptr<asio::steady_timer> deadline;
  };

  template <class Req, class Resp>
  void Bind(rpc::Server& server, metadata::Method method,
            void (Controller::*op)(const Req&, std::function<void(absl::StatusOr<Resp>)>));
  void HandleFetch(const metadata::FetchMetadataRequest& request,
                   std::function<void(absl::StatusOr<metadata::FetchMetadataResponse>)> reply);
  void WakeParkedFetches();
  void ScheduleTick();

  asio::io_context& events_;
  Controller& controller_;
  int64_t tick_interval_ms_;
  asio::steady_timer tick_timer_;
  std::list<std::shared_ptr<ParkedFetch>> parked_;
};

}  // namespace sluice::controller
