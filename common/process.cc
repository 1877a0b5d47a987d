#include "common/process.h"

#include <cstdio>

#include "common/log.h"

namespace sluice {

std::optional<config::Properties> LoadProcessConfig(const char* program, const config::Schema& schema, int argc,
                                                    char** argv, int* exit_code) {
  auto command_line = config::ParseCommandLine(argc, argv);
  if (!command_line.ok()) {
    std::fprintf(stderr, "%s: %s\n", program, command_line.status().ToString().c_str());
    *exit_code = 2;
    return std::nullopt;
  }
  if (command_line->help) {
    std::printf("usage: %s [--config FILE] [--override key=value]...\n"
                "Properties (also settable as SLUICE_<NAME> environment variables, e.g. SLUICE_LOG_LEVEL):\n%s",
                program, schema.Help().c_str());
    *exit_code = 0;
    return std::nullopt;
  }
  auto props = config::Load(schema, *command_line);
  if (!props.ok()) {
    std::fprintf(stderr, "%s: %s\n", program, props.status().ToString().c_str());
    *exit_code = 2;
    return std::nullopt;
  }
  const std::string level = props->GetString("log.level");
  log::SetLevel(level == "debug"  ? log::Level::kDebug
                : level == "warn"  ? log::Level::kWarn
                : level == "error" ? log::Level::kError
                                   : log::Level::kInfo);
  return *std::move(props);
}

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

void BlockStopSignals() {
  const sigset_t stop_signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace sluice
