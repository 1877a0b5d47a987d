// sluice-broker: serves the Kafka protocol over this node's partition logs.

#include <signal.h>
#include <sys/resource.h>

#include "broker/broker.h"
#include "broker/config/broker_config.h"
#include "common/absl_compat.h"
#include "common/log.h"
#include "common/process.h"

int main(int argc, char** argv) {
  using namespace sluice;
  int exit_code = 0;
  auto props = LoadProcessConfig("sluice-broker", broker::BrokerSchema(), argc, argv, &exit_code);
  if (!props) return exit_code;
  // Before any thread starts: only the broker's own wait may take the stop signals.
  BlockStopSignals();

  // Each hosted partition keeps three files open (log, offset index, time index): take the
  // whole hard limit rather than the usual soft 1024.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  broker::Broker broker(*props);
  if (absl::Status status = broker.Start(); !status.ok()) {
    log::Error("sluice-broker: {}", status);
    return status.code() == absl::StatusCode::kCancelled ? 0 : 1;
  }
  broker.RunUntilSignalled();
  return 0;
}
