// sluice-controller: the metadata service brokers register with and fetch metadata from.

#include <signal.h>

#include <cstdio>
#include <thread>

#include <asio/io_context.hpp>

#include "common/absl_compat.h"
#include "common/config.h"
#include "common/endpoint.h"
#include "common/log.h"
#include "common/process.h"
#include "controller/service/controller.h"
#include "controller/service/controller_config.h"
#include "controller/service/controller_service.h"

int main(int argc, char** argv) {
  using namespace sluice;
  int exit_code = 0;
  auto props = LoadProcessConfig("sluice-controller", controller::ControllerSchema(), argc, argv, &exit_code);
  if (!props) return exit_code;
  auto listener = ParseEndpoint(props->GetString("listeners"));
  if (!listener.ok()) {
    std::fprintf(stderr, "sluice-controller: listeners: %s\n", listener.status().ToString().c_str());
    return 2;
  }
  const std::string host = listener->host;
  const uint16_t port = listener->port;
  controller::ControllerOptions options{.broker_session_timeout_ms = props->GetLong("broker.session.timeout.ms")};
  auto controller = controller::Controller::Open(props->GetString("metadata.log.dir"), options, SystemClock::Instance());
  if (!controller.ok()) {
    log::Error("sluice-controller: cannot open metadata log: {}", controller.status());
    return 1;
  }
  // Stop signals are taken by sigwait below, never by a thread that runs an event loop.
  BlockStopSignals();
  const sigset_t stop_signals = StopSignals();

  asio::io_context network;
  asio::io_context events;
  auto network_guard = asio::make_work_guard(network);
  auto events_guard = asio::make_work_guard(events);
  controller::ControllerService service(network, events, **controller, host, port,
                                        std::max<int64_t>(100, options.broker_session_timeout_ms / 4));
  if (absl::Status status = service.Start(); !status.ok()) {
    log::Error("sluice-controller: cannot listen on {}:{}: {}", host, port, status);
    return 1;
  }
  log::Info("sluice-controller {} listening on {}:{}", props->GetInt("node.id"), host, service.port());
  std::thread events_thread([&] { events.run(); });
  std::thread network_thread([&] { network.run(); });

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log::Info("sluice-controller: signal {}, shutting down", signal_number);
  service.Stop();
  network_guard.reset();
  events_guard.reset();
  network.stop();
  events.stop();
  network_thread.join();
  events_thread.join();
  log::Info("sluice-controller: stopped");
  return 0;
}
