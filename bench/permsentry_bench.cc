// permsentry_bench: what the sensor costs the workloads it watches.
//
// One run measures, back to back and in this order:
//   none        no sensor
//   floor       empty programs on the sys_enter/sys_exit tracepoints: the cost any
//               sensor built on them pays before doing anything
//   permsentry  `permsentry run` attached, its JSON rendered to /dev/null; with
//               --backends, one such leg per capture backend (e.g. tracepoint
//               and rich, side by side in one run)
//   auditd      auditd with rules equivalent to what permsentry watches
// on two workloads, pinned to CPU 0:
//   permission  chmod, fchmod, fchmodat, chown, fchownat, setxattr/removexattr of
//               a user xattr and of a POSIX ACL, write-open of a file named like a
//               credential file
//   unrelated   getpid, stat, open+close /dev/null, a 4 KiB pwrite
//   writes      unrelated file churn, the way editors and package managers write:
//               create a temporary file, write 4 KiB, close, rename it over a
//               name, unlink (each open, rename and unlink passes the sensor's
//               credential-file filter and is not reported)
//   spawn       fork + exec /bin/true + wait: what the process table (fork, exec
//               and exit hooks, agent signatures checked at every exec) costs
// and prints ns/op (median of --reps), the ratio to no sensor, and how many of the
// permission events the sensor delivered against how many were issued.
//
// auditd runs last, because enabling audit leaves a cost on every process started
// while it is on; the kernel's audit state (enabled flag, rules) is put back after.
#include <fcntl.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <sys/un.h>

#include "absl/time/clock.h"
#include "config/config.h"
#include "decode/decode.h"
#include "permsentry/abi/events.h"
#include "pipeline/pipeline.h"
#include "pipeline/stdout_writer.h"
#include "rules/rules.h"

namespace {

struct Options {
  std::string sensor = "build/permsentry";
  // `permsentry run --backend` per sensor leg; "auto" alone is the one leg
  // named "permsentry".
  std::vector<std::string> backends = {"auto"};
  int reps = 7;
  int perm_cycles = 20000;
  int unrelated_cycles = 200000;
  int write_cycles = 20000;
  int spawn_cycles = 2000;
  bool auditd = true;
  int latency_probes = 2000;
  bool latency_only = false;
  int latency_interval_us = 2000;
  int storm_seconds = 10;    // the sustained storm (0: skip it)
  bool instructions = true;  // count the pipeline's instructions (callgrind)
  bool instructions_only = false;
  // Where to keep the recorded records (plain.records, alert.records) for a
  // profiler; empty: they are deleted after the count.
  std::string keep_records;
};

constexpr int kPermOpsPerCycle = 10;    // syscalls per permission cycle
constexpr int kPermEventsPerCycle = 9;  // of which permsentry reports (open is not one)
constexpr int kPermSetupEvents = 2;     // Workloads() sets and removes an ACL once
constexpr int kUnrelatedOpsPerCycle = 5;
constexpr int kWriteOpsPerCycle = 5;

int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void Die(const std::string& what) {
  std::fprintf(stderr, "permsentry_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string Run(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    pclose(p);
  }
  return out;
}

// ------------------------------------------------------------------ workloads

class Workloads {
 public:
  Workloads() {
    char tmpl[] = "/var/tmp/permsentry-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) Die("mkdtemp failed");
    dir_ = tmpl;
    file_ = dir_ + "/f";
    cred_ = dir_ + "/shadow";
    data_ = dir_ + "/data";
    for (const std::string& p : {file_, cred_, data_})
      close(open(p.c_str(), O_CREAT | O_WRONLY, 0644));
    fd_ = open(file_.c_str(), O_RDONLY);
    dfd_ = open(dir_.c_str(), O_DIRECTORY | O_RDONLY);
    data_fd_ = open(data_.c_str(), O_WRONLY);
    // A minimal POSIX ACL (user::rw- group::r-- other::r--), as setfacl writes it.
    const uint32_t header = 2;
    const struct {
      uint16_t tag, perm;
      uint32_t id;
    } entries[] = {{0x01, 6, 0xffffffff}, {0x04, 4, 0xffffffff}, {0x20, 4, 0xffffffff}};
    acl_.append(reinterpret_cast<const char*>(&header), 4);
    acl_.append(reinterpret_cast<const char*>(entries), sizeof(entries));
    if (setxattr(file_.c_str(), "system.posix_acl_access", acl_.data(), acl_.size(), 0) != 0)
      Die(std::string("this filesystem refuses POSIX ACLs: ") + strerror(errno));
    removexattr(file_.c_str(), "system.posix_acl_access");
  }
  ~Workloads() {
    close(fd_);
    close(dfd_);
    close(data_fd_);
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  void Permission(int cycles) {
    const char* f = file_.c_str();
    for (int i = 0; i < cycles; ++i) {
      syscall(SYS_chmod, f, 0644);
      syscall(SYS_fchmod, fd_, 0600);
      syscall(SYS_fchmodat, dfd_, "f", 0640, 0);
      syscall(SYS_chown, f, 0, 0);
      syscall(SYS_fchownat, dfd_, "f", 0, 0, 0);
      syscall(SYS_setxattr, f, "user.bench", "v", 1, 0);
      syscall(SYS_removexattr, f, "user.bench");
      syscall(SYS_setxattr, f, "system.posix_acl_access", acl_.data(), acl_.size(), 0);
      syscall(SYS_removexattr, f, "system.posix_acl_access");
      close(static_cast<int>(syscall(SYS_openat, AT_FDCWD, cred_.c_str(), O_WRONLY)));
    }
  }

  // One chmod per call, on each of 4,096 files in turn (made on first use),
  // alternating the mode every round: no call is like one made lately.
  void Distinct(int calls) {
    if (many_.empty()) {
      for (int i = 0; i < 4096; ++i) {
        many_.push_back(dir_ + "/m" + std::to_string(i));
        close(open(many_.back().c_str(), O_CREAT | O_WRONLY, 0644));
      }
    }
    for (int i = 0; i < calls; ++i, ++next_) {
      const size_t k = next_ % many_.size();
      syscall(SYS_chmod, many_[k].c_str(), (next_ / many_.size()) & 1 ? 0644 : 0600);
    }
  }

  void Writes(int cycles) {
    static char block[4096];
    const std::string tmp = dir_ + "/w.tmp", name = dir_ + "/w";
    for (int i = 0; i < cycles; ++i) {
      const int fd = static_cast<int>(
          syscall(SYS_openat, AT_FDCWD, tmp.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644));
      (void)!write(fd, block, sizeof(block));
      close(fd);
      syscall(SYS_rename, tmp.c_str(), name.c_str());
      syscall(SYS_unlink, name.c_str());
    }
  }

  void Spawn(int cycles) {
    for (int i = 0; i < cycles; ++i) {
      const pid_t pid = fork();
      if (pid == 0) {
        execl("/bin/true", "true", nullptr);
        _exit(127);
      }
      waitpid(pid, nullptr, 0);
    }
  }

  void Unrelated(int cycles) {
    static char block[4096];
    struct stat st;
    for (int i = 0; i < cycles; ++i) {
      syscall(SYS_getpid);
      stat("/dev/null", &st);
      close(open("/dev/null", O_RDONLY));
      (void)!pwrite(data_fd_, block, sizeof(block), 0);
    }
  }

 private:
  std::string dir_, file_, cred_, data_, acl_;
  std::vector<std::string> many_;
  uint64_t next_ = 0;
  int fd_ = -1, dfd_ = -1, data_fd_ = -1;
};

// ------------------------------------------------------------------ sensors

// `permsentry run` writing its JSON to /dev/null: the sensor renders every event
// as in production, but no reader competes with the workload for the CPUs. What
// was delivered is read from the sensor's own closing summary and counters.
class Permsentry {
 public:
  // `stdout_fd`: where its events go (default /dev/null); `config`: --config.
  // `extra`: more `permsentry run` arguments (--record FILE).
  explicit Permsentry(const std::string& binary, int stdout_fd = -1, const std::string& config = "",
                      const std::string& backend = "auto", std::vector<std::string> extra = {}) {
    const std::string ready = "/tmp/permsentry-bench.ready";
    unlink(ready.c_str());
    std::vector<std::string> args = {binary,         "run", "--format",  "json",
                                     "--ready-file", ready, "--backend", backend};
    if (!config.empty()) args.insert(args.end(), {"--config", config});
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      const int out = stdout_fd >= 0 ? stdout_fd : open("/dev/null", O_WRONLY);
      dup2(out, STDOUT_FILENO);
      const int err = open(kStderr, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(err, STDERR_FILENO);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    // Loading takes seconds under an emulated CPU.
    for (int i = 0; i < 60000 && access(ready.c_str(), F_OK) != 0; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) break;
      usleep(10000);
    }
    if (access(ready.c_str(), F_OK) != 0)
      Die("permsentry did not start: " + Run(std::string("cat ") + kStderr));
  }
  // Stops the sensor; returns its closing summary line
  // ("permsentry: detached; N events seen, M lost ...").
  pid_t pid() const { return pid_; }
  std::string Stop() {
    kill(pid_, SIGINT);
    waitpid(pid_, nullptr, 0);
    std::string err = Run(std::string("grep 'detached;' ") + kStderr);
    while (!err.empty() && err.back() == '\n') err.pop_back();
    return err;
  }

