#pragma once
// What both server processes do before they start: read flags and properties (answering
// --help), set the log level, and take the stop signals away from every thread so that the
// main thread can wait for them with sigwait while event loops run elsewhere.

#include <signal.h>

#include <optional>

#include "common/config.h"

namespace sluice {

// Returns the properties, or nullopt with `*exit_code` set (0 after --help, 2 on bad input,
// with the message already printed).
std::optional<config::Properties> LoadProcessConfig(const char* program, const config::Schema& schema, int argc,
                                                    char** argv, int* exit_code);

// SIGTERM and SIGINT.
sigset_t StopSignals();
// Blocks the stop signals in the calling thread and every thread it starts later; ignores SIGPIPE
// (a peer that closes its socket must not kill the process).
void BlockStopSignals();

}  // namespace sluice
