// `permsentry run`: attach, stream events to stdout until SIGINT/SIGTERM.
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "attribute/attribution.h"
#include "attribute/process_table.h"
#include "attribute/seed.h"
#include "capture/probe.h"
#include "capture/sensor.h"
#include "cli/commands.h"
#include "cli/config.h"
#include "cli/status.h"
#include "common/names.h"
#include "decode/decode.h"
#include "render/render.h"

namespace permsentry {
namespace {

constexpr size_t kFlushBytes = 256 << 10;

constexpr char kRunUsage[] =
    "usage: permsentry run [--config FILE] [--format json|text] [--ready-file PATH]\n"
    "                      [--backend auto|tp_btf|raw_tp] [--verbose]\n"
    "\n"
    "Attach to the kernel and print one event per line on stdout until SIGINT or\n"
    "SIGTERM; then detach and print on stderr how many events were seen and lost.\n"
    "\n"
    "  -c, --config FILE       YAML configuration (default: built-in; see\n"
    "                          --print-default-config). SIGHUP re-reads it; a bad\n"
    "                          file is reported and the running config kept.\n"
    "  -f, --format FORMAT     json (ECS, one object per line; default) or text\n"
    "  -r, --ready-file PATH   create PATH (containing our pid) once every program is\n"
    "                          attached, remove it on exit; scripts can wait for it\n"
    "  -b, --backend NAME      syscall tracepoint flavour: auto (default: tp_btf,\n"
    "                          falling back to raw_tp), tp_btf or raw_tp\n"
    "  -v, --verbose           show libbpf's log (verifier output) on stderr\n"
    "      --print-default-config  print the built-in configuration and exit\n"
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

std::unique_ptr<Renderer> MakeRenderer(OutputFormat f) {
  if (f == OutputFormat::kText) return std::make_unique<TextRenderer>();
  return std::make_unique<JsonRenderer>(Hostname());
}

// Buffers rendered lines and writes them to stdout in one write() per batch.
class StdoutWriter {
 public:
  void Append(absl::string_view line) { buf_.append(line.data(), line.size()); }
  size_t size() const { return buf_.size(); }
  // False when stdout is gone (EPIPE or another hard error).
  bool Flush() {
    if (error_ != 0) {  // stdout already failed: keep saying so
      buf_.clear();
      return false;
    }
    size_t off = 0;
    while (off < buf_.size()) {
      const ssize_t n = write(STDOUT_FILENO, buf_.data() + off, buf_.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        error_ = errno;
        buf_.clear();
        return false;
      }
      off += static_cast<size_t>(n);
    }
    buf_.clear();
    return true;
  }
  int error() const { return error_; }