 private:
  static constexpr const char* kStderr = "/tmp/permsentry-bench.stderr";
  pid_t pid_ = -1;
};

// auditd with rules equivalent to permsentry's syscall list, and the kernel's
// audit state restored afterwards.
class Auditd {
 public:
  static bool Available() {
    return access("/sbin/auditd", X_OK) == 0 && access("/sbin/auditctl", X_OK) == 0;
  }

  Auditd() {
    const std::string status = Run("/sbin/auditctl -s");
    was_enabled_ = status.find("enabled 0") == std::string::npos;
    saved_rules_ = Run("/sbin/auditctl -l");
    if (Run("pidof auditd").empty()) {
      if (std::system("/sbin/auditd >/dev/null 2>&1") != 0) Die("cannot start auditd");
      // It daemonizes: ready once the kernel has it as the audit daemon, whose
      // pid is then the one to stop (never another auditd, by name).
      for (int i = 0; i < 1000 && started_pid_ <= 0; ++i) {
        started_pid_ = std::atoi(Run("/sbin/auditctl -s | awk '/^pid/ {print $2}'").c_str());
        if (started_pid_ <= 0) usleep(10000);
      }
      if (started_pid_ <= 0) Die("auditd started but never registered with the kernel");
    }
    std::system("/sbin/auditctl -D >/dev/null; /sbin/auditctl -b 8192 >/dev/null");
    const char* b64 =
        "-S chmod -S fchmod -S fchmodat -S chown -S fchown -S lchown -S fchownat "
        "-S setuid -S setgid -S setreuid -S setregid -S setresuid -S setresgid -S setfsuid "
        "-S setfsgid -S capset -S setgroups -S setxattr -S lsetxattr -S fsetxattr "
        "-S removexattr -S lremovexattr -S fremovexattr";
    const char* b32 =
        "-S chmod -S fchmod -S fchmodat -S chown -S fchown -S lchown -S fchownat -S chown32 "
        "-S fchown32 -S lchown32 -S setuid -S setgid -S setuid32 -S setgid32 -S setreuid "
        "-S setregid -S setresuid -S setresgid -S setfsuid -S setfsgid -S capset -S setgroups "
        "-S setxattr -S lsetxattr -S fsetxattr -S removexattr -S lremovexattr -S fremovexattr";
    Run(std::string("/sbin/auditctl -a always,exit -F arch=b64 ") + b64 + " -k permsentry-bench");
    Run(std::string("/sbin/auditctl -a always,exit -F arch=b32 ") + b32 + " -k permsentry-bench");
    // permsentry's built-in credential files, as audit file watches (writes and
    // attribute changes).
    for (const char* p :
         {"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/sudoers",
          "/etc/sudoers.d", "/etc/pam.d", "/etc/security", "/etc/ssh/sshd_config",
          "/etc/ssh/sshd_config.d", "/root/.ssh", "/etc/polkit-1/rules.d", "/etc/cron.d"}) {
      if (access(p, F_OK) == 0)
        Run(std::string("/sbin/auditctl -w ") + p + " -p wa -k permsentry-bench");
    }
    std::system("/sbin/auditctl -e 1 >/dev/null");
  }

  std::string Lost() const {
    const std::string s = Run("/sbin/auditctl -s | awk '/^lost/ {print $2}'");
    return s.empty() ? "?" : s.substr(0, s.find('\n'));
  }

  ~Auditd() {
    std::system("/sbin/auditctl -D >/dev/null");
    // Put the saved rules back (auditctl -l prints them in auditctl syntax).
    std::istringstream rules(saved_rules_);
    for (std::string line; std::getline(rules, line);)
      if (!line.empty() && line != "No rules") Run("/sbin/auditctl " + line);
    if (started_pid_ > 0) kill(started_pid_, SIGTERM);
    std::system(was_enabled_ ? "/sbin/auditctl -e 1 >/dev/null" : "/sbin/auditctl -e 0 >/dev/null");
    // Once audit has been enabled, the kernel gives every process started
    // afterwards an audit context (syscall slow path, ~2x on getpid here) until
    // reboot, even with audit disabled again. If audit was off before, a
    // "never" task rule gets new processes back to the state before the run.
    if (!was_enabled_ && saved_rules_.find("never,task") == std::string::npos)
      std::system("/sbin/auditctl -a task,never >/dev/null");
  }

 private:
  bool was_enabled_ = false;
  pid_t started_pid_ = 0;  // the auditd this run started, if any
  std::string saved_rules_;
};

// The floor of any syscall-tracepoint sensor: empty programs ("return 0") on
// raw_tp/sys_enter and sys_exit. Attaching them alone puts every syscall on the
// kernel's slow path and adds two indirect calls; what permsentry costs beyond
// this line is its own.
class TracepointFloor {
 public:
  TracepointFloor() {
    for (const char* tp : {"sys_enter", "sys_exit"}) {
      const bpf_insn insns[] = {
          {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
          {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
      };
      bpf_attr attr{};
      attr.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
      attr.insns = reinterpret_cast<uint64_t>(insns);
      attr.insn_cnt = 2;
      attr.license = reinterpret_cast<uint64_t>("GPL");
      const int prog = static_cast<int>(syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr)));
      if (prog < 0) Die(std::string("floor: BPF_PROG_LOAD: ") + strerror(errno));
      bpf_attr open{};
      open.raw_tracepoint.name = reinterpret_cast<uint64_t>(tp);
      open.raw_tracepoint.prog_fd = static_cast<uint32_t>(prog);
      const int link =
          static_cast<int>(syscall(SYS_bpf, BPF_RAW_TRACEPOINT_OPEN, &open, sizeof(open)));
      if (link < 0) Die(std::string("floor: attach ") + tp + ": " + strerror(errno));
      fds_.push_back(prog);
      fds_.push_back(link);
    }
  }
  ~TracepointFloor() {
    for (int fd : fds_) close(fd);
  }

