#include "daemon/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "attribute/kernel_sync.h"
#include "attribute/process_table.h"
#include "attribute/seed.h"
#include "capture/backend.h"
#include "capture/probe.h"
#include "common/names.h"
#include "daemon/status_file.h"
#include "decode/decode.h"
#include "metrics/metrics.h"
#include "pipeline/pipeline.h"
#include "pipeline/stdout_writer.h"
#include "render/render.h"
#include "sinks/sink_set.h"
#include "sinks/tail_server.h"
#include "watch/kernel_sync.h"

namespace permsentry {
namespace {

constexpr int kOk = 0;
constexpr int kFailure = 1;

}  // namespace

int RunDaemon(const DaemonOptions& opts, Config config, DaemonSignals signals) {
  if (absl::Status s = CheckPrerequisites(); !s.ok()) {
    std::fprintf(stderr, "permsentry: %s\n", std::string(s.message()).c_str());
    return kFailure;
  }

  auto watch_list = std::make_shared<const std::vector<WatchEntry>>(config.watch);
  const auto stdout_options = [&](const Config& c) {
    const bool color = c.color == ColorMode::kAlways ||
                       (c.color == ColorMode::kAuto && isatty(STDOUT_FILENO) == 1);
    return StdoutOptions{.json = c.format == OutputFormat::kJson,
                         .color = color,
                         .alerts_only = c.stdout_alerts_only || opts.alerts_only,
                         .min_severity = c.stdout_min_severity};
  };

  // Outputs: stdout, the alert sinks (each on its own thread), the tail socket.
  StdoutWriter out(STDOUT_FILENO, size_t{config.stdout_buffer_mb} << 20);
  SinkSet sinks;
  (void)sinks.Reconcile(config.sinks);
  // Sinks a reload retired: stopped on their own threads (a down webhook's
  // retries must not hold up capture), joined at exit.
  std::vector<std::thread> retiring;
  // What the tail has to say is said once capture runs: a sensor that cannot
  // start says only why.
  std::unique_ptr<TailServer> tail;
  std::string tail_note;
  if (config.tail_enabled) {
    std::string note;
    absl::StatusOr<std::unique_ptr<TailServer>> t = TailServer::Listen(config.tail, &note);
    if (t.ok()) {
      tail = *std::move(t);
    } else {
      tail_note = absl::StrCat("WARNING: no live tail: ", t.status().message());
    }
    if (!note.empty()) tail_note = tail_note.empty() ? note : absl::StrCat(tail_note, "; ", note);
  }

  // Prometheus metrics, when asked for: a failure to listen is said and
  // capture goes on without them.
  std::unique_ptr<MetricsServer> metrics;
  std::string metrics_note;
  if (config.metrics_enabled) {
    absl::StatusOr<std::unique_ptr<MetricsServer>> m =
        MetricsServer::Listen(config.metrics_address);
    if (m.ok()) {
      metrics = *std::move(m);
    } else {
      metrics_note = absl::StrCat("ALERT: no metrics: ", m.status().message());
    }
  }

  Pipeline pipeline(&out, tail.get(), &sinks, Hostname(), BootToRealtimeOffsetNs());
  pipeline.SetWatchList(watch_list);
  pipeline.SetStdout(stdout_options(config));
  pipeline.SetRules(std::make_shared<const RuleSet>(config.rules));
  // AI sessions: the signatures (the kernel's maps are built from them) and
  // userspace's copy of the process table.
  auto signatures = std::make_shared<const SignatureSet>(config.signatures);
  ProcessTable& table = pipeline.table();
  table.SetSignatures(signatures.get());

  CaptureOptions capture_options{.bulk_ring_bytes = config.bulk_ring_mb << 20,
                                 .urgent_ring_bytes = config.urgent_ring_kb << 10,
                                 .process_table_entries = config.process_table_entries,
                                 .verbose = opts.verbose,
                                 .backend = opts.backend,
                                 .flavour = opts.flavour};
  // What the records did, for the timers below: the status file follows
  // session changes, the watch list names and mounts that may have moved.
  bool status_dirty = true, watch_refresh_due = false;
  // --record: each record as it came, length-prefixed (for the replay benchmark).
  std::unique_ptr<FILE, int (*)(FILE*)> record(nullptr, &fclose);
  if (opts.record_path) {
    record.reset(fopen(opts.record_path->c_str(), "we"));
    if (!record) {
      std::fprintf(stderr, "permsentry: cannot write %s: %s\n", opts.record_path->c_str(),
                   strerror(errno));
      return kFailure;
    }
  }
  absl::StatusOr<std::unique_ptr<CaptureBackend>> capture =
      StartCapture(capture_options, [&](absl::Span<const uint8_t> r) {
        if (record) {
          const uint32_t n = static_cast<uint32_t>(r.size());
          std::fwrite(&n, sizeof(n), 1, record.get());
          std::fwrite(r.data(), 1, r.size(), record.get());
        }
        const RecordOutcome o = pipeline.OnRecord(r);
        status_dirty |= o.sessions_changed;
        watch_refresh_due |= o.watch_changed;
        return o.alerted;
      });
  if (!capture.ok()) {
    std::fprintf(stderr, "permsentry: %s\n", std::string(capture.status().message()).c_str());
    return kFailure;
  }
  CaptureBackend* const backend = capture->get();
  RingReader& rings = backend->rings();
  const BackendInfo& info = backend->Describe();
  pipeline.set_drain_bulk([&rings] { (void)rings.DrainBulk(); });
  std::fprintf(stderr,
               "permsentry: attached (%s backend, %s), streaming %s %s, %zu rules, %zu sinks%s\n",
               info.name.c_str(), info.flavour.c_str(),
               config.format == OutputFormat::kJson ? "json" : "text",
               stdout_options(config).alerts_only ? "alerts" : "events", config.rules.rules.size(),
               config.sinks.size(), tail ? absl::StrCat(", tail on ", tail->path()).c_str() : "");
  std::fprintf(stderr, "permsentry: %s backend: %s\n", info.name.c_str(), info.reason.c_str());
  if (!tail_note.empty()) std::fprintf(stderr, "permsentry: %s\n", tail_note.c_str());
  if (!metrics_note.empty()) std::fprintf(stderr, "permsentry: %s\n", metrics_note.c_str());
  if (metrics)
    std::fprintf(stderr, "permsentry: metrics on http://%s/metrics\n", metrics->address().c_str());
  for (const std::string& limit : info.limits)
    std::fprintf(stderr, "permsentry: WARNING: %s\n", limit.c_str());

  // Identical repeats counted in the kernel from here on.
  if (absl::Status s = backend->SetCoalesceWindow(absl::Milliseconds(config.coalesce_window_ms));
      !s.ok()) {
    std::fprintf(stderr, "permsentry: WARNING: repeats are not coalesced: %s\n",
                 std::string(s.message()).c_str());
  }
  // The counts that are due, as repeats records in the bulk ring (drained
  // with it); with `all` every count, retried while a CPU's table is in use.
  auto flush_repeats = [&](bool all) {
    // Nothing counted that is not reported yet: no program run (on a host with
    // many CPUs, one interrupt each per tick).
    if (!all) {
      const absl::StatusOr<CaptureStats> st = backend->ReadStats();
      const PipelineCounters& pc = pipeline.counters();
      if (st.ok() && st->repeats == pc.kernel_repeats + pc.repeats_unmatched) return;
    }
    for (int attempt = 0; attempt < (all ? 100 : 1); ++attempt) {
      absl::StatusOr<int> left = backend->FlushRepeats(all);
      if (!left.ok()) {
        std::fprintf(stderr, "permsentry: %s\n", std::string(left.status().message()).c_str());
        return;
      }
      if (*left == 0) return;
      if (all) (void)rings.Drain();  // the ring was full, or a table busy: room, and again
    }
  };

  // Agent signatures into the kernel, then the processes already running.
  AttributionSync attribution_sync(backend->tables());
  {
    absl::StatusOr<KernelSignatures> ks = BuildKernelSignatures(*signatures);
    absl::Status s = ks.ok() ? attribution_sync.SetSignatures(*ks) : ks.status();
    if (!s.ok()) {
      std::fprintf(stderr, "permsentry: ALERT: AI agent signatures not loaded: %s\n",
                   std::string(s.message()).c_str());
    }
    absl::Status seeded = info.tracks_processes ? backend->SeedProcessTable() : absl::OkStatus();
    if (!seeded.ok()) {
      std::fprintf(stderr, "permsentry: ALERT: running processes not seeded: %s\n",
                   std::string(seeded.message()).c_str());
    } else {
      std::vector<KernelProc> procs =
          info.tracks_processes ? attribution_sync.ReadProcs() : std::vector<KernelProc>{};
      const std::vector<size_t> changed = SeedSessions(
          procs, *signatures, table, absl::Now(), [](uint32_t pid) { return ReadProcFs(pid); });
      for (size_t i : changed) {
        if (absl::Status ws = attribution_sync.WriteProc(procs[i]); !ws.ok()) {
          std::fprintf(stderr, "permsentry: ALERT: AI session of running pid %u not set: %s\n",
                       procs[i].key.tgid, std::string(ws.message()).c_str());
        }
      }
      std::fprintf(stderr,
                   "permsentry: process table seeded with %zu running processes, %zu live AI "
                   "sessions\n",
                   procs.size(), table.LiveSessions().size());
    }
  }

  // Load the watch list into the kernel. A failure (maps full) is an alert, not
  // a reason to stop capturing.
  WatchSync watch_sync(backend->tables());
  absl::Time next_watch_refresh, last_watch_refresh = absl::InfinitePast();
  auto refresh_watch = [&](bool announce) {
    const KernelWatch kw = BuildKernelWatch(*watch_list);
    last_watch_refresh = absl::Now();
    next_watch_refresh = last_watch_refresh + absl::Seconds(config.watch_refresh_s);
    watch_refresh_due = false;
    if (absl::Status s = watch_sync.Apply(kw); !s.ok()) {
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
  // What was opened for writing before the sensor could see the open: every
  // holder of a watched file is reported once, now.
  if (info.tracks_processes) {
    if (absl::Status s = backend->ScanOpenWriters(); !s.ok()) {
      std::fprintf(stderr,
                   "permsentry: ALERT: files held open for writing before start not scanned: %s\n",
                   std::string(s.message()).c_str());
    }
  }

  // Ready only once the watch list is in the kernel: what is reported from here
  // on is complete.
  if (opts.ready_file) {
    const int fd = open(opts.ready_file->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      std::fprintf(stderr, "permsentry: cannot create ready file %s: %s\n",
                   opts.ready_file->c_str(), strerror(errno));
      return kFailure;
    }
    const std::string pid = absl::StrCat(getpid(), "\n");
    (void)!write(fd, pid.data(), pid.size());
    close(fd);
  }

  // A service manager (systemd, Type=notify) learns the sensor is ready only
  // now, when what it reports is complete; it hears STATUS= with the counts,
  // WATCHDOG=1 from the loop itself (a wedged loop is restarted), RELOADING=1
  // around a reload and STOPPING=1. Without NOTIFY_SOCKET these do nothing.
  sd_notifyf(0, "READY=1\nMAINPID=%d\nSTATUS=attached (%s backend), watching %zu entries",
             static_cast<int>(getpid()), info.name.c_str(), watch_list->size());
  uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0;
  // Twice per period, as sd_watchdog_enabled(3) advises.
  const absl::Duration watchdog_every = absl::Microseconds(static_cast<int64_t>(watchdog_usec / 2));
  absl::Time next_watchdog = absl::Now();

  CaptureStats reported;  // counters already reported as lost
  absl::Time next_stats = absl::Now() + absl::Milliseconds(config.stats_interval_ms);
  int exit_code = kOk;
  StatusWriter status_writer(config.status_file);
  absl::Time last_status = absl::InfinitePast();
  const absl::Time started = absl::Now();
  uint64_t config_generation = 1;
  absl::Time config_loaded = started;
  std::string config_error;
  auto write_status = [&](const CaptureStats& st) {
    StatusSnapshot snap{.pid = static_cast<uint32_t>(getpid()),
                        .started = started,
                        .now = absl::Now(),
                        .backend = info.name,
                        .backend_flavour = info.flavour,
                        .backend_reason = info.reason,
                        .backend_limits = info.limits,
                        .events = pipeline.counters().events,
                        .lost = st.lost_bulk,
                        .kernel_processes = attribution_sync.CountProcs(),
                        .live_processes = table.live_count(),
                        .exited_processes = table.exited_count(),
                        .untracked_processes = st.proc_full,
                        .sessions = {},
                        .alerts = pipeline.counters().alerts,
                        .stdout_dropped = out.dropped(),
                        .sinks = sinks.Stats(),
                        .tail_socket = tail ? tail->path() : "",
                        .tail = tail ? tail->Stats() : TailServerStats{},
                        .config_path = opts.config_path.value_or(""),
                        .config_generation = config_generation,
                        .config_loaded = config_loaded,
                        .config_error = config_error};
    for (const AiSession* s : table.AllSessions()) snap.sessions.push_back(*s);
    sd_notifyf(0, "STATUS=%llu events, %llu lost, %llu alerts, %zu AI sessions",
               static_cast<unsigned long long>(snap.events),
               static_cast<unsigned long long>(snap.lost),
               static_cast<unsigned long long>(snap.alerts), table.LiveSessions().size());
    if (absl::Status ws = status_writer.Write(snap); !ws.ok()) {
      std::fprintf(stderr, "permsentry: %s\n", std::string(ws.message()).c_str());
    }
    status_dirty = false;
    last_status = absl::Now();
  };

  // Sink drops and failures, reported as they happen: on stderr, and as an
  // alert through everything else (the failing sink too: it counts that drop
  // as well, so reports about one sink come at most once a minute).
  struct SinkSeen {
    uint64_t lost = 0;
    absl::Time reported = absl::InfinitePast();
  };
  absl::flat_hash_map<std::string, SinkSeen> sink_seen;
  auto check_sinks = [&](bool final_report) {
    for (const SinkSet::Report& r : sinks.Stats()) {
      SinkSeen& seen = sink_seen[r.name];
      const uint64_t lost = r.stats.dropped + r.stats.failed;
      if (lost == seen.lost) continue;
      if (!final_report && absl::Now() - seen.reported < absl::Minutes(1)) continue;
      const uint64_t fresh = lost - seen.lost;
      std::fprintf(stderr,
                   "permsentry: ALERT: sink %s: %llu alerts not delivered (%llu dropped with its "
                   "queue full, %llu failed in all)%s%s\n",
                   r.name.c_str(), static_cast<unsigned long long>(fresh),
                   static_cast<unsigned long long>(r.stats.dropped),
                   static_cast<unsigned long long>(r.stats.failed),
                   r.stats.last_error.empty() ? "" : "; last error: ", r.stats.last_error.c_str());
      seen.lost = lost;
      seen.reported = absl::Now();
      if (final_report) continue;
      pipeline.OnHealth(HealthAlert{
          .time = absl::Now(),
          .action = "sink_dropped",
          .rule_id = "sensor-sink-dropped",
          .rule_name = "an alert sink is not delivering",
          .severity = Severity::kHigh,
          .message = absl::StrFormat("permsentry could not deliver %d alerts to %s (%d dropped "
                                     "with its queue full, %d failed in all)%s%s",
                                     fresh, r.name, r.stats.dropped, r.stats.failed,
                                     r.stats.last_error.empty() ? "" : ": ", r.stats.last_error),
          .detail = "sink",
          .strings = {{"name", r.name}, {"last_error", r.stats.last_error}},
          .counters = {{"undelivered", fresh},
                       {"dropped_total", r.stats.dropped},
                       {"failed_total", r.stats.failed},
                       {"delivered_total", r.stats.delivered},
                       {"queued", r.stats.queued}}});
    }
  };

  uint64_t reported_stdout_dropped = 0, reported_stdout_alerts = 0;
  auto check_stdout = [&]() {
    if (out.dropped() == reported_stdout_dropped && out.dropped_alerts() == reported_stdout_alerts)
      return;
    const uint64_t events = out.dropped() - reported_stdout_dropped;
    const uint64_t alerts = out.dropped_alerts() - reported_stdout_alerts;
    reported_stdout_dropped = out.dropped();
    reported_stdout_alerts = out.dropped_alerts();
    std::fprintf(stderr,
                 "permsentry: ALERT: stdout's reader fell %u MiB behind: %llu events and %llu "
                 "alerts not written to stdout (capture, the tail and the sinks have them)\n",
                 config.stdout_buffer_mb, static_cast<unsigned long long>(events),
                 static_cast<unsigned long long>(alerts));
    pipeline.OnHealth(HealthAlert{
        .time = absl::Now(),
        .action = "stdout_dropped",
        .rule_id = "sensor-stdout-dropped",
        .rule_name = "stdout's reader is too slow",
        .severity = Severity::kHigh,
        .message = absl::StrFormat("stdout's reader fell %d MiB behind: %d events and %d alerts "
                                   "were not written to stdout",
                                   config.stdout_buffer_mb, events, alerts),
        .detail = "stdout",
        .strings = {},
        .counters = {{"events", events},
                     {"alerts", alerts},
                     {"events_total", out.dropped()},
                     {"alerts_total", out.dropped_alerts()}}});
  };

  uint64_t reported_proc_full = 0;
  auto check_losses = [&]() {
    absl::StatusOr<CaptureStats> st = backend->ReadStats();
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
      const uint64_t lost_bulk = st->lost_bulk - reported.lost_bulk;
      const uint64_t lost_urgent = st->lost_urgent - reported.lost_urgent;
      pipeline.OnHealth(
          EventsLostAlert(absl::Now(), lost_bulk, lost_urgent, st->lost_bulk, st->lost_urgent));
      std::fprintf(stderr,
                   "permsentry: ALERT: %llu events lost (ring buffer full), %llu alert "
                   "candidates overflowed the wakeup ring\n",
                   static_cast<unsigned long long>(lost_bulk),
                   static_cast<unsigned long long>(lost_urgent));
      reported = *st;
    }
    check_sinks(/*final_report=*/false);
    check_stdout();
  };

  // What wakes the loop: the wakeup ring, and the tail socket. The bulk ring
  // is drained every drain_interval_ms (at once again while it has a backlog).
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  {
    epoll_event ev{.events = EPOLLIN, .data = {.u32 = 1}};
    epoll_ctl(epfd, EPOLL_CTL_ADD, rings.urgent_epoll_fd(), &ev);
    if (tail) {
      ev.data.u32 = 2;
      epoll_ctl(epfd, EPOLL_CTL_ADD, tail->epoll_fd(), &ev);
    }
    if (metrics) {
      ev.data.u32 = 4;
      epoll_ctl(epfd, EPOLL_CTL_ADD, metrics->epoll_fd(), &ev);
    }
  }
  // What a scrape sees: the counters as they are now.
  const auto metrics_text = [&]() {
    MetricsSnapshot m;
#ifdef PERMSENTRY_VERSION
    m.version = PERMSENTRY_VERSION;
#endif
    m.backend = info.name;
    m.flavour = info.flavour;
    m.programs_attached = info.programs;
    const PipelineCounters& pc = pipeline.counters();
    pc.events_by_action.ForEach([&](absl::string_view action, Result r, uint64_t v) {
      m.events.push_back({{std::string(action), std::string(r == Result::kOk      ? "success"
                                                            : r == Result::kError ? "failure"
                                                                                  : "unknown")},
                          v});
    });
    for (const auto& [k, v] : pc.alerts_by_rule)
      m.alerts.push_back({{k.first, std::string(SeverityName(k.second))}, v});
    m.undecodable = pc.undecodable;
    m.repeats_coalesced = pc.coalesced;
    m.kernel_repeats = pc.kernel_repeats;
    if (absl::StatusOr<CaptureStats> st = backend->ReadStats(); st.ok()) {
      m.lost_bulk = st->lost_bulk;
      m.rerouted_urgent = st->lost_urgent;
      m.untracked_processes = st->proc_full;
    }
    m.stdout_dropped = out.dropped();
    for (const SinkSet::Report& r : sinks.Stats())
      m.sinks.push_back({.name = r.name,
                         .delivered = r.stats.delivered,
                         .dropped = r.stats.dropped,
                         .failed = r.stats.failed,
                         .queued = r.stats.queued});
    m.tail_clients = tail ? tail->Stats().clients : 0;
    absl::flat_hash_map<std::string, uint64_t> by_agent;
    for (const AiSession* s : table.LiveSessions()) ++by_agent[s->agent];
    for (const auto& [a, k] : by_agent) m.sessions_by_agent.push_back({a, k});
    m.kernel_processes = attribution_sync.CountProcs();
    m.config_generation = config_generation;
    m.config_reload_failed = !config_error.empty();
    return PrometheusText(m);
  };
  bool stdout_gone = false;
  bool stdout_polled = false;  // stdout is in the epoll set, for room to write
  auto flush_outputs = [&]() {
    if (tail) tail->Flush();
    if (stdout_gone) return;
    if (!out.Flush()) {
      stdout_gone = true;
      if (out.error() != EPIPE) {
        std::fprintf(stderr, "permsentry: writing events to stdout failed: %s\n",
                     strerror(out.error()));
        exit_code = kFailure;
      }
      *signals.stop = 1;
      return;
    }
    // A reader that is behind: woken as soon as it has taken some, rather
    // than at the next drain.
    if (out.backlogged() != stdout_polled) {
      epoll_event ev{.events = EPOLLOUT, .data = {.u32 = 3}};
      if (epoll_ctl(epfd, out.backlogged() ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, out.fd(), &ev) == 0)
        stdout_polled = out.backlogged();
    }
  };
  bool backlog = false;
  absl::Time next_tick = absl::Now() + absl::Milliseconds(250);
  while (!*signals.stop) {
    epoll_event evs[4];
    const int n =
        epoll_wait(epfd, evs, 4, backlog ? 0 : static_cast<int>(config.drain_interval_ms));
    if (n < 0 && errno != EINTR) {
      std::fprintf(stderr, "permsentry: epoll: %s\n", strerror(errno));
      exit_code = kFailure;
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (evs[i].data.u32 == 2) tail->Service();
      if (evs[i].data.u32 == 4) metrics->Service(metrics_text);
    }
    // Alert candidates first; then the bulk ring, in slices that stop as soon
    // as an alert is ready or the wakeup ring has a record. An alert is
    // written out before the next record is read.
    const absl::Time slice_end = absl::Now() + absl::Milliseconds(20);
    backlog = false;
    for (;;) {
      absl::StatusOr<int> u = rings.DrainUrgent();
      flush_outputs();
      absl::StatusOr<int> b = rings.DrainBulk(4096);
      if (!u.ok() || !b.ok()) {
        std::fprintf(stderr, "permsentry: %s\n",
                     std::string((!u.ok() ? u.status() : b.status()).message()).c_str());
        exit_code = kFailure;
        *signals.stop = 1;
        break;
      }
      if (*b > 0) flush_outputs();
      if (*u == 0 && *b == 0) break;
      if (absl::Now() >= slice_end) {
        backlog = true;  // timers, signals and the tail get their turn
        break;
      }
    }
    flush_outputs();
    const absl::Time now = absl::Now();
    if (watchdog && now >= next_watchdog) {
      sd_notify(0, "WATCHDOG=1");
      next_watchdog = now + watchdog_every;
    }
    if (now >= next_tick) {
      flush_repeats(/*all=*/false);
      if (pipeline.Tick(now)) flush_outputs();
      next_tick = now + absl::Milliseconds(250);
    }
    // The status file follows session starts and changes within 100 ms.
    if (now >= next_stats || (status_dirty && now - last_status >= absl::Milliseconds(100))) {
      check_losses();
      next_stats = absl::Now() + absl::Milliseconds(config.stats_interval_ms);
    }
    // At most ten refreshes a second, however many renames a tool makes.
    if ((watch_refresh_due && now - last_watch_refresh >= absl::Milliseconds(100)) ||
        now >= next_watch_refresh) {
      refresh_watch(/*announce=*/false);
    }
    if (*signals.reload) {
      *signals.reload = 0;
      sd_notify(0, "RELOADING=1");
      if (opts.config_path) {
        absl::StatusOr<Config> loaded = LoadConfigFile(*opts.config_path);
        if (!loaded.ok()) {
          std::fprintf(stderr, "permsentry: reload failed, keeping the running config: %s\n",
                       std::string(loaded.status().message()).c_str());
          config_error = std::string(loaded.status().message());
        } else {
          const std::vector<std::string> later = RestartOnlyChanges(config, *loaded);
          ++config_generation;
          config_loaded = absl::Now();
          config_error.clear();
          if (!opts.format) config.format = loaded->format;
          config.color = loaded->color;
          config.stdout_alerts_only = loaded->stdout_alerts_only;
          config.stdout_min_severity = loaded->stdout_min_severity;
          config.watch = loaded->watch;
          config.watch_refresh_s = loaded->watch_refresh_s;
          if (loaded->coalesce_window_ms != config.coalesce_window_ms &&
              backend->SetCoalesceWindow(absl::Milliseconds(loaded->coalesce_window_ms)).ok()) {
            config.coalesce_window_ms = loaded->coalesce_window_ms;
          }
          // New signatures apply to execs from now on; running sessions stay.
          if (absl::StatusOr<KernelSignatures> ks = BuildKernelSignatures(loaded->signatures);
              ks.ok() && attribution_sync.SetSignatures(*ks).ok()) {
            config.signatures = loaded->signatures;
            signatures = std::make_shared<const SignatureSet>(config.signatures);
            table.SetSignatures(signatures.get());
          } else {
            std::fprintf(stderr, "permsentry: ALERT: new AI agent signatures not loaded\n");
          }
          // Repeats counted under the old rules are reported before they go.
          if (pipeline.Tick(absl::Now(), /*flush=*/true)) flush_outputs();
          config.rules = loaded->rules;
          pipeline.SetRules(std::make_shared<const RuleSet>(config.rules));
          config.sinks = loaded->sinks;
          std::vector<std::unique_ptr<Sink>> old = sinks.Reconcile(config.sinks);
          if (!old.empty()) {
            retiring.emplace_back([old = std::move(old)]() mutable {
              for (auto& s : old) s->Stop(absl::Seconds(5));
            });
          }
          watch_list = std::make_shared<const std::vector<WatchEntry>>(config.watch);
          pipeline.SetWatchList(watch_list);
          pipeline.SetStdout(stdout_options(config));
          refresh_watch(/*announce=*/true);
          std::fprintf(stderr, "permsentry: reloaded %s: %zu rules, %zu sinks; %s\n",
                       opts.config_path->c_str(), config.rules.rules.size(), config.sinks.size(),
                       later.empty() ? "every change applied"
                                     : absl::StrCat("not applied until a restart: ",
                                                    absl::StrJoin(later, ", "))
                                           .c_str());
        }
      }
      sd_notify(0, "READY=1");
      status_dirty = true;  // the new generation, or the refusal, in the status file
    }
  }

  sd_notify(0, "STOPPING=1");
  // Hand over what is still in the rings before detaching, and the repeats
  // still being counted.
  (void)rings.Drain();
  flush_repeats(/*all=*/true);
  (void)rings.Drain();
  (void)pipeline.Tick(absl::Now(), /*flush=*/true);
  check_losses();
  flush_outputs();
  // What a slow reader has not taken yet: five seconds more (well within a
  // service manager's stop timeout), then counted.
  for (int i = 0; i < 500 && !stdout_gone && out.size() > 0; ++i) {
    flush_outputs();
    if (out.size() > 0) absl::SleepFor(absl::Milliseconds(10));
  }
  absl::StatusOr<CaptureStats> final_stats = backend->ReadStats();
  capture->reset();  // detach every program
  close(epfd);
  // The sinks get a few seconds to deliver what they hold.
  sinks.StopAll(absl::Seconds(3));
  for (std::thread& t : retiring) t.join();
  check_sinks(/*final_report=*/true);
  tail.reset();
  if (opts.ready_file) unlink(opts.ready_file->c_str());
  status_writer.Remove();

  const CaptureStats st = final_stats.value_or(CaptureStats{});
  const PipelineCounters& pc = pipeline.counters();
  std::fprintf(
      stderr,
      "permsentry: detached; %llu events seen, %llu lost (ring buffer full), %llu alert "
      "candidates rerouted from the full wakeup ring, %llu undecodable, %llu calls "
      "seen at exit without their entry, %llu processes not tracked (process table full), "
      "%llu execs or exits of processes the table did not hold; %llu alerts, %llu repeats "
      "coalesced; %llu identical calls counted in the kernel (%llu reported as repeats)\n",
      static_cast<unsigned long long>(pc.events), static_cast<unsigned long long>(st.lost_bulk),
      static_cast<unsigned long long>(st.lost_urgent),
      static_cast<unsigned long long>(pc.undecodable), static_cast<unsigned long long>(st.no_entry),
      static_cast<unsigned long long>(st.proc_full),
      static_cast<unsigned long long>(st.proc_missing), static_cast<unsigned long long>(pc.alerts),
      static_cast<unsigned long long>(pc.coalesced), static_cast<unsigned long long>(st.repeats),
      static_cast<unsigned long long>(pc.kernel_repeats));
  if (pc.repeats_unmatched > 0) {
    std::fprintf(stderr, "permsentry: %llu repeats were of records never decoded\n",
                 static_cast<unsigned long long>(pc.repeats_unmatched));
  }
  if (out.dropped() + out.dropped_alerts() > 0 || out.size() > 0) {
    const uint64_t at_exit = out.pending_events() + out.pending_alerts();
    std::fprintf(stderr,
                 "permsentry: stdout: %llu events and %llu alerts not written (its reader fell "
                 "behind), %llu of them still waiting at exit\n",
                 static_cast<unsigned long long>(out.dropped() + out.pending_events()),
                 static_cast<unsigned long long>(out.dropped_alerts() + out.pending_alerts()),
                 static_cast<unsigned long long>(at_exit));
  }
  for (const SinkSet::Report& r : sinks.Stats()) {
    std::fprintf(stderr,
                 "permsentry: sink %s: %llu delivered, %llu dropped (queue full), %llu failed\n",
                 r.name.c_str(), static_cast<unsigned long long>(r.stats.delivered),
                 static_cast<unsigned long long>(r.stats.dropped),
                 static_cast<unsigned long long>(r.stats.failed));
  }
  return exit_code;
}

}  // namespace permsentry
