#pragma once
// Serves the Controller over protocol/rpc. Requests arrive on network threads and run one at a
// time on the controller's event loop, which keeps the state machine single-threaded and keeps
// metadata-log fsyncs off the network threads. Metadata fetches long-poll: a fetch with nothing
// new is parked until the next commit or its deadline.

#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "controller/service/controller.h"
#include "protocol/rpc/server.h"

namespace sluice::controller {

class ControllerService {
 public:
  ControllerService(asio::io_context& network, asio::io_context& events, Controller& controller, std::string host,
                    uint16_t port, int64_t lease_check_interval_ms);
  absl::Status Start();
  void Stop();
  uint16_t port() const { return server_.port(); }

 private:
  struct ParkedFetch {
    int64_t after_offset;
    std::function<void(absl::StatusOr<metadata::FetchMetadataResponse>)> reply;
    std::unique_ptr<asio::steady_timer> deadline;
  };

  template <class Req, class Resp>
  void Bind(metadata::Method method, absl::StatusOr<Resp> (Controller::*op)(const Req&));
  void HandleFetch(const metadata::FetchMetadataRequest& request,
                   std::function<void(absl::StatusOr<metadata::FetchMetadataResponse>)> reply);
  void WakeParkedFetches();
  void ScheduleLeaseCheck();

  asio::io_context& events_;
  Controller& controller_;
  rpc::Server server_;
  int64_t lease_check_interval_ms_;
  asio::steady_timer lease_timer_;
  std::list<std::shared_ptr<ParkedFetch>> parked_;
};

}  // namespace sluice::controller