 private:
  std::vector<int> fds_;
};

// ------------------------------------------------------------------ measuring

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct LegResult {
  std::string name;
  double perm_ns = 0, unrelated_ns = 0, write_ns = 0, spawn_ns = 0;
  std::string delivery;
  double perm_ratio = 1, unrelated_ratio = 1, write_ratio = 1, spawn_ratio = 1;
};

double Measure(int reps, int cycles, int ops, const std::function<void(int)>& fn,
               const std::function<void()>& between = {}) {
  std::vector<double> ns;
  fn(cycles / 10);  // warm-up: caches, page tables, dentries
  if (between) between();
  for (int r = 0; r < reps; ++r) {
    const int64_t t0 = NowNs();
    fn(cycles);
    ns.push_back(static_cast<double>(NowNs() - t0) / (static_cast<double>(cycles) * ops));
    if (between) between();
  }
  return Median(ns);
}

// Runs both workloads in a fresh child process pinned to CPU 0 and returns the
// medians. A fresh process per leg matters: the kernel only audits processes
// started while audit is enabled, and the sensor must not share the pinned CPU.
LegResult RunLeg(const std::string& name, const Options& o, int reps, bool drain_between) {
  int fds[2];
  if (pipe(fds) != 0) Die("pipe");
  const pid_t pid = fork();
  if (pid == 0) {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(0, &cpus);
    sched_setaffinity(0, sizeof(cpus), &cpus);
    Workloads w;
    // With a sensor, give its reader time to drain between reps so each rep starts
    // from an empty ring (a storm longer than the ring holds is another test).
    const std::function<void()> pause = [] { usleep(300000); };
    // Unrelated first: measured with the sensor attached and idle, not while
    // it is still draining the permission storm.
    double r[4];
    r[1] = Measure(reps, o.unrelated_cycles, kUnrelatedOpsPerCycle, [&](int n) { w.Unrelated(n); });
    r[2] = Measure(reps, o.write_cycles, kWriteOpsPerCycle, [&](int n) { w.Writes(n); });
    r[3] = Measure(reps, o.spawn_cycles, 1, [&](int n) { w.Spawn(n); });
    r[0] = Measure(
        reps, o.perm_cycles, kPermOpsPerCycle, [&](int n) { w.Permission(n); },
        drain_between ? pause : std::function<void()>());
    (void)!write(fds[1], r, sizeof(r));
    _exit(0);
  }
  close(fds[1]);
  double r[4] = {0, 0, 0, 0};
  if (read(fds[0], r, sizeof(r)) != sizeof(r)) Die("the " + name + " leg failed");
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  return LegResult{
      .name = name, .perm_ns = r[0], .unrelated_ns = r[1], .write_ns = r[2], .spawn_ns = r[3]};
}

// ------------------------------------------------------------------ alert latency

// syscall → alert line read by a consumer: a process makes a setuid chmod (an
// alert of the built-in rule setid-bit-added, decided in the kernel to be an
// alert candidate) on a file of its own, and two readers wait for the alert:
// one on the sensor's stdout (every event, as `permsentry run` prints them),
// one on the tail socket (alerts only). The latency is the time from just
// before the call to the moment the reader has the line.

struct Percentiles {
  double p50 = 0, p99 = 0, max = 0;
  size_t seen = 0, missing = 0;
};

Percentiles Summarize(const std::vector<int64_t>& sent, const std::vector<int64_t>& got) {
  std::vector<double> us;
  Percentiles p;
  for (size_t i = 0; i < sent.size(); ++i) {
    if (got[i] == 0) {
      ++p.missing;
      continue;
    }
    us.push_back(static_cast<double>(got[i] - sent[i]) / 1000.0);
  }
  std::sort(us.begin(), us.end());
  p.seen = us.size();
  if (!us.empty()) {
    p.p50 = us[us.size() / 2];
    p.p99 = us[std::min(us.size() - 1, static_cast<size_t>(static_cast<double>(us.size()) * 0.99))];
    p.max = us.back();
  }
  return p;
}

// Reads lines from a fd on its own thread and notes when each probe's alert
// arrived (probe files are DIR/d<k>/p<i>).
class AlertReader {
 public:
  AlertReader(int fd, const std::string& dir, size_t probes)
      : fd_(fd), needle_("\"file\":{\"path\":\"" + dir + "/d"), got_(probes, 0) {
    thread_ = std::thread([this] { Run(); });
  }
  ~AlertReader() {
    if (thread_.joinable()) thread_.join();
  }
  // Stops after the fd reaches EOF (the caller closes the other end).
  std::vector<int64_t> Join() {
    if (thread_.joinable()) thread_.join();
    return got_;
  }

