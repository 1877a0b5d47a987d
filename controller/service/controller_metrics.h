#pragma once
// What the controller reports on its admin listener: /metrics gauges read from the controller
// on its event loop at scrape time (the controller's state is touched only there), and /readyz.

#include <string>

#include <asio/io_context.hpp>

#include "common/metrics/registry.h"
#include "controller/service/controller.h"

namespace sluice::controller {

// Every metric family a controller exports (also rendered into docs/operations.md).
void DescribeControllerMetrics(metrics::Registry& registry);
// Declares them and adds the collector that reads `controller` on `events`.
void RegisterControllerMetrics(metrics::Registry& registry, const Controller& controller, asio::io_context& events);

// Empty once this controller knows the quorum's leader (itself or another voter).
std::string ControllerNotReadyReason(const Controller& controller, asio::io_context& events);

}  // namespace sluice::controller
