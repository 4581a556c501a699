// The sensor as a long-running process: capture, the pipeline and its
// outputs, the timers that check for losses and refresh the watch list, the
// health alerts, reload, and what it tells a service manager (sd_notify).
// `permsentry run` parses its flags and signals and hands over to RunDaemon.
#ifndef PERMSENTRY_DAEMON_DAEMON_H_
#define PERMSENTRY_DAEMON_DAEMON_H_

#include <csignal>
#include <optional>
#include <string>

#include "capture/backend.h"
#include "config/config.h"

namespace permsentry {

struct DaemonOptions {
  std::optional<std::string> config_path;  // re-read on reload; none: built-in
  std::optional<OutputFormat> format;      // a command-line format, kept over the file's
  std::optional<std::string> ready_file;   // created with our pid once attached
  std::optional<std::string> record_path;  // every raw record also goes here (benchmarks)
  bool verbose = false;                    // libbpf's log on stderr
  bool alerts_only = false;                // stdout: alerts only
  BackendChoice backend = BackendChoice::kAuto;
  TracepointFlavour flavour = TracepointFlavour::kAuto;
};

// What asks the running daemon to stop or to reload its configuration: flags
// its owner's signal handlers set.
struct DaemonSignals {
  volatile std::sig_atomic_t* stop;
  volatile std::sig_atomic_t* reload;
};

// Runs the sensor on `config` until *signals.stop is set, then detaches and
// says on stderr what it saw and lost. Returns the exit status: 0 after a clean
// stop, 1 when it cannot run (or its output failed).
int RunDaemon(const DaemonOptions& opts, Config config, DaemonSignals signals);

}  // namespace permsentry

#endif  // PERMSENTRY_DAEMON_DAEMON_H_