 private:
  void Run() {
    std::string buf;
    char chunk[1 << 16];
    for (;;) {
      const ssize_t n = read(fd_, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      const int64_t now = NowNs();
      buf.append(chunk, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
        const std::string_view line(buf.data() + start, nl - start);
        if (line.find("\"kind\":\"alert\"") == std::string_view::npos ||
            line.find("\"id\":\"setid-bit-added\"") == std::string_view::npos)
          continue;
        const size_t at = line.find(needle_);
        if (at == std::string_view::npos) continue;
        // DIR/d<k>/p<i>
        const char* p = std::strchr(line.data() + at + needle_.size(), 'p');
        if (p == nullptr) continue;
        const size_t idx = std::strtoul(p + 1, nullptr, 10);
        if (idx < got_.size() && got_[idx] == 0) got_[idx] = now;
      }
      buf.erase(0, start);
    }
  }
  int fd_;
  std::string needle_;
  std::vector<int64_t> got_;
  std::thread thread_;
};

struct LatencyResult {
  Percentiles out, tail;
  double storm_ns = 0;     // permission storm ns/op during the probes (0: no storm)
  double call_p50_us = 0;  // the chmod itself
  std::string summary;
};

volatile std::sig_atomic_t g_storm_stop = 0;

// One run: a sensor, a stdout reader, a tail reader, `probes` setuid chmods
// `interval_us` apart from a process pinned to CPU 1, with or without the
// permission storm running on CPU 0.
LatencyResult MeasureLatency(const Options& o, bool storm, bool stdout_alerts_only) {
  char tmpl[] = "/var/tmp/permsentry-latency-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) Die("mkdtemp failed");
  const std::string dir = tmpl;
  const std::string sock = dir + "/tail.sock", config = dir + "/permsentry.yaml";
  {
    std::ofstream(config) << "tail:\n  socket: " << sock << "\nai:\n  status_file: " << dir
                          << "/status.json\n"
                          << (stdout_alerts_only ? "output:\n  events: alerts\n" : "");
  }
  // 50 files a directory: the kernel's dcache lookup scans a directory's
  // children, and a thousand in one would make each chmod itself slow.
  const auto probe_file = [&](int i) {
    return dir + "/d" + std::to_string(i / 50) + "/p" + std::to_string(i);
  };
  for (int i = 0; i < o.latency_probes; ++i) {
    if (i % 50 == 0) mkdir((dir + "/d" + std::to_string(i / 50)).c_str(), 0755);
    close(open(probe_file(i).c_str(), O_CREAT | O_WRONLY, 0755));
  }
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) Die("pipe");
  LatencyResult r;
  {
    Permsentry sensor(o.sensor, out[1], config);
    close(out[1]);
    AlertReader out_reader(out[0], dir, static_cast<size_t>(o.latency_probes));
    const int tail = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock.c_str());
    if (connect(tail, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
      Die("cannot connect to the tail socket: " + std::string(strerror(errno)));
    const std::string req = "{\"version\":1,\"alerts_only\":true}\n";
    if (write(tail, req.data(), req.size()) != static_cast<ssize_t>(req.size()))
      Die("tail request");
    AlertReader tail_reader(tail, dir, static_cast<size_t>(o.latency_probes));
    usleep(200000);  // the tail's hello, the startup events drained

    int storm_pipe[2] = {-1, -1};
    pid_t storm_pid = -1;
    if (storm) {
      if (pipe(storm_pipe) != 0) Die("pipe");
      storm_pid = fork();
      if (storm_pid == 0) {
        cpu_set_t cpus;
        CPU_ZERO(&cpus);
        CPU_SET(0, &cpus);
        sched_setaffinity(0, sizeof(cpus), &cpus);
        signal(SIGTERM, [](int) { g_storm_stop = 1; });
        Workloads w;
        const int64_t t0 = NowNs();
        int64_t ops = 0;
        while (!g_storm_stop) {
          w.Permission(100);
          ops += 100 * kPermOpsPerCycle;
        }
        const double ns = static_cast<double>(NowNs() - t0) / static_cast<double>(ops);
        (void)!write(storm_pipe[1], &ns, sizeof(ns));
        _exit(0);
      }
      close(storm_pipe[1]);
      usleep(300000);  // the storm under way
    }

    // The probes, from a thread pinned to the other CPU.
    std::vector<int64_t> sent(static_cast<size_t>(o.latency_probes), 0);
    std::vector<int64_t> call(static_cast<size_t>(o.latency_probes), 0);
    std::thread probe([&] {
      cpu_set_t cpus;
      CPU_ZERO(&cpus);
      CPU_SET(1 % std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)), &cpus);
      sched_setaffinity(0, sizeof(cpus), &cpus);
      for (int i = 0; i < o.latency_probes; ++i) {
        const std::string f = probe_file(i);
        const int64_t before = NowNs();
        syscall(SYS_chmod, f.c_str(), 04755);
        // The event is emitted as the call returns: latency counts from there.
        sent[static_cast<size_t>(i)] = NowNs();
        call[static_cast<size_t>(i)] = sent[static_cast<size_t>(i)] - before;
        usleep(static_cast<useconds_t>(o.latency_interval_us));
      }
    });
    probe.join();
    if (storm) {
      kill(storm_pid, SIGTERM);
      if (read(storm_pipe[0], &r.storm_ns, sizeof(r.storm_ns)) != sizeof(r.storm_ns))
        Die("the storm failed");
      close(storm_pipe[0]);
      waitpid(storm_pid, nullptr, 0);
    }
    usleep(500000);             // stragglers
    r.summary = sensor.Stop();  // closes its stdout: the readers see EOF
    shutdown(tail, SHUT_RDWR);
    r.out = Summarize(sent, out_reader.Join());
    r.tail = Summarize(sent, tail_reader.Join());
    std::sort(call.begin(), call.end());
    r.call_p50_us = static_cast<double>(call[call.size() / 2]) / 1000.0;
    close(tail);
    close(out[0]);
  }
  std::system(("rm -rf '" + dir + "'").c_str());
  return r;
}

// ------------------------------------------------------------------ instructions

// The pipeline's cost per record, in instructions: `permsentry run --record`
// keeps the raw records of a workload, and this binary replays them through
// the real pipeline (decode, attribute, enrich, rules, render, stdout to
// /dev/null) under callgrind, which counts only ReplayRecords. Instructions,
// not seconds: the same binary and records give the same count on a busy
// machine.

struct Replayed {
  size_t records = 0, operations = 0;
  uint64_t alerts = 0;
};

__attribute__((noinline)) void ReplayRecords(permsentry::Pipeline& pipeline,
                                             permsentry::StdoutWriter& out,
                                             const std::vector<std::vector<uint8_t>>& records) {
  for (const std::vector<uint8_t>& r : records) {
    (void)pipeline.OnRecord(r);
    if (out.size() >= (256u << 10)) (void)out.Flush();
  }
  (void)pipeline.Tick(absl::Now(), /*flush=*/true);
  (void)out.Flush();
}

int Replay(const std::string& file, const std::string& out_file, bool with_tail) {
  std::ifstream in(file, std::ios::binary);
  if (!in) Die("cannot read " + file);
  std::vector<std::vector<uint8_t>> records;
  Replayed r;
  for (uint32_t n; in.read(reinterpret_cast<char*>(&n), sizeof(n));) {
    std::vector<uint8_t> rec(n);
    if (!in.read(reinterpret_cast<char*>(rec.data()), n)) Die(file + ": truncated record");
    if (permsentry::RecordType(rec) == PS_EV_OP) ++r.operations;
    records.push_back(std::move(rec));
  }
  r.records = records.size();
  // Into FILE (--replay-out) with the boot clock taken as the epoch, so two
  // builds' lines can be compared byte for byte; else to /dev/null.
  const int devnull = out_file.empty()
                          ? open("/dev/null", O_WRONLY | O_CLOEXEC)
                          : open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (devnull < 0) Die("cannot write " + (out_file.empty() ? std::string("/dev/null") : out_file));
  permsentry::StdoutWriter out(devnull);
  // --replay-tail: with the tail server's backlog too, as `permsentry run`
  // keeps one by default (its socket in a directory of its own; no client).
  char tail_dir[] = "/tmp/permsentry-replay-XXXXXX";
  std::unique_ptr<permsentry::TailServer> tail;
  if (with_tail) {
    if (mkdtemp(tail_dir) == nullptr) Die("mkdtemp failed");
    permsentry::TailServerOptions tail_options = permsentry::Config().tail;
    tail_options.socket_path = std::string(tail_dir) + "/tail.sock";
    std::string note;
    absl::StatusOr<std::unique_ptr<permsentry::TailServer>> t =
        permsentry::TailServer::Listen(tail_options, &note);
    if (!t.ok()) Die("tail server: " + std::string(t.status().message()));
    tail = *std::move(t);
  }
  permsentry::Pipeline pipeline(&out, tail.get(), nullptr, "benchhost",
                                out_file.empty() ? permsentry::BootToRealtimeOffsetNs() : 0);
  pipeline.SetRules(std::make_shared<const permsentry::RuleSet>(permsentry::Config().rules));
  pipeline.SetWatchList(
      std::make_shared<const std::vector<permsentry::WatchEntry>>(permsentry::Config().watch));
  ReplayRecords(pipeline, out, records);
  r.alerts = pipeline.counters().alerts;
  std::printf("replayed %zu records: %zu operations, %llu alerts\n", r.records, r.operations,
              static_cast<unsigned long long>(r.alerts));
  close(devnull);
  if (tail != nullptr) {
    tail.reset();
    rmdir(tail_dir);
  }
  return 0;
}

struct InstructionCount {
  std::string what;
  size_t records = 0, operations = 0;
  uint64_t alerts = 0;
  uint64_t instructions = 0;
  double per_operation = 0;
};

InstructionCount Callgrind(const std::string& self, const std::string& records, bool tail,
                           const std::string& what);

// Records a workload with the sensor (coalescing off: one record per call),
// then counts the replay's instructions with callgrind: the pipeline to stdout,
// and again with the tail server's backlog (what `permsentry run` does by
// default).
std::vector<InstructionCount> CountInstructions(const Options& o, const std::string& self,
                                                bool alerts) {
  char tmpl[] = "/var/tmp/permsentry-insns-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) Die("mkdtemp failed");
  const std::string dir = tmpl, records = dir + "/records", config = dir + "/permsentry.yaml";
  std::ofstream(config) << "capture:\n  coalesce_window_ms: 0\nai:\n  status_file: " << dir
                        << "/status.json\n";
  {
    Permsentry sensor(o.sensor, -1, config, "auto", {"--record", records});
    if (alerts) {
      // Each a setuid chmod on a file of its own: the built-in rule
      // setid-bit-added alerts on every one.
      for (int i = 0; i < 2000; ++i) {
        const std::string f = dir + "/s" + std::to_string(i);
        close(open(f.c_str(), O_CREAT | O_WRONLY, 0755));
        syscall(SYS_chmod, f.c_str(), 04755);
      }
    } else {
      Workloads w;
      w.Permission(2000);
    }
    sensor.Stop();
  }
  std::vector<InstructionCount> counts;
  for (const bool tail : {false, true}) {
    const std::string what = alerts ? "alert" : "plain event";
    counts.push_back(Callgrind(self, records, tail, tail ? what + " + tail" : what));
  }
  if (!o.keep_records.empty()) {
    const std::string kept = o.keep_records + (alerts ? "/alert.records" : "/plain.records");
    if (std::rename(records.c_str(), kept.c_str()) != 0) Die("cannot keep records as " + kept);
  }
  std::system(("rm -rf '" + dir + "'").c_str());
  return counts;
}

// The replay of `records` under callgrind, counted.
InstructionCount Callgrind(const std::string& self, const std::string& records, bool tail,
                           const std::string& what) {
  InstructionCount c{.what = what};
  const std::string out =
      Run("valgrind --tool=callgrind --callgrind-out-file=/dev/null "
          "'--toggle-collect=*ReplayRecords*' '" +
          self + "' --replay '" + records + "'" + (tail ? " --replay-tail" : "") + " 2>&1");
  unsigned long long insns = 0, ops = 0, al = 0;
  size_t recs = 0;
  const size_t at = out.find("Collected : ");
  const size_t rp = out.find("replayed ");
  if (at == std::string::npos || rp == std::string::npos ||
      std::sscanf(out.c_str() + at, "Collected : %llu", &insns) != 1 ||
      std::sscanf(out.c_str() + rp, "replayed %zu records: %llu operations, %llu alerts", &recs,
                  &ops, &al) != 3) {
    Die("callgrind did not count the replay:\n" + out);
  }
  c.records = recs;
  c.operations = ops;
  c.alerts = al;
  c.instructions = insns;
  c.per_operation = ops > 0 ? static_cast<double>(insns) / static_cast<double>(ops) : 0;
  return c;
}

void PrintInstructions(const std::vector<InstructionCount>& insns) {
  if (insns.empty()) return;
  std::printf(
      "\npipeline instructions (callgrind, replay of recorded records: decode, attribute, "
      "enrich, rules, render, write)\n");
  std::printf("%-18s %10s %12s %10s %16s %12s\n", "kind", "records", "operations", "alerts",
              "instructions", "per record");
  for (const InstructionCount& c : insns) {
    std::printf("%-18s %10zu %12zu %10llu %16llu %12.0f\n", c.what.c_str(), c.records, c.operations,
                static_cast<unsigned long long>(c.alerts),
                static_cast<unsigned long long>(c.instructions), c.per_operation);
  }
}

// ------------------------------------------------------------------ sustained storm

// The sensor's resident memory (kB, VmRSS) and what its BPF maps lock in the
// kernel (bytes, the memlock of every map it holds).
uint64_t RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  return 0;
}

