#pragma once
// The controller's properties (Kafka names where Kafka has one).

#include "common/config.h"

namespace sluice::controller {

const config::Schema& ControllerSchema();

}  // namespace sluice::controller