 private:
  std::string buf_;
  int error_ = 0;
};

struct RunOptions {
  std::optional<std::string> config_path;
  std::optional<OutputFormat> format;
  std::optional<std::string> ready_file;
  bool verbose = false;
  Backend backend = Backend::kAuto;
};

}  // namespace

int RunCommand(int argc, char** argv) {
  static const option kLong[] = {
      {"config", required_argument, nullptr, 'c'},
      {"format", required_argument, nullptr, 'f'},
      {"ready-file", required_argument, nullptr, 'r'},
      {"verbose", no_argument, nullptr, 'v'},
      {"backend", required_argument, nullptr, 'b'},
      {"print-default-config", no_argument, nullptr, 'P'},
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
          opts.backend = Backend::kAuto;
        } else if (b == "tp_btf") {
          opts.backend = Backend::kTpBtf;
        } else if (b == "raw_tp") {
          opts.backend = Backend::kRawTp;
        } else {
          std::fprintf(stderr,
                       "permsentry run: --backend must be auto, tp_btf or raw_tp, not \"%s\"\n",
                       optarg);
          return kExitUsage;
        }
        break;
      }
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
    absl::StatusOr<Config> loaded = LoadConfigFile(*opts.config_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "permsentry: %s\n", std::string(loaded.status().message()).c_str());
      return kExitUsage;
    }
    config = *loaded;
  }
  if (opts.format) config.format = *opts.format;

  if (absl::Status s = CheckPrerequisites(); !s.ok()) {
    std::fprintf(stderr, "permsentry: %s\n", std::string(s.message()).c_str());
    return kExitFailure;
  }

  InstallSignals();
  auto watch_list = std::make_shared<const std::vector<WatchEntry>>(config.watch);
  std::unique_ptr<Renderer> renderer = MakeRenderer(config.format);
  renderer->SetWatchList(watch_list);
  StdoutWriter out;
  const DecodeOptions decode_options{.boot_to_realtime_ns = BootToRealtimeOffsetNs()};
  uint64_t delivered = 0, undecodable = 0;
  // A rename, link, unlink or create at a watched name may have put a new inode
  // behind it (or removed one): the kernel's identity maps are refreshed soon
  // after. Until then the watched name itself still matches in the kernel.
  bool watch_refresh_due = false;

  // AI sessions: the signatures (the kernel's maps are built from them) and
  // userspace's copy of the process table.
  auto signatures = std::make_shared<const SignatureSet>(config.signatures);
  ProcessTable table;
  table.SetSignatures(signatures.get());
  AttributionCache attribution_cache;
  Sensor* sensor_ptr = nullptr;
  bool status_dirty = true;

  auto report_undecodable = [&](const absl::Status& s) {
    // Never silent: counted, reported in the summary, the first few shown.
    if (++undecodable <= 5) {
      std::fprintf(stderr, "permsentry: undecodable record: %s\n",
                   std::string(s.message()).c_str());
    }
  };
  auto on_record = [&](absl::Span<const uint8_t> record) {
    if (RecordType(record) == PS_EV_PROC) {
      absl::StatusOr<ProcEvent> pe = DecodeProcEvent(record, decode_options);
      if (!pe.ok()) {
        report_undecodable(pe.status());
        return;
      }
      table.Apply(*pe, absl::Now());
      if (pe->kind == ProcEvent::Kind::kExec && (pe->flags & PS_PF_SESSION_ROOT)) {
        status_dirty = true;
      }
      return;
    }
    absl::StatusOr<SyscallEvent> ev = DecodeSyscallEvent(record, decode_options);
    if (!ev.ok()) {
      report_undecodable(ev.status());
      return;
    }
    ++delivered;
    // An alert candidate can overtake the fork and exec records of its own
    // process (they travel in the bulk ring): fetch them before attributing.
    if (ev->urgent && sensor_ptr != nullptr &&
        (table.Find(ev->proc.key()) == nullptr ||
         (!ev->ai_session.empty() && table.Session(ev->ai_session) == nullptr))) {
      (void)sensor_ptr->DrainBulk();
    }
    ev->ai = attribution_cache.Get(SubjectOf(*ev), table);
    if (ev->ai->kind != Attribution::Kind::kNone) {
      if (AiSession* m = table.MutableSession(ev->ai->session_root); m != nullptr) {
        ++(ev->ai->kind == Attribution::Kind::kAgent ? m->agent_changes : m->assisted_changes);
        status_dirty = true;
      }
    }
    if (ev->watch && ev->success()) {
      const Family f = ev->sc->family;
      if (f == Family::kRename || f == Family::kLink || f == Family::kSymlink ||
          f == Family::kUnlink || (f == Family::kOpen && (ev->open_flags.value_or(0) & O_CREAT)))
        watch_refresh_due = true;
    }
    out.Append(renderer->Render(*ev));
    // A drained backlog is written in pieces: one buffer for all of it would
    // grow to the ring's size and fault in fresh pages every time.
    if (out.size() >= kFlushBytes) (void)out.Flush();
  };

  SensorOptions sensor_options{.bulk_ring_bytes = config.bulk_ring_mb << 20,
                               .urgent_ring_bytes = config.urgent_ring_kb << 10,
                               .process_table_entries = config.process_table_entries,
                               .verbose = opts.verbose,
                               .backend = opts.backend};
  absl::StatusOr<std::unique_ptr<Sensor>> sensor = Sensor::Start(sensor_options, on_record);
  if (!sensor.ok()) {
    std::fprintf(stderr, "permsentry: %s\n", std::string(sensor.status().message()).c_str());
    return kExitFailure;
  }
  std::fprintf(stderr, "permsentry: attached (%s backend), streaming %s events\n",
               (*sensor)->backend().c_str(),
               config.format == OutputFormat::kJson ? "json" : "text");
  if (!(*sensor)->process_error().empty()) {
    std::fprintf(stderr,
                 "permsentry: WARNING: processes are not tracked, events carry no AI "
                 "attribution: %s\n",
                 (*sensor)->process_error().c_str());
  }
  if (!(*sensor)->io_uring_error().empty()) {
    std::fprintf(stderr, "permsentry: WARNING: io_uring submissions are not watched: %s\n",
                 (*sensor)->io_uring_error().c_str());
  }

  sensor_ptr = sensor->get();

  // Agent signatures into the kernel, then the processes already running.
  {
    absl::StatusOr<KernelSignatures> ks = BuildKernelSignatures(*signatures);
    absl::Status s = ks.ok() ? (*sensor)->SetSignatures(*ks) : ks.status();
    if (!s.ok()) {
      std::fprintf(stderr, "permsentry: ALERT: AI agent signatures not loaded: %s\n",
                   std::string(s.message()).c_str());
    }
    absl::StatusOr<std::vector<KernelProc>> procs =
        (*sensor)->process_error().empty()
            ? (*sensor)->SeedProcesses()
            : absl::StatusOr<std::vector<KernelProc>>(std::vector<KernelProc>{});
    if (!procs.ok()) {
      std::fprintf(stderr, "permsentry: ALERT: running processes not seeded: %s\n",
                   std::string(procs.status().message()).c_str());
    } else {
      const std::vector<size_t> changed = SeedSessions(
          *procs, *signatures, table, absl::Now(), [](uint32_t pid) { return ReadProcFs(pid); });
      for (size_t i : changed) {
        if (absl::Status ws = (*sensor)->WriteProc((*procs)[i]); !ws.ok()) {
          std::fprintf(stderr, "permsentry: ALERT: AI session of running pid %u not set: %s\n",
                       (*procs)[i].key.tgid, std::string(ws.message()).c_str());
        }
      }
      std::fprintf(stderr,
                   "permsentry: process table seeded with %zu running processes, %zu live AI "
                   "sessions\n",
                   procs->size(), table.LiveSessions().size());
    }
  }

  // Load the watch list into the kernel. A failure (maps full) is an alert, not
  // a reason to stop capturing.
  absl::Time next_watch_refresh, last_watch_refresh = absl::InfinitePast();
  auto refresh_watch = [&](bool announce) {
    const KernelWatch kw = BuildKernelWatch(*watch_list);
    last_watch_refresh = absl::Now();
    next_watch_refresh = last_watch_refresh + absl::Seconds(config.watch_refresh_s);
    watch_refresh_due = false;
    if (absl::Status s = (*sensor)->SetWatch(kw); !s.ok()) {
      std::fprintf(stderr, "permsentry: ALERT: credential-file watch incomplete: %s\n",
                   std::string(s.message()).c_str());
      return;
    }
    if (announce) {
      std::fprintf(stderr,
                   "permsentry: watching %zu credential-file entries (%zu paths present, %zu "
                   "inodes)\n",
                   watch_list->size(), kw.paths_present, kw.inodes.size());
    }
  };
  refresh_watch(/*announce=*/true);

  // Ready only once the watch list is in the kernel: what is reported from here
  // on is complete.
  if (opts.ready_file) {
    const int fd = open(opts.ready_file->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      std::fprintf(stderr, "permsentry: cannot create ready file %s: %s\n",
                   opts.ready_file->c_str(), strerror(errno));
      return kExitFailure;
    }
    const std::string pid = absl::StrCat(getpid(), "\n");
    (void)!write(fd, pid.data(), pid.size());
    close(fd);
  }

  SensorStats reported;  // counters already reported as lost
  absl::Time next_stats = absl::Now() + absl::Milliseconds(config.stats_interval_ms);
  int exit_code = kExitOk;
  StatusWriter status_writer(config.status_file);
  absl::Time last_status = absl::InfinitePast();
  const absl::Time started = absl::Now();
  auto write_status = [&](const SensorStats& st) {
    StatusSnapshot snap{.pid = static_cast<uint32_t>(getpid()),
                        .started = started,
                        .now = absl::Now(),
                        .backend = (*sensor)->backend(),
                        .events = delivered,
                        .lost = st.lost_bulk,
                        .kernel_processes = (*sensor)->CountProcs().value_or(0),
                        .live_processes = table.live_count(),
                        .exited_processes = table.exited_count(),
                        .untracked_processes = st.proc_full,
                        .sessions = {}};
    for (const AiSession* s : table.AllSessions()) snap.sessions.push_back(*s);
    if (absl::Status ws = status_writer.Write(snap); !ws.ok()) {
      std::fprintf(stderr, "permsentry: %s\n", std::string(ws.message()).c_str());
    }
    status_dirty = false;
    last_status = absl::Now();
  };
  uint64_t reported_proc_full = 0;
  auto check_losses = [&]() {
    absl::StatusOr<SensorStats> st = (*sensor)->ReadStats();
    if (!st.ok()) return;
    write_status(*st);
    if (st->proc_full != reported_proc_full) {
      std::fprintf(stderr,
                   "permsentry: ALERT: process table full: %llu new processes not tracked "
                   "(capture.process_table_entries = %u)\n",
                   static_cast<unsigned long long>(st->proc_full - reported_proc_full),
                   config.process_table_entries);
      reported_proc_full = st->proc_full;
    }
    if (st->lost_bulk != reported.lost_bulk || st->lost_urgent != reported.lost_urgent) {
      LossReport loss{.time = absl::Now(),
                      .lost_bulk = st->lost_bulk - reported.lost_bulk,
                      .lost_urgent = st->lost_urgent - reported.lost_urgent,
                      .lost_bulk_total = st->lost_bulk,
                      .lost_urgent_total = st->lost_urgent};
      out.Append(renderer->Render(loss));
      std::fprintf(stderr,
                   "permsentry: ALERT: %llu events lost (ring buffer full), %llu alert "
                   "candidates overflowed the wakeup ring\n",
                   static_cast<unsigned long long>(loss.lost_bulk),
                   static_cast<unsigned long long>(loss.lost_urgent));
      reported = *st;
    }
  };

  while (!g_stop) {
    absl::StatusOr<int> n = (*sensor)->Poll(static_cast<int>(config.drain_interval_ms));
    if (!n.ok()) {
      std::fprintf(stderr, "permsentry: %s\n", std::string(n.status().message()).c_str());
      exit_code = kExitFailure;
      break;
    }
    // The status file follows session starts and changes within 100 ms.
    if (absl::Now() >= next_stats ||
        (status_dirty && absl::Now() - last_status >= absl::Milliseconds(100))) {
      check_losses();
      next_stats = absl::Now() + absl::Milliseconds(config.stats_interval_ms);
    }
    // At most ten refreshes a second, however many renames a tool makes.
    if ((watch_refresh_due && absl::Now() - last_watch_refresh >= absl::Milliseconds(100)) ||
        absl::Now() >= next_watch_refresh) {
      refresh_watch(/*announce=*/false);
    }
    if (!out.Flush()) {
      if (out.error() != EPIPE) {
        std::fprintf(stderr, "permsentry: writing events to stdout failed: %s\n",
                     strerror(out.error()));
        exit_code = kExitFailure;
      }
      break;
    }
    if (g_reload) {
      g_reload = 0;
      if (opts.config_path) {
        absl::StatusOr<Config> loaded = LoadConfigFile(*opts.config_path);
        if (!loaded.ok()) {
          std::fprintf(stderr, "permsentry: reload failed, keeping the running config: %s\n",
                       std::string(loaded.status().message()).c_str());
        } else {
          if (!opts.format) config.format = loaded->format;
          config.watch = loaded->watch;
          config.watch_refresh_s = loaded->watch_refresh_s;
          // New signatures apply to execs from now on; running sessions stay.
          if (absl::StatusOr<KernelSignatures> ks = BuildKernelSignatures(loaded->signatures);
              ks.ok() && (*sensor)->SetSignatures(*ks).ok()) {
            config.signatures = loaded->signatures;
            signatures = std::make_shared<const SignatureSet>(config.signatures);
            table.SetSignatures(signatures.get());
          } else {
            std::fprintf(stderr, "permsentry: ALERT: new AI agent signatures not loaded\n");
          }
          watch_list = std::make_shared<const std::vector<WatchEntry>>(config.watch);
          renderer = MakeRenderer(config.format);
          renderer->SetWatchList(watch_list);
          refresh_watch(/*announce=*/true);
          std::fprintf(stderr, "permsentry: reloaded %s (capture.* settings apply at restart)\n",
                       opts.config_path->c_str());
        }
      }
    }
  }

  // Hand over what is still in the rings before detaching.
  (void)(*sensor)->Drain();
  check_losses();
  (void)out.Flush();
  absl::StatusOr<SensorStats> final_stats = (*sensor)->ReadStats();
  sensor->reset();  // detach every program
  if (opts.ready_file) unlink(opts.ready_file->c_str());
  status_writer.Remove();

  const SensorStats st = final_stats.value_or(SensorStats{});
  std::fprintf(
      stderr,
      "permsentry: detached; %llu events seen, %llu lost (ring buffer full), %llu alert "
      "candidates rerouted from the full wakeup ring, %llu undecodable, %llu calls "
      "seen at exit without their entry, %llu processes not tracked (process table full), "
      "%llu execs or exits of processes the table did not hold\n",
      static_cast<unsigned long long>(delivered), static_cast<unsigned long long>(st.lost_bulk),
      static_cast<unsigned long long>(st.lost_urgent), static_cast<unsigned long long>(undecodable),
      static_cast<unsigned long long>(st.no_entry), static_cast<unsigned long long>(st.proc_full),
      static_cast<unsigned long long>(st.proc_missing));
  return exit_code;
}

}  // namespace permsentry