// Of the RSS, what the sensor's BPF maps' mappings account for (the rings:
// the same pages as the maps' memory, the data pages mapped twice), and its own
// anonymous memory (kB).
struct RssParts {
  uint64_t rss_kb = 0, maps_kb = 0, anon_kb = 0;
};
RssParts RssBreakdown(pid_t pid) {
  RssParts r;
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  bool map = false;
  for (std::string line; std::getline(in, line);) {
    const std::string first = line.substr(0, line.find(' '));
    if (first.empty() || first.back() != ':') {  // a mapping's header line
      map = line.find("anon_inode:bpf-map") != std::string::npos;
    } else if (first == "Rss:") {
      const uint64_t kb = std::strtoull(line.c_str() + 4, nullptr, 10);
      r.rss_kb += kb;
      if (map) r.maps_kb += kb;
    } else if (first == "Anonymous:") {
      r.anon_kb += std::strtoull(line.c_str() + 10, nullptr, 10);
    }
  }
  return r;
}

uint64_t BpfMapBytes(pid_t pid) {
  uint64_t total = 0;
  const std::string fds = "/proc/" + std::to_string(pid) + "/fd";
  for (int fd = 0; fd < 4096; ++fd) {
    char target[64] = {};
    const std::string link = fds + "/" + std::to_string(fd);
    if (readlink(link.c_str(), target, sizeof(target) - 1) <= 0) continue;
    if (std::string_view(target) != "anon_inode:bpf-map") continue;
    std::ifstream info("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd));
    for (std::string line; std::getline(info, line);)
      if (line.rfind("memlock:", 0) == 0) total += std::strtoull(line.c_str() + 8, nullptr, 10);
  }
  return total;
}

// CPU time (user + system) a process has used, in seconds.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');  // the name may hold spaces
  if (paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(paren + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::strtoull(f.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(f.c_str(), nullptr, 10);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct StormResult {
  int procs = 0;
  double seconds = 0;
  uint64_t made = 0;     // reportable calls the workload made
  uint64_t records = 0;  // events on stdout for them
  uint64_t repeats = 0;  // calls those events counted as repeats
  uint64_t lost = 0;     // the sensor's own count (ring full), any process
  uint64_t rss_kb = 0, rss_max_kb = 0, map_bytes = 0;
  RssParts rss;  // at the end of the storm
  double ns_per_call = 0;
  double sensor_cpu = 0;  // the sensor's CPU time over the storm's, in cores
  bool distinct = false;
};

// Counts the storm's events on the sensor's stdout: records, and the repeats
// summary lines carry.
class StormReader {
 public:
  explicit StormReader(int fd) : fd_(fd) {
    thread_ = std::thread([this] { Run(); });
  }
  void Join(uint64_t& records, uint64_t& repeats) {
    thread_.join();
    records = records_;
    repeats = repeats_;
  }

 private:
  void Run() {
    static constexpr std::string_view kPath = "\"file\":{\"path\":\"/var/tmp/permsentry-bench-";
    static constexpr std::string_view kRepeats = "\"repeats\":";
    std::string buf;
    char chunk[1 << 16];
    for (;;) {
      const ssize_t n = read(fd_, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
        const std::string_view line(buf.data() + start, nl - start);
        if (line.find(kPath) == std::string_view::npos) continue;
        const size_t r = line.find(kRepeats);
        if (r == std::string_view::npos) {
          ++records_;
        } else {
          repeats_ += std::strtoull(line.data() + r + kRepeats.size(), nullptr, 10);
        }
      }
      buf.erase(0, start);
    }
  }
  int fd_;
  uint64_t records_ = 0, repeats_ = 0;
  std::thread thread_;
};

// `procs` processes run the permission workload without pause for `seconds`,
// each pinned to a CPU of its own (round robin), against the sensor with its
// default settings and every event on stdout (read and counted here).
// With `distinct`, a chmod on each of 4,096 files in turn instead: no call
// repeats one the kernel still holds, so nothing is coalesced (the consumer's
// own limit).
StormResult RunStorm(const Options& o, int procs, bool distinct = false) {
  StormResult r{
      .procs = procs, .seconds = static_cast<double>(o.storm_seconds), .distinct = distinct};
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) Die("pipe");
  Permsentry sensor(o.sensor, out[1]);
  close(out[1]);
  StormReader reader(out[0]);
  const long ncpu = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  std::vector<std::pair<pid_t, int>> kids;
  const int64_t end = NowNs() + static_cast<int64_t>(o.storm_seconds) * 1'000'000'000;
  for (int k = 0; k < procs; ++k) {
    int p[2];
    if (pipe(p) != 0) Die("pipe");
    const pid_t pid = fork();
    if (pid == 0) {
      cpu_set_t cpus;
      CPU_ZERO(&cpus);
      CPU_SET(k % ncpu, &cpus);
      sched_setaffinity(0, sizeof(cpus), &cpus);
      Workloads w;
      uint64_t made = kPermSetupEvents, ops = 0;
      if (distinct) w.Distinct(0);  // the files, made before the clock starts
      const int64_t t0 = NowNs();
      while (NowNs() < end) {
        if (distinct) {
          w.Distinct(100);
          made += 100;
          ops += 100;
        } else {
          w.Permission(100);
          made += 100 * kPermEventsPerCycle;
          ops += 100 * kPermOpsPerCycle;
        }
      }
      const double ns = static_cast<double>(NowNs() - t0) / static_cast<double>(ops);
      const uint64_t msg[2] = {made, static_cast<uint64_t>(ns)};
      (void)!write(p[1], msg, sizeof(msg));
      _exit(0);
    }
    close(p[1]);
    kids.push_back({pid, p[0]});
  }
  // Steady state: the sensor's memory while the storm runs, and the CPU its
  // reader takes (one thread: what a second consumer core could share).
  const double cpu0 = CpuSeconds(sensor.pid());
  const int64_t cpu_t0 = NowNs();
  while (NowNs() < end) {
    usleep(500000);
    const uint64_t rss = RssKb(sensor.pid());
    r.rss_max_kb = std::max(r.rss_max_kb, rss);
    r.rss_kb = rss;
  }
  r.sensor_cpu = (CpuSeconds(sensor.pid()) - cpu0) / (static_cast<double>(NowNs() - cpu_t0) / 1e9);
  r.map_bytes = BpfMapBytes(sensor.pid());
  r.rss = RssBreakdown(sensor.pid());
  double ns = 0;
  for (auto [pid, fd] : kids) {
    uint64_t msg[2] = {0, 0};
    if (read(fd, msg, sizeof(msg)) != sizeof(msg)) Die("a storm process failed");
    close(fd);
    waitpid(pid, nullptr, 0);
    r.made += msg[0];
    ns += static_cast<double>(msg[1]);
  }
  r.ns_per_call = ns / procs;
  const std::string summary = sensor.Stop();  // its stdout closes: the reader sees EOF
  reader.Join(r.records, r.repeats);
  close(out[0]);
  unsigned long long seen = 0, lost = 0;
  const size_t at = summary.find("detached; ");
  if (at == std::string::npos ||
      std::sscanf(summary.c_str() + at, "detached; %llu events seen, %llu lost", &seen, &lost) != 2)
    Die("unexpected sensor summary: " + summary);
  r.lost = lost;
  return r;
}

void Usage() {
  std::puts(
      "usage: permsentry_bench [--sensor PATH] [--backends LIST] [--reps N] [--perm-cycles N]\n"
      "                        [--unrelated-cycles N] [--write-cycles N] [--spawn-cycles N]\n"
      "                        [--no-auditd] [--latency-probes N] [--latency-interval-us N]\n"
      "                        [--latency-only] [--storm-seconds N] [--no-instructions]\n"
      "                        [--keep-records DIR] [--instructions-only]\n"
      "       permsentry_bench --replay RECORDS [--replay-out FILE] [--replay-tail]\n"
      "Runs the permission, unrelated, writes and spawn workloads with no sensor, with\n"
      "permsentry (one leg per capture backend in --backends, e.g. tracepoint,rich;\n"
      "default: auto) and with auditd, and prints ns/op (median of N reps), ratios and\n"
      "delivered events; then measures syscall -> alert latency on stdout and on a tail\n"
      "client, idle and under the permission storm (--latency-probes 0 skips it).\n"
      "First it counts the pipeline's instructions per record with callgrind (records\n"
      "kept by `permsentry run --record`, replayed by --replay RECORDS); then the\n"
      "sustained storm runs N seconds (default 10) with one process and with one per\n"
      "CPU, and the run fails (exit 1) if the sensor lost or miscounted any call.\n"
      "--keep-records DIR keeps the recorded plain.records and alert.records there,\n"
      "for a profiler: valgrind --tool=callgrind --toggle-collect='*ReplayRecords*'\n"
      "permsentry_bench --replay DIR/plain.records. --instructions-only stops after\n"
      "the count. --replay-out FILE writes the replay's lines to FILE, with the boot\n"
      "clock as the epoch: the same records give the same bytes, build after build.\n"
      "--replay-tail replays with the tail server's backlog as well (as `permsentry\n"
      "run` keeps one by default); the count is given both ways.\n"
      "Needs root. auditd runs last; the kernel's audit state is restored after.");
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string replay, replay_out;
  bool replay_tail = false;
  static const option kLong[] = {{"sensor", required_argument, nullptr, 's'},
                                 {"backends", required_argument, nullptr, 'B'},
                                 {"reps", required_argument, nullptr, 'r'},
                                 {"perm-cycles", required_argument, nullptr, 'p'},
                                 {"unrelated-cycles", required_argument, nullptr, 'u'},
                                 {"write-cycles", required_argument, nullptr, 'w'},
                                 {"spawn-cycles", required_argument, nullptr, 'S'},
                                 {"no-auditd", no_argument, nullptr, 'n'},
                                 {"latency-probes", required_argument, nullptr, 'L'},
                                 {"latency-interval-us", required_argument, nullptr, 'I'},
                                 {"latency-only", no_argument, nullptr, 'O'},
                                 {"storm-seconds", required_argument, nullptr, 'T'},
                                 {"no-instructions", no_argument, nullptr, 'N'},
                                 {"replay", required_argument, nullptr, 'P'},
                                 {"keep-records", required_argument, nullptr, 'K'},
                                 {"instructions-only", no_argument, nullptr, 'i'},
                                 {"replay-out", required_argument, nullptr, 'R'},
                                 {"replay-tail", no_argument, nullptr, 't'},
                                 {"help", no_argument, nullptr, 'h'},
                                 {nullptr, 0, nullptr, 0}};
  for (int c; (c = getopt_long(argc, argv, "h", kLong, nullptr)) != -1;) {
    switch (c) {
      case 's':
        o.sensor = optarg;
        break;
      case 'B': {
        o.backends.clear();
        std::stringstream list(optarg);
        for (std::string b; std::getline(list, b, ',');)
          if (!b.empty()) o.backends.push_back(b);
        if (o.backends.empty()) o.backends = {"auto"};
        break;
      }
      case 'r':
        o.reps = std::max(1, std::atoi(optarg));
        break;
      case 'p':
        o.perm_cycles = std::max(100, std::atoi(optarg));
        break;
      case 'u':
        o.unrelated_cycles = std::max(100, std::atoi(optarg));
        break;
      case 'w':
        o.write_cycles = std::max(100, std::atoi(optarg));
        break;
      case 'S':
        o.spawn_cycles = std::max(10, std::atoi(optarg));
        break;
      case 'n':
        o.auditd = false;
        break;
      case 'L':
        o.latency_probes = std::max(0, std::atoi(optarg));
        break;
      case 'I':
        o.latency_interval_us = std::max(100, std::atoi(optarg));
        break;
      case 'O':
        o.latency_only = true;
        o.auditd = false;
        o.storm_seconds = 0;
        o.instructions = false;
        break;
      case 'T':
        o.storm_seconds = std::max(0, std::atoi(optarg));
        break;
      case 'N':
        o.instructions = false;
        break;
      case 'P':
        replay = optarg;
        break;
      case 'R':
        replay_out = optarg;
        break;
      case 't':
        replay_tail = true;
        break;
      case 'K':
        o.keep_records = optarg;
        break;
      case 'i':
        o.instructions_only = true;
        break;
      case 'h':
        Usage();
        return 0;
      default:
        Usage();
        return 2;
    }
  }
  if (!replay.empty()) return Replay(replay, replay_out, replay_tail);
  if (geteuid() != 0) Die("needs root (it loads the sensor and drives auditd)");

  // The pipeline's instructions per record, first (two short sensor runs).
  std::vector<InstructionCount> insns;
  if (o.instructions) {
    if (access("/usr/bin/valgrind", X_OK) != 0) {
      std::fprintf(stderr,
                   "valgrind not installed: no instruction counts (scripts/bench.sh "
                   "installs it)\n");
    } else {
      char self[4096] = {};
      if (readlink("/proc/self/exe", self, sizeof(self) - 1) <= 0) Die("readlink /proc/self/exe");
      for (const bool alerts : {false, true}) {
        std::fprintf(stderr, "instructions per %s: recording, then replaying under callgrind\n",
                     alerts ? "alert" : "plain event");
        for (InstructionCount& c : CountInstructions(o, self, alerts)) insns.push_back(c);
      }
    }
  }
  if (o.instructions_only) {
    PrintInstructions(insns);
    return insns.empty() ? 1 : 0;
  }

  std::vector<LegResult> legs;

  // No sensor, the floor and each permsentry backend alternate, one round
  // each, so the host's drift (noisy neighbours on a VM) hits all alike;
  // ratios are medians of the per-round ratios, times are medians of the
  // rounds.
  struct Series {
    std::string name;
    std::vector<double> ns[4], ratio[4];  // permission, unrelated, writes, spawn
    uint64_t issued = 0, seen = 0, lost = 0;
    bool sensor = false;
  };
  std::vector<Series> series = {{.name = "none"}, {.name = "floor"}};
  for (const std::string& b : o.backends)
    series.push_back(
        {.name = o.backends.size() == 1 && b == "auto" ? "permsentry" : b, .sensor = true});
  const auto add = [](Series& s, const LegResult& r, const LegResult& none) {
    const double v[4] = {r.perm_ns, r.unrelated_ns, r.write_ns, r.spawn_ns};
    const double n[4] = {none.perm_ns, none.unrelated_ns, none.write_ns, none.spawn_ns};
    for (int k = 0; k < 4; ++k) {
      s.ns[k].push_back(v[k]);
      s.ratio[k].push_back(v[k] / n[k]);
    }
  };
  for (int round = 0; round < (o.latency_only ? 1 : o.reps); ++round) {
    std::fprintf(stderr, "round %d/%d: no sensor, floor, permsentry\n", round + 1, o.reps);
    const LegResult n = RunLeg("none", o, 1, false);
    add(series[0], n, n);
    {
      TracepointFloor floor;
      add(series[1], RunLeg("floor", o, 1, false), n);
    }
    for (size_t k = 0; k < o.backends.size(); ++k) {
      Series& sr = series[2 + k];
      Permsentry s(o.sensor, -1, "", o.backends[k]);
      const LegResult p = RunLeg(sr.name, o, 1, true);
      const std::string summary = s.Stop();
      unsigned long long round_seen = 0, round_lost = 0;
      const size_t at = summary.find("detached; ");
      if (at == std::string::npos ||
          std::sscanf(summary.c_str() + at, "detached; %llu events seen, %llu lost", &round_seen,
                      &round_lost) != 2) {
        Die("unexpected sensor summary: " + summary);
      }
      sr.seen += round_seen;
      sr.lost += round_lost;
      sr.issued +=
          (static_cast<uint64_t>(o.perm_cycles) + o.perm_cycles / 10) * kPermEventsPerCycle;
      add(sr, p, n);
    }
  }
  for (const Series& sr : series) {
    LegResult l{.name = sr.name,
                .perm_ns = Median(sr.ns[0]),
                .unrelated_ns = Median(sr.ns[1]),
                .write_ns = Median(sr.ns[2]),
                .spawn_ns = Median(sr.ns[3]),
                .delivery = "-",
                .perm_ratio = Median(sr.ratio[0]),
                .unrelated_ratio = Median(sr.ratio[1]),
                .write_ratio = Median(sr.ratio[2]),
                .spawn_ratio = Median(sr.ratio[3])};
    if (sr.sensor) {
      l.delivery = "issued " + std::to_string(sr.issued) + " permission events; the sensor saw " +
                   std::to_string(sr.seen) + " events (any process), lost " +
                   std::to_string(sr.lost);
    }
    legs.push_back(l);
  }

  // The sustained storm: one process, then one per CPU, for storm_seconds.
  std::vector<StormResult> storms;
  if (o.storm_seconds > 0) {
    const int ncpu = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    for (const int procs : {1, std::max(2, ncpu)}) {
      std::fprintf(stderr, "sustained storm: %d process(es), %d s\n", procs, o.storm_seconds);
      storms.push_back(RunStorm(o, procs));
    }
    std::fprintf(stderr, "sustained storm of distinct calls: 1 process, %d s\n", o.storm_seconds);
    storms.push_back(RunStorm(o, 1, /*distinct=*/true));
  }

  // Alert latency, before auditd (which leaves a cost on later processes).
  struct LatencyRun {
    std::string load, stdout_kind;
    LatencyResult r;
  };
  std::vector<LatencyRun> latency;
  if (o.latency_probes > 0) {
    for (const bool storm : {false, true}) {
      for (const bool alerts_only : {false, true}) {
        std::fprintf(stderr, "alert latency: %d probes, %s, stdout %s\n", o.latency_probes,
                     storm ? "under the permission storm" : "idle",
                     alerts_only ? "alerts only" : "every event");
        latency.push_back({storm ? "permission storm" : "idle",
                           alerts_only ? "stdout (alerts)" : "stdout (events)",
                           MeasureLatency(o, storm, alerts_only)});
      }
    }
  }

  if (o.auditd && Auditd::Available()) {
    std::fprintf(stderr, "auditd (last: audit leaves a cost on processes started after it)\n");
    Auditd a;
    legs.push_back(RunLeg("auditd", o, o.reps, false));
    legs.back().perm_ratio = legs.back().perm_ns / legs[0].perm_ns;
    legs.back().unrelated_ratio = legs.back().unrelated_ns / legs[0].unrelated_ns;
    legs.back().write_ratio = legs.back().write_ns / legs[0].write_ns;
    legs.back().spawn_ratio = legs.back().spawn_ns / legs[0].spawn_ns;
    // audit.log rotates (and drops old files) long before a storm ends, so its
    // records cannot be counted after the fact; the kernel's own loss counter can.
    legs.back().delivery = "kernel audit records lost: " + a.Lost();
  } else if (o.auditd) {
    std::fprintf(stderr, "auditd not installed: skipping its leg (scripts/bench.sh installs it)\n");
  }

  int status = 0;
  utsname u{};
  uname(&u);
  std::printf(
      "\npermsentry benchmark: kernel %s, %ld CPUs, workload pinned to CPU 0, median of %d "
      "rounds\n",
      u.release, sysconf(_SC_NPROCESSORS_ONLN), o.reps);
  std::printf(
      "permission workload: %d syscalls x %d cycles; unrelated: %d syscalls x %d cycles; "
      "writes: %d syscalls x %d cycles; spawn: %d fork+exec+wait\n\n",
      kPermOpsPerCycle, o.perm_cycles, kUnrelatedOpsPerCycle, o.unrelated_cycles, kWriteOpsPerCycle,
      o.write_cycles, o.spawn_cycles);
  std::printf("%-12s %14s %8s %14s %8s %14s %8s %14s %8s\n", "sensor", "permission", "ratio",
              "unrelated", "ratio", "writes", "ratio", "spawn", "ratio");
  for (const LegResult& l : legs) {
    std::printf("%-12s %11.0f ns %7.2fx %11.0f ns %7.2fx %11.0f ns %7.2fx %11.0f ns %7.2fx\n",
                l.name.c_str(), l.perm_ns, l.perm_ratio, l.unrelated_ns, l.unrelated_ratio,
                l.write_ns, l.write_ratio, l.spawn_ns, l.spawn_ratio);
  }
  std::printf("\n");
  for (const LegResult& l : legs)
    if (l.delivery != "-") std::printf("%-12s %s\n", l.name.c_str(), l.delivery.c_str());
  PrintInstructions(insns);
  if (!storms.empty()) {
    std::printf(
        "\nsustained storm: the permission workload without pause, default settings, every "
        "event on stdout (read)\n");
    std::printf("%-9s %5s %5s %11s %9s %11s %11s %9s %8s %8s %8s %8s %8s %6s\n", "storm", "procs",
                "secs", "calls made", "events", "repeats", "delivered", "lost", "ns/call",
                "RSS MiB", "rings", "own", "maps MiB", "CPU");
    for (const StormResult& r : storms) {
      const uint64_t delivered = r.records + r.repeats;
      const bool bad = r.lost > 0 || delivered != r.made;
      std::printf(
          "%-9s %5d %5.0f %11llu %9llu %11llu %11llu %9llu %8.0f %8.1f %8.1f %8.1f %8.1f "
          "%5.0f%%%s\n",
          r.distinct ? "distinct" : "identical", r.procs, r.seconds,
          static_cast<unsigned long long>(r.made), static_cast<unsigned long long>(r.records),
          static_cast<unsigned long long>(r.repeats), static_cast<unsigned long long>(delivered),
          static_cast<unsigned long long>(r.lost), r.ns_per_call,
          static_cast<double>(r.rss.rss_kb) / 1024.0, static_cast<double>(r.rss.maps_kb) / 1024.0,
          static_cast<double>(r.rss.anon_kb) / 1024.0, static_cast<double>(r.map_bytes) / 1048576.0,
          100.0 * r.sensor_cpu, bad ? (r.distinct ? "  (lost: see below)" : "  FAIL") : "");
      // The storm is the permission workload: it must lose nothing.
      if (bad && !r.distinct) status = 1;
    }
    std::printf(
        "RSS: the sensor's resident memory at the storm's end; rings: the part that is its BPF "
        "maps' mappings (the ring buffers, their data pages mapped twice; the same pages as "
        "\"maps\"); own: its anonymous memory; maps: what its BPF maps hold in the kernel; CPU: "
        "the sensor's CPU time over the storm's (its one reader thread), in %% of one CPU\n");
    for (const StormResult& r : storms) {
      if (!r.distinct || (r.lost == 0 && r.records + r.repeats == r.made)) continue;
      std::printf(
          "the distinct-call storm (nothing to coalesce) outran the consumer: %llu of %llu calls "
          "lost with the ring full (counted and alerted); its rate: %.0f calls/s\n",
          static_cast<unsigned long long>(r.lost), static_cast<unsigned long long>(r.made),
          1e9 / std::max(1.0, r.ns_per_call));
    }
  }
  if (!latency.empty()) {
    std::printf(
        "\nalert latency: from a setuid chmod's return to the alert line read (%d probes, %d us "
        "apart, built-in rule setid-bit-added)\n",
        o.latency_probes, o.latency_interval_us);
    std::printf("%-18s %-16s %10s %10s %10s %8s\n", "load", "reader", "p50", "p99", "max",
                "missing");
    for (const LatencyRun& run : latency) {
      const LatencyResult& r = run.r;
      for (const auto& [reader, p] :
           {std::pair<std::string, const Percentiles&>{run.stdout_kind, r.out},
            std::pair<std::string, const Percentiles&>{"tail (alerts)", r.tail}}) {
        std::printf("%-18s %-16s %7.0f us %7.0f us %7.0f us %8zu\n", run.load.c_str(),
                    reader.c_str(), p.p50, p.p99, p.max, p.missing);
      }
      std::printf("%-18s the chmod itself: %.0f us (p50)", "", r.call_p50_us);
      if (r.storm_ns > 0) {
        std::printf("; the storm meanwhile: %.0f ns/op, %.2fx no sensor", r.storm_ns,
                    r.storm_ns / legs[0].perm_ns);
      }
      std::printf("\n%-18s %s\n", "", r.summary.c_str());
    }
  }
  if (status != 0) std::printf("\nFAILED: the sustained storm lost or miscounted events\n");
  return status;
}
