// `permsentry run`: its flags and signals; the daemon module does the rest.
#include <getopt.h>
#include <malloc.h>
#include <signal.h>

#include <csignal>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "capture/backend.h"
#include "cli/commands.h"
#include "config/config.h"
#include "daemon/daemon.h"

namespace permsentry {
namespace {

constexpr char kRunUsage[] =
    "usage: permsentry run [--config FILE] [--format json|text] [--alerts-only]\n"
    "                      [--ready-file PATH] [--backend auto|rich|tracepoint] [--verbose]\n"
    "                      [--record FILE]\n"
    "\n"
    "Attach to the kernel and print one event per line on stdout until SIGINT or\n"
    "SIGTERM; then detach and print on stderr how many events were seen and lost.\n"
    "Events that match a rule are alerts (event.kind \"alert\", rule.id, severity)\n"
    "and also go to the configured sinks and to `permsentry tail` clients.\n"
    "\n"
    "  -c, --config FILE       YAML configuration (default: built-in; see\n"
    "                          --print-default-config). SIGHUP re-reads it; a bad\n"
    "                          file is reported and the running config kept.\n"
    "  -f, --format FORMAT     json (ECS, one object per line; default) or text\n"
    "      --alerts-only       print alerts only, not every event\n"
    "  -r, --ready-file PATH   create PATH (containing our pid) once every program is\n"
    "                          attached, remove it on exit; scripts can wait for it\n"
    "  -b, --backend NAME      capture backend: auto (default: rich where the kernel\n"
    "                          allows fentry/fexit, else tracepoint), rich, or\n"
    "                          tracepoint; tp_btf and raw_tp force the tracepoint\n"
    "                          backend's flavour (`permsentry probe` says what runs)\n"
    "  -v, --verbose           show libbpf's log (verifier output) on stderr\n"
    "      --record FILE       also write every raw ring record to FILE (a 4-byte\n"
    "                          length, then the record), for `permsentry_bench\n"
    "                          --replay` to measure the pipeline on exactly them\n"
    "      --print-default-config  print the built-in configuration (rules included)\n"
    "                          and exit\n"
    "  -h, --help              this help\n"
    "\n"
    "Exit status: 0 after a clean stop, 1 if the sensor cannot run, 2 for bad usage\n"
    "or a bad configuration file.\n";

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_reload = 0;

void OnStopSignal(int) { g_stop = 1; }
void OnHangup(int) { g_reload = 1; }

void InstallSignals() {
  struct sigaction sa {};
  // No SA_RESTART: a signal must interrupt the ring poll so we stop promptly.
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = OnHangup;
  sigaction(SIGHUP, &sa, nullptr);
  // A closed stdout is reported by write() returning EPIPE, not by dying.
  signal(SIGPIPE, SIG_IGN);
}

struct RunOptions {
  std::optional<std::string> config_path;
  std::optional<OutputFormat> format;
  std::optional<std::string> ready_file;
  std::optional<std::string> record_path;
  bool verbose = false;
  bool alerts_only = false;
  BackendChoice backend = BackendChoice::kAuto;
  TracepointFlavour flavour = TracepointFlavour::kAuto;
};

}  // namespace

int RunCommand(int argc, char** argv) {
  // Blocks of 256 KiB and more (a storm's stdout backlog as a slow reader
  // lets it grow) are mapped on their own and given back when freed. glibc
  // otherwise raises this threshold to the largest block freed so far, and
  // the grown buffer's earlier copies stay resident in the heap after it.
  mallopt(M_MMAP_THRESHOLD, 256 << 10);
  static const option kLong[] = {
      {"config", required_argument, nullptr, 'c'},
      {"format", required_argument, nullptr, 'f'},
      {"ready-file", required_argument, nullptr, 'r'},
      {"verbose", no_argument, nullptr, 'v'},
      {"backend", required_argument, nullptr, 'b'},
      {"print-default-config", no_argument, nullptr, 'P'},
      {"alerts-only", no_argument, nullptr, 'A'},
      {"record", required_argument, nullptr, 'R'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  RunOptions opts;
  optind = 1;
  for (int c; (c = getopt_long(argc, argv, "c:f:r:b:vh", kLong, nullptr)) != -1;) {
    switch (c) {
      case 'c':
        opts.config_path = optarg;
        break;
      case 'f':
        if (absl::string_view(optarg) == "json") {
          opts.format = OutputFormat::kJson;
        } else if (absl::string_view(optarg) == "text") {
          opts.format = OutputFormat::kText;
        } else {
          std::fprintf(stderr, "permsentry run: --format must be json or text, not \"%s\"\n",
                       optarg);
          return kExitUsage;
        }
        break;
      case 'r':
        opts.ready_file = optarg;
        break;
      case 'v':
        opts.verbose = true;
        break;
      case 'b': {
        const absl::string_view b = optarg;
        if (b == "auto") {
          opts.backend = BackendChoice::kAuto;
        } else if (b == "rich") {
          opts.backend = BackendChoice::kRich;
        } else if (b == "tracepoint") {
          opts.backend = BackendChoice::kTracepoint;
        } else if (b == "tp_btf" || b == "raw_tp") {
          // The tracepoint backend's two flavours, as earlier releases named them.
          opts.backend = BackendChoice::kTracepoint;
          opts.flavour = b == "tp_btf" ? TracepointFlavour::kTpBtf : TracepointFlavour::kRawTp;
        } else {
          std::fprintf(stderr,
                       "permsentry run: --backend must be auto, rich or tracepoint (or tp_btf, "
                       "raw_tp), not \"%s\"\n",
                       optarg);
          return kExitUsage;
        }
        break;
      }
      case 'A':
        opts.alerts_only = true;
        break;
      case 'R':
        opts.record_path = optarg;
        break;
      case 'P':
        std::fputs(DefaultConfigYaml().c_str(), stdout);
        return kExitOk;
      case 'h':
        std::fputs(kRunUsage, stdout);
        return kExitOk;
      default:
        std::fputs(kRunUsage, stderr);
        return kExitUsage;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "permsentry run: unexpected argument \"%s\"\n%s", argv[optind], kRunUsage);
    return kExitUsage;
  }

  Config config;
  if (opts.config_path) {
    std::optional<Config> loaded = LoadConfigOrSay(*opts.config_path);
    if (!loaded) return kExitUsage;
    config = *std::move(loaded);
  }
  if (opts.format) config.format = *opts.format;

  InstallSignals();
  return RunDaemon(DaemonOptions{.config_path = opts.config_path,
                                 .format = opts.format,
                                 .ready_file = opts.ready_file,
                                 .record_path = opts.record_path,
                                 .verbose = opts.verbose,
                                 .alerts_only = opts.alerts_only,
                                 .backend = opts.backend,
                                 .flavour = opts.flavour},
                   std::move(config), DaemonSignals{.stop = &g_stop, .reload = &g_reload});
}

}  // namespace permsentry
