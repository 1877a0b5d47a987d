// sluice-broker: serves the Kafka protocol over this node's partition logs.

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>

#include "broker/broker.h"
#include "broker/config/broker_config.h"
#include "common/absl_compat.h"
#include "common/log.h"
#include "common/process.h"
#include "storage/log/file_cache.h"

int main(int argc, char** argv) {
  using namespace sluice;
  int exit_code = 0;
  auto props = LoadProcessConfig("sluice-broker", broker::BrokerSchema(), argc, argv, &exit_code);
  if (!props) return exit_code;
  // Before any thread starts: only the broker's own wait may take the stop signals.
  BlockStopSignals();

  // Each hosted partition keeps its active segment's log open, plus the shared cache of other
  // log files (storage/log/file_cache.h): take the whole hard limit rather than the usual soft
  // 1024, and leave three quarters of it to partitions and connections.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  getrlimit(RLIMIT_NOFILE, &files);
  const size_t cache_size = std::min<size_t>(static_cast<size_t>(props->GetInt("log.fd.cache.size")),
                                             std::max<size_t>(16, static_cast<size_t>(files.rlim_cur) / 4));
  storage::FileCache::Shared().set_capacity(cache_size);
  log::Info("sluice-broker: file limit {}, {} descriptors for closed segments and indexes",
            static_cast<uint64_t>(files.rlim_cur), cache_size);

  broker::Broker broker(*props);
  if (absl::Status status = broker.Start(); !status.ok()) {
    log::Error("sluice-broker: {}", status);
    return status.code() == absl::StatusCode::kCancelled ? 0 : 1;
  }
  broker.RunUntilSignalled();
  return 0;
}
