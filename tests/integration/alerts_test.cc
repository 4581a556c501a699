// Integration: rules, alerts and every sink against the real thing. Needs root.
//
// One sensor for the suite, configured with a file sink, a syslog sink to a
// real rsyslogd on loopback, a webhook to a real HTTP server (and a second in
// the Slack form), journald (the host's, or a systemd-journald started here
// when none runs), and the tail socket with two `permsentry tail` clients
// attached. Each built-in rule is triggered by a real syscall, and its alert
// must arrive on stdout and at every sink. The last tests take the collector
// and the HTTP server down mid-run: capture must lose nothing and the drops
// must be reported.
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "../common/acl_value.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "sensor_harness.h"

namespace permsentry::testing {
namespace {

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;
constexpr gid_t kStranger = 54321;  // a gid no group has

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> out;
  for (absl::string_view l : absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty()))
    out.emplace_back(l);
  return out;
}

// Polls `pred` until it holds or `timeout` passes (six times that under
// emulation, where a peer such as the Python webhook server starts slowly).
bool Eventually(const std::function<bool()>& pred, absl::Duration timeout = absl::Seconds(15)) {
  timeout *= Scaled(1, 6);
  for (const absl::Time end = absl::Now() + timeout; absl::Now() < end;) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return pred();
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool CanConnectTcp(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

// A child process with its output in files, killed at the end.
struct Daemon {
  pid_t pid = -1;
  void Start(const std::vector<std::string>& argv, const std::string& out, uid_t uid = 0,
             gid_t gid = 0) {
    pid = fork();
    if (pid == 0) {
      const int in = open("/dev/null", O_RDONLY);
      const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(in, 0);
      dup2(o, 1);
      dup2(o, 2);
      setsid();
      if (uid != 0 && (setgroups(0, nullptr) != 0 || setresgid(gid, gid, gid) != 0 ||
                       setresuid(uid, uid, uid) != 0))
        _exit(126);
      std::vector<char*> a;
      for (const std::string& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
  }
  void Stop(int sig = SIGTERM) {
    if (pid <= 0) return;
    kill(pid, sig);
    WaitChild(pid);
    pid = -1;
  }
};

// The journal: the host's journald, or one started for the suite.
struct Journal {
  static constexpr char kSocket[] = "/run/systemd/journal/socket";
  bool ours = false;
  Daemon daemon;
  static bool Running() {
    const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, kSocket);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    close(fd);
    return ok;
  }
  bool Start(const std::string& log) {
    if (Running()) return true;
    if (access("/lib/systemd/systemd-journald", X_OK) != 0) return false;
    daemon.Start({"/lib/systemd/systemd-journald"}, log);
    ours = true;
    return Eventually(Running, absl::Seconds(10));
  }
  void Stop() {
    if (!ours) return;
    daemon.Stop();
    // What it made in /run: the sockets and the volatile journal.
    (void)!system("rm -rf /run/systemd/journal /run/log/journal");
  }
  // The journal entries with PERMSENTRY_RULE=rule, as JSON lines.
  static std::vector<std::string> Entries(const std::string& rule) {
    std::vector<std::string> out;
    if (FILE* p = popen(
            ("journalctl --no-pager -o json PERMSENTRY_RULE=" + rule + " 2>/dev/null").c_str(),
            "r")) {
      char buf[65536];
      while (fgets(buf, sizeof(buf), p)) out.emplace_back(buf);
      pclose(p);
    }
    return out;
  }
};

class Alerts : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(geteuid(), 0u) << "integration tests load BPF programs: run them as root";
    ASSERT_NE(getgrgid(kNogroup), nullptr) << "the suite uses group nogroup (65534)";
    char tmpl[] = "/var/tmp/permsentry-alerts-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = new std::string(tmpl);
    ASSERT_EQ(chmod(root_->c_str(), 0755), 0);  // nobody reaches the tail socket
    for (const char* d : {"/cred", "/cred/sudoers.d", "/bin", "/rsyslog"})
      ASSERT_EQ(mkdir((*root_ + d).c_str(), 0755), 0);
    std::ofstream(*root_ + "/cred/passwd") << "root:x:0:0::/root:/bin/sh\n";
    std::ofstream(*root_ + "/cred/authorized_keys") << "";
    chmod((*root_ + "/cred/passwd").c_str(), 0644);
    std::filesystem::copy_file("/bin/sh", *root_ + "/bin/pkgtool");
    chmod((*root_ + "/bin/pkgtool").c_str(), 0755);

    syslog_port_ = FreePort();
    StartRsyslog();
    webhook_port_ = FreePort();
    slack_port_ = FreePort();
    StartWebhook();
    slack_ = new Daemon();
    slack_->Start({"/usr/bin/python3", HttpServerScript(), std::to_string(slack_port_),
                   *root_ + "/slack.log"},
                  *root_ + "/slack.out");
    ASSERT_TRUE(Eventually([] { return CanConnectTcp(slack_port_); }));
    journal_ = new Journal();
    ASSERT_TRUE(journal_->Start(*root_ + "/journald.out"))
        << ReadFile(*root_ + "/journald.out")
        << "no journald and no /lib/systemd/systemd-journald (Debian's systemd package)";

    const std::string cfg = *root_ + "/permsentry.yaml";
    WriteConfig("");
    sensor_ = new SensorProcess({"--config", cfg});
    ASSERT_TRUE(sensor_->ready()) << sensor_->Stderr();
    // Two tails, as two people would run them.
    for (int i = 0; i < 2; ++i) {
      tails_[i] = new Daemon();
      tails_[i]->Start(
          {PermsentryBinary(), "tail", "--json", "--alerts-only", "--socket", Socket()},
          TailFile(i));
    }
    ASSERT_TRUE(Eventually([] { return StatusField("\"clients\":2"); }, absl::Seconds(10)))
        << ReadFile(*root_ + "/status.json");
  }
  static void TearDownTestSuite() {
    for (Daemon*& t : tails_) {
      if (t != nullptr) t->Stop();
      delete t;
      t = nullptr;
    }
    if (sensor_ != nullptr) {
      EXPECT_EQ(sensor_->Stop(), 0) << sensor_->Stderr();
      EXPECT_EQ(sensor_->bad_lines(), 0u);
    }
    delete sensor_;
    sensor_ = nullptr;
    for (Daemon* d : {rsyslog_, webhook_, slack_}) {
      if (d != nullptr) d->Stop(SIGKILL);
      delete d;
    }
    rsyslog_ = webhook_ = slack_ = nullptr;
    if (journal_ != nullptr) journal_->Stop();
    delete journal_;
    journal_ = nullptr;
    if (root_ != nullptr) (void)!system(("rm -rf '" + *root_ + "'").c_str());
    delete root_;
    root_ = nullptr;
  }
  void SetUp() override { sensor_->StartWindow(); }

  // The suite's configuration; `custom` is YAML for rules.custom.
  static void WriteConfig(const std::string& custom) {
    std::ofstream(*root_ + "/permsentry.yaml")
        // Every call its own record: the slow-tail test floods a tail client
        // with the chmods of one file.
        << "capture:\n  stats_interval_ms: 200\n  coalesce_window_ms: 0\n"
        << "ai:\n  status_file: " << *root_ << "/status.json\n"
        << "rules:\n  coalesce_window_s: 2\n"
        << "  exclude:\n    - ancestor_executable: " << *root_ << "/bin/pkgtool\n"
        << custom << "watch:\n  paths:\n"
        << "    - {path: " << *root_ << "/cred/passwd, class: passwd}\n"
        << "    - {path: " << *root_ << "/cred/sudoers.d/, class: sudoers}\n"
        << "    - {path: " << *root_ << "/cred/authorized_keys, class: authorized_keys}\n"
        << "sinks:\n"
        << "  - {type: file, path: " << *root_ << "/alerts.jsonl}\n"
        << "  - {type: syslog, address: \"127.0.0.1:" << syslog_port_
        << "\", min_severity: low, queue: 4}\n"
        << "  - {type: webhook, url: \"http://127.0.0.1:" << webhook_port_
        << "/hook\", min_severity: low, attempts: 2, queue: 100,"
        << " headers: {Authorization: \"Bearer t0ken\"}}\n"
        << "  - {type: webhook, url: \"http://127.0.0.1:" << slack_port_
        << "/slack\", format: slack}\n"
        << "  - {type: journald}\n"
        << "tail:\n  socket: " << *root_ << "/tail.sock\n"
        << "  group: nogroup\n  client_buffer_kb: 64\n";
  }
  // A number from the status file's entry for sink `name`.
  static uint64_t SinkStat(const std::string& name, const std::string& field) {
    std::optional<Event> s = FlattenJsonLine(ReadFile(*root_ + "/status.json"));
    if (!s) return 0;
    for (int i = 0; i < 16; ++i) {
      const std::string k = absl::StrCat("sinks.", i, ".");
      if (Get(*s, k + "name") == name) return std::stoull(Get(*s, k + field));
    }
    return 0;
  }
  static std::string HttpServerScript() {
    return std::string(PERMSENTRY_SOURCE_DIR) + "/tests/integration/http_sink_server.py";
  }
  static std::string Socket() { return *root_ + "/tail.sock"; }
  static std::string TailFile(int i) { return absl::StrCat(*root_, "/tail", i, ".out"); }
  static bool StatusField(const std::string& needle) {
    return absl::StrContains(ReadFile(*root_ + "/status.json"), needle);
  }
  static void StartRsyslog() {
    const std::string conf = *root_ + "/rsyslog.conf";
    std::ofstream(conf)
        << "global(workDirectory=\"" << *root_ << "/rsyslog\")\n"
        << "module(load=\"imtcp\")\n"
        << "template(name=\"fields\" type=\"string\" string=\"%PRI%|%HOSTNAME%|%APP-NAME%|"
           "%MSGID%|%STRUCTURED-DATA%|%msg%\\n\")\n"
        << "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"" << syslog_port_ << "\")\n"
        << "if $app-name == 'permsentry' then action(type=\"omfile\" file=\"" << *root_
        << "/syslog.out\" template=\"fields\")\n";
    if (rsyslog_ == nullptr) rsyslog_ = new Daemon();
    rsyslog_->Start({"/usr/sbin/rsyslogd", "-n", "-f", conf, "-i", *root_ + "/rsyslog/pid"},
                    *root_ + "/rsyslogd.out");
    ASSERT_TRUE(Eventually([] { return CanConnectTcp(syslog_port_); }))
        << ReadFile(*root_ + "/rsyslogd.out");
  }
  static void StartWebhook() {
    if (webhook_ == nullptr) webhook_ = new Daemon();
    webhook_->Start({"/usr/bin/python3", HttpServerScript(), std::to_string(webhook_port_),
                     *root_ + "/webhook.log"},
                    *root_ + "/webhook.out");
    ASSERT_TRUE(Eventually([] { return CanConnectTcp(webhook_port_); }))
        << ReadFile(*root_ + "/webhook.out");
  }

  // A fresh file in the scratch tree; its own creation's events left behind.
  std::string File(const std::string& name, mode_t mode = 0755, uid_t uid = 0) {
    const std::string p = *root_ + "/" + name;
    const int fd = open(p.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    EXPECT_GE(fd, 0) << p;
    close(fd);
    EXPECT_EQ(chown(p.c_str(), uid, uid), 0);
    EXPECT_EQ(chmod(p.c_str(), mode), 0);
    EXPECT_TRUE(sensor_->WaitFor([&](const Event& e) {
      return Get(e, "file.path") == p && Get(e, "event.action") == "chmod";
    }));
    sensor_->StartWindow();
    return p;
  }

  // The alert for `rule` on `path` on stdout (any window), or fails.
  static Event Alert(const std::string& rule, const std::string& path) {
    std::optional<Event> e = sensor_->WaitFor(
        [&](const Event& ev) {
          return Get(ev, "event.kind") == "alert" && Get(ev, "rule.id") == rule &&
                 (path.empty() || Get(ev, "file.path") == path);
        },
        absl::Seconds(10));
    if (!e) {
      ADD_FAILURE() << "no " << rule << " alert for " << path << "\n" << sensor_->Stderr();
      return {};
    }
    return *e;
  }

  // The alert reached every sink that takes its severity, and both tails.
  static void ExpectEverywhere(const Event& a) {
    const std::string rule = Get(a, "rule.id"), path = Get(a, "file.path");
    const std::string severity = Get(a, "permsentry.alert.severity");
    const auto json_has = [&](const std::string& file) {
      for (const std::string& l : Lines(file)) {
        std::optional<Event> e = FlattenJsonLine(l);
        if (e && Get(*e, "rule.id") == rule && Get(*e, "file.path") == path &&
            Get(*e, "@timestamp") == Get(a, "@timestamp"))
          return true;
      }
      return false;
    };
    EXPECT_TRUE(Eventually([&] { return json_has(*root_ + "/alerts.jsonl"); }))
        << "file sink: " << rule << " " << path;
    for (int i = 0; i < 2; ++i)
      EXPECT_TRUE(Eventually([&] { return json_has(TailFile(i)); }))
          << "tail " << i << ": " << rule << " " << path << "\n"
          << ReadFile(TailFile(i));
    EXPECT_TRUE(Eventually([&] {
      for (const std::string& l : Lines(*root_ + "/syslog.out")) {
        // PRI|HOSTNAME|APP-NAME|MSGID|SD|MSG
        std::vector<std::string> f = absl::StrSplit(l, absl::MaxSplits('|', 5));
        if (f.size() == 6 && f[2] == "permsentry" && f[3] == rule &&
            absl::StrContains(f[4], "path=\"" + path + "\"") &&
            absl::StrContains(f[4], "severity=\"" + severity + "\"") &&
            FlattenJsonLine(f[5]).has_value())
          return true;
      }
      return false;
    })) << "syslog: "
        << rule << " " << path << "\n"
        << ReadFile(*root_ + "/syslog.out");
    EXPECT_TRUE(Eventually([&] {
      for (const std::string& l : Lines(*root_ + "/webhook.log")) {
        std::optional<Event> req = FlattenJsonLine(l);
        if (!req || Get(*req, "path") != "/hook" ||
            Get(*req, "headers.Authorization") != "Bearer t0ken" ||
            Get(*req, "headers.Content-Type") != "application/json")
          continue;
        std::optional<Event> body = FlattenJsonLine(Get(*req, "body"));
        if (body && Get(*body, "rule.id") == rule && Get(*body, "file.path") == path) return true;
      }
      return false;
    })) << "webhook: "
        << rule << " " << path << "\n"
        << ReadFile(*root_ + "/webhook.log");
    const bool slack_wanted = severity == "high" || severity == "critical";
    const auto slack_has = [&] {
      for (const std::string& l : Lines(*root_ + "/slack.log")) {
        std::optional<Event> req = FlattenJsonLine(l);
        if (!req) continue;
        std::optional<Event> body = FlattenJsonLine(Get(*req, "body"));
        const std::string text = body ? Get(*body, "text") : "";
        if (absl::StrContains(text, "`" + rule + "`") && absl::StrContains(text, path)) return true;
      }
      return false;
    };
    if (slack_wanted) {
      EXPECT_TRUE(Eventually(slack_has)) << "slack: " << rule << " " << path;
    }
    EXPECT_TRUE(Eventually([&] {
      for (const std::string& l : Journal::Entries(rule)) {
        std::optional<Event> j = FlattenJsonLine(l);
        if (j && Get(*j, "PERMSENTRY_PATH") == path &&
            Get(*j, "SYSLOG_IDENTIFIER") == "permsentry" &&
            Get(*j, "PRIORITY") == (severity == "critical" ? "2"
                                    : severity == "high"   ? "3"
                                    : severity == "medium" ? "4"
                                                           : "5") &&
            Get(*j, "MESSAGE") == Get(a, "message") && FlattenJsonLine(Get(*j, "PERMSENTRY_EVENT")))
          return true;
      }
      return false;
    })) << "journald: "
        << rule << " " << path;
    // Checked last: by now the slack sink has had its chance to get it wrong.
    if (!slack_wanted) EXPECT_FALSE(slack_has()) << "below the slack sink's min_severity";
  }

  static std::string* root_;
  static SensorProcess* sensor_;
  static Daemon* rsyslog_;
  static Daemon* webhook_;
  static Daemon* slack_;
  static Daemon* tails_[2];
  static Journal* journal_;
  static int syslog_port_, webhook_port_, slack_port_;
};
std::string* Alerts::root_ = nullptr;
SensorProcess* Alerts::sensor_ = nullptr;
Daemon* Alerts::rsyslog_ = nullptr;
Daemon* Alerts::webhook_ = nullptr;
Daemon* Alerts::slack_ = nullptr;
Daemon* Alerts::tails_[2] = {nullptr, nullptr};
Journal* Alerts::journal_ = nullptr;
int Alerts::syslog_port_ = 0;
int Alerts::webhook_port_ = 0;
int Alerts::slack_port_ = 0;

// ------------------------------------------------------------------ each built-in rule

TEST_F(Alerts, SetuidBitAdded) {
  const std::string f = File("suid", 0755);
  ASSERT_EQ(chmod(f.c_str(), 04755), 0);
  const Event a = Alert("setid-bit-added", f);
  EXPECT_EQ(Get(a, "event.severity"), "73");
  EXPECT_EQ(Get(a, "permsentry.alert.severity"), "high");
  EXPECT_EQ(Get(a, "rule.name"), "setuid or setgid bit added");
  EXPECT_EQ(Get(a, "permsentry.urgent"), "true");  // decided in the kernel: no batch
  EXPECT_EQ(
      Get(a, "message"),
      absl::StrCat("setuid or setgid bit added: ", f, " 0755 → 04755 by integration_tes (pid ",
                   getpid(), ", uid 0): setuid bit added: runs as root (owner uid 0)"));
  ExpectEverywhere(a);
}

TEST_F(Alerts, WorldWritable) {
  const std::string f = File("ww", 0644);
  ASSERT_EQ(chmod(f.c_str(), 0646), 0);
  const Event a = Alert("world-writable", f);
  EXPECT_EQ(Get(a, "permsentry.alert.severity"), "medium");
  EXPECT_EQ(Get(a, "permsentry.urgent"), "true");
  ExpectEverywhere(a);
}

TEST_F(Alerts, OpenModeUnderEtc) {
  const std::string f = absl::StrCat("/etc/permsentry-it-", getpid());
  close(open(f.c_str(), O_CREAT | O_WRONLY, 0644));
  sensor_->StartWindow();
  ASSERT_EQ(chmod(f.c_str(), 0777), 0);
  const Event a = Alert("open-mode-system-path", f);
  unlink(f.c_str());
  EXPECT_EQ(Get(a, "permsentry.alert.severity"), "high");
  EXPECT_EQ(Get(a, "permsentry.alert.rules.0"), "open-mode-system-path");
  EXPECT_EQ(Get(a, "permsentry.alert.rules.1"), "world-writable");
  ExpectEverywhere(a);
}

TEST_F(Alerts, OwnerToRootOnAGroupWritableFile) {
  const std::string f = File("tool.sh", 0775, kNobody);
  ASSERT_EQ(chown(f.c_str(), 0, -1), 0);
  const Event a = Alert("owner-root-user-writable", f);
  EXPECT_EQ(Get(a, "permsentry.urgent"), "true");
  EXPECT_TRUE(absl::StrContains(Get(a, "message"), "owner nobody → root")) << Get(a, "message");
  ExpectEverywhere(a);
}

TEST_F(Alerts, AclGrantOnACredentialFile) {
  const std::string f = *root_ + "/cred/passwd";
  const std::string acl = AclValue({{0x01, 6, kAclNoId},
                                    {0x02, 4, kNobody},
                                    {0x04, 4, kAclNoId},
                                    {0x10, 4, kAclNoId},
                                    {0x20, 4, kAclNoId}});
  ASSERT_EQ(setxattr(f.c_str(), "system.posix_acl_access", acl.data(), acl.size(), 0), 0)
      << strerror(errno);
  const Event a = Alert("credfile-acl-grant", f);
  EXPECT_EQ(Get(a, "permsentry.watch.class"), "passwd");
  EXPECT_TRUE(HasDelta(a, "user nobody (65534): r-- via ACL"));
  ExpectEverywhere(a);
  removexattr(f.c_str(), "system.posix_acl_access");
}

TEST_F(Alerts, FileCapabilitiesSet) {
  const std::string f = File("capbin", 0755);
  const uint32_t caps[5] = {0x02000001, 1u << 13, 0, 0, 0};  // v2, effective, CAP_NET_RAW
  ASSERT_EQ(setxattr(f.c_str(), "security.capability", caps, sizeof(caps), 0), 0)
      << strerror(errno);
  const Event a = Alert("file-capabilities-set", f);
  EXPECT_EQ(Get(a, "permsentry.urgent"), "true");
  EXPECT_TRUE(absl::StrContains(Get(a, "message"), "gets CAP_NET_RAW")) << Get(a, "message");
  ExpectEverywhere(a);
}

TEST_F(Alerts, CredentialFileChanged) {
  const std::string f = *root_ + "/cred/passwd";
  { std::ofstream(f, std::ios::app) << "x:x:1:1::/:/bin/sh\n"; }
  const Event a = Alert("credfile-changed", f);
  EXPECT_EQ(Get(a, "event.action"), "credfile_write");
  EXPECT_EQ(Get(a, "permsentry.alert.severity"), "medium");
  ExpectEverywhere(a);
}

TEST_F(Alerts, AuthorizedKeysChanged) {
  const std::string f = *root_ + "/cred/authorized_keys";
  { std::ofstream(f, std::ios::app) << "ssh-ed25519 AAAA test\n"; }
  const Event a = Alert("authorized-keys-changed", f);
  EXPECT_EQ(Get(a, "permsentry.alert.severity"), "high");
  EXPECT_EQ(Get(a, "permsentry.alert.rules.1"), "credfile-changed");
  ExpectEverywhere(a);
}

TEST_F(Alerts, SudoersChanged) {
  const std::string f = *root_ + "/cred/sudoers.d/ai-agent";
  { std::ofstream(f) << "agent ALL=(ALL) NOPASSWD: ALL\n"; }
  const Event a = Alert("sudoers-changed", f);
  EXPECT_EQ(Get(a, "permsentry.watch.class"), "sudoers");
  ExpectEverywhere(a);
}

TEST_F(Alerts, ProcessGainedRoot) {
  const pid_t child = fork();
  if (child == 0) {
    // Become nobody with root kept as the saved uid, then take it back.
    if (syscall(SYS_setresuid, kNobody, kNobody, 0) != 0) _exit(1);
    _exit(syscall(SYS_setresuid, 0, 0, 0) == 0 ? 0 : 2);
  }
  const int status = WaitChild(child);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  std::optional<Event> a = sensor_->WaitFor([&](const Event& e) {
    return Get(e, "rule.id") == "process-gained-root" &&
           Get(e, "process.pid") == std::to_string(child);
  });
  ASSERT_TRUE(a) << sensor_->Stderr();
  EXPECT_EQ(Get(*a, "event.kind"), "alert");
  EXPECT_TRUE(HasDelta(*a, "uid 65534 -> 0 (root)"));
  EXPECT_EQ(Get(*a, "permsentry.urgent"), "true");
}

// ------------------------------------------------------------------ behaviour

TEST_F(Alerts, AnAgentSessionEscalatesAndTheTailShowsItInColour) {
  const std::string f = File("demo", 0755);
  Daemon text;
  const std::string out = *root_ + "/tail-text.out";
  text.Start({PermsentryBinary(), "tail", "--text", "--color", "always", "--alerts-only",
              "--socket", Socket()},
             out);
  ASSERT_TRUE(Eventually([] { return StatusField("\"clients\":3"); }, absl::Seconds(10)));
  const CommandResult r =
      RunPermsentry({"exec", "--agent", "claude", "--", "/bin/chmod", "u+s", f});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Event a = Alert("setid-bit-added", f);
  EXPECT_EQ(Get(a, "permsentry.alert.severity"), "critical");
  EXPECT_EQ(Get(a, "permsentry.alert.base_severity"), "high");
  EXPECT_EQ(Get(a, "permsentry.alert.escalated"), "true");
  EXPECT_EQ(Get(a, "permsentry.ai.attribution"), "agent");
  EXPECT_EQ(Get(a, "permsentry.ai.agent"), "claude");
  std::string line;
  ASSERT_TRUE(Eventually([&] {
    line = ReadFile(out);
    return absl::StrContains(line, f);
  })) << line;
  text.Stop();
  // Severity in colour, the rule, the agent, the file, before → after, and
  // what it means.
  EXPECT_TRUE(absl::StrContains(line, "\033[1;97;41mCRITICAL\033[0m")) << line;
  EXPECT_TRUE(absl::StrContains(line, "setid-bit-added")) << line;
  EXPECT_TRUE(absl::StrContains(line, "[AI agent claude, session ")) << line;
  EXPECT_TRUE(absl::StrContains(line, f + " 0755 → 04755")) << line;
  EXPECT_TRUE(absl::StrContains(line, "runs as root")) << line;
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
  ExpectEverywhere(a);
}

TEST_F(Alerts, RepeatsAreCoalescedWithACount) {
  const std::string f = File("flapping", 0755);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(chmod(f.c_str(), 04755), 0);
    ASSERT_EQ(chmod(f.c_str(), 0755), 0);
  }
  const auto is = [&](const Event& e) {
    return Get(e, "rule.id") == "setid-bit-added" && Get(e, "file.path") == f;
  };
  // The summary goes out when the 2 s window closes.
  std::optional<Event> summary = sensor_->WaitFor(
      [&](const Event& e) { return is(e) && Get(e, "permsentry.alert.repeats") != "<missing>"; },
      absl::Seconds(10));
  ASSERT_TRUE(summary) << sensor_->Stderr();
  EXPECT_EQ(Get(*summary, "event.kind"), "alert");
  EXPECT_EQ(Get(*summary, "permsentry.alert.repeats"), "19");
  EXPECT_TRUE(absl::StrContains(Get(*summary, "message"), "(and 19 more times since "))
      << Get(*summary, "message");
  const std::vector<Event> all = sensor_->All(is);
  size_t alerts = 0, coalesced = 0;
  for (const Event& e : all) {
    if (Get(e, "event.kind") == "alert") ++alerts;
    if (Get(e, "permsentry.alert.coalesced") == "true") {
      ++coalesced;
      EXPECT_EQ(Get(e, "event.kind"), "event");  // still in the stream, not an alert
    }
  }
  EXPECT_EQ(alerts, 2u);      // the first, and the summary
  EXPECT_EQ(coalesced, 19u);  // every repeat is there
  // A sink gets the two alerts, not twenty.
  ASSERT_TRUE(Eventually([&] {
    size_t n = 0;
    for (const std::string& l : Lines(*root_ + "/alerts.jsonl")) n += absl::StrContains(l, f);
    return n == 2;
  }));
}

// Coalescing keys on the change, not only on rule, process and path: a setuid
// bit after a setgid bit on the same file, by the same process within the
// window, is an alert of its own, not a repeat of the first.
TEST_F(Alerts, ADifferentChangeIsNeverFoldedIntoAnEarlierAlert) {
  const std::string f = File("two-changes", 0755);
  ASSERT_EQ(chmod(f.c_str(), 02755), 0);
  const Event first = Alert("setid-bit-added", f);
  EXPECT_EQ(Get(first, "file.mode"), "02755");
  ASSERT_EQ(chmod(f.c_str(), 0755), 0);
  ASSERT_EQ(chmod(f.c_str(), 04755), 0);
  std::optional<Event> second = sensor_->WaitFor(
      [&](const Event& e) {
        return Get(e, "rule.id") == "setid-bit-added" && Get(e, "file.path") == f &&
               Get(e, "file.mode") == "04755";
      },
      absl::Seconds(10));
  ASSERT_TRUE(second) << sensor_->Stderr();
  EXPECT_EQ(Get(*second, "event.kind"), "alert");
  EXPECT_EQ(Get(*second, "permsentry.alert.coalesced"), "<missing>");
}

TEST_F(Alerts, ExcludedToolsMakeEventsNotAlerts) {
  const std::string f = File("pkg-managed", 0755);
  // Two commands: dash execs a lone one in place of itself.
  ASSERT_EQ(RunPermsentry({"exec", "--agent", "claude", "--", *root_ + "/bin/pkgtool", "-c",
                           "/bin/chmod 4755 " + f + "; true"})
                .exit_code,
            0);
  std::optional<Event> e = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "file.path") == f && Get(ev, "file.mode") == "04755";
  });
  ASSERT_TRUE(e);
  EXPECT_EQ(Get(*e, "event.kind"), "event");
  EXPECT_EQ(Get(*e, "rule.id"), "<missing>");
  EXPECT_EQ(Get(*e, "permsentry.ai.attribution"), "agent");  // still attributed
}

TEST_F(Alerts, ReloadAppliesNewRulesAndKeepsSinks) {
  WriteConfig(
      absl::StrCat("  custom:\n    - id: scratch-chmod\n      name: chmod in the "
                   "scratch tree\n      severity: low\n      match: {action: chmod, "
                   "path: \"",
                   *root_, "/reload-*\"}\n"));
  sensor_->Signal(SIGHUP);
  ASSERT_TRUE(Eventually([] {
    return absl::StrContains(sensor_->Stderr(), ": 18 rules, 5 sinks");
  })) << sensor_->Stderr();
  const std::string f = File("reload-a", 0644);
  ASSERT_EQ(chmod(f.c_str(), 0600), 0);
  const Event a = Alert("scratch-chmod", f);
  EXPECT_EQ(Get(a, "permsentry.alert.severity"), "low");
  ExpectEverywhere(a);
  // The sinks were kept, connections and counts included.
  EXPECT_TRUE(Eventually(
      [] { return SinkStat(absl::StrCat("syslog 127.0.0.1:", syslog_port_), "delivered") > 1; }));
  WriteConfig("");
  sensor_->Signal(SIGHUP);
  ASSERT_TRUE(
      Eventually([] { return absl::StrContains(sensor_->Stderr(), ": 17 rules, 5 sinks"); }));
}

// ------------------------------------------------------------------ the tail socket

TEST_F(Alerts, TailRefusesNonMembersAndReplaysForMembers) {
  const std::string f = File("replayed", 0755);
  ASSERT_EQ(chmod(f.c_str(), 02755), 0);
  Alert("setid-bit-added", f);
  // The socket is root:nogroup 0660.
  struct stat st;
  ASSERT_EQ(stat(Socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_gid, kNogroup);
  // Not in the group: the file system says no, and the client says why.
  CommandResult r = RunPermsentry({"tail", "--socket", Socket()}, kNobody, kStranger);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, absl::StrCat("permsentry tail: permission denied on ", Socket(),
                                ": only root and members of group nogroup may tail the sensor\n"));
  // Past the file system (mode 0666), the sensor checks the peer itself.
  ASSERT_EQ(chmod(Socket().c_str(), 0666), 0);
  r = RunPermsentry({"tail", "--socket", Socket()}, kNobody, kStranger);
  ASSERT_EQ(chmod(Socket().c_str(), 0660), 0);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "the sensor refused")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err,
                                "uid 65534 may not tail this sensor: only root and "
                                "members of group nogroup"))
      << r.err;
  // A member: what happened in the last minute, then done.
  r = RunPermsentry({"tail", "--json", "--alerts-only", "--since", "1m", "--no-follow", "--path",
                     *root_ + "/**", "--socket", Socket()},
                    kNobody, kNogroup);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  bool seen = false;
  for (absl::string_view l : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
    std::optional<Event> e = FlattenJsonLine(std::string(l));
    ASSERT_TRUE(e) << l;
    EXPECT_EQ(Get(*e, "event.kind"), "alert");
    EXPECT_TRUE(absl::StartsWith(Get(*e, "file.path"), *root_)) << l;
    seen = seen || Get(*e, "file.path") == f;
  }
  EXPECT_TRUE(seen) << r.out;
  // Filters: an action that did not happen here replays nothing.
  r = RunPermsentry({"tail", "--json", "--since", "1m", "--no-follow", "--action", "capset",
                     "--path", *root_ + "/**", "--socket", Socket()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(RunPermsentry({"tail", "--min-severity", "urgent"}).exit_code, 2);
  EXPECT_EQ(RunPermsentry({"tail", "--since", "yesterday"}).exit_code, 2);
  EXPECT_EQ(RunPermsentry({"tail", "--socket", *root_ + "/none.sock"}).err,
            absl::StrCat("permsentry tail: no sensor is serving ", *root_,
                         "/none.sock (is `permsentry run` running? is tail.socket set elsewhere "
                         "in its config?)\n"));
}

TEST_F(Alerts, ASlowTailIsCutLooseAndCaptureLosesNothing) {
  // A client that asks for everything and never reads.
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, Socket().c_str());
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  const std::string req = "{\"version\":1}\n";
  ASSERT_EQ(write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  const std::string f = File("storm", 0644);
  constexpr int kCalls = 3000;
  for (int i = 0; i < kCalls; ++i) ASSERT_EQ(chmod(f.c_str(), i % 2 ? 0600 : 0640), 0);
  ASSERT_TRUE(Eventually([] { return StatusField("\"cut_loose\":1"); }))
      << ReadFile(*root_ + "/status.json");
  // Every call is in the sensor's stream all the same.
  ASSERT_TRUE(Eventually([&] {
    return sensor_->Count([&](const Event& e) {
      return Get(e, "file.path") == f && Get(e, "process.pid") == std::to_string(getpid()) &&
             Get(e, "event.action") == "chmod" &&
             (Get(e, "file.mode") == "0600" || Get(e, "file.mode") == "0640");
    }) == kCalls;
  }));
  // The client reads what it was sent: stream lines, then why it was cut.
  std::string got;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) got.append(buf, static_cast<size_t>(n));
  close(fd);
  std::vector<std::string> lines = absl::StrSplit(got, '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 2u);
  EXPECT_TRUE(absl::StartsWith(lines.front(), "{\"permsentry_tail\":{\"hello\":")) << lines.front();
  EXPECT_TRUE(absl::StartsWith(lines.back(), "{\"permsentry_tail\":{\"cut_loose\":"))
      << lines.back();
  // The other tails are still attached.
  EXPECT_TRUE(Eventually([] { return StatusField("\"clients\":2"); }))
      << ReadFile(*root_ + "/status.json");
}

// ------------------------------------------------------------------ sinks down (last)

TEST_F(Alerts, CollectorDownLosesNoCaptureAndReportsDrops) {
  rsyslog_->Stop(SIGKILL);
  constexpr int kAlerts = 10;
  std::vector<std::string> files;
  for (int i = 0; i < kAlerts; ++i) files.push_back(File(absl::StrCat("down", i), 0755));
  for (const std::string& f : files) ASSERT_EQ(chmod(f.c_str(), 04755), 0);
  for (const std::string& f : files) Alert("setid-bit-added", f);  // all captured, all alerts
  // The syslog sink holds 4 (one in delivery) and drops the rest: counted,
  // said on stderr, and raised as an alert through everything else.
  std::optional<Event> drop = sensor_->WaitFor(
      [&](const Event& e) {
        return Get(e, "rule.id") == "sensor-sink-dropped" &&
               Get(e, "permsentry.sink.name") == absl::StrCat("syslog 127.0.0.1:", syslog_port_);
      },
      absl::Seconds(10));
  ASSERT_TRUE(drop) << sensor_->Stderr();
  EXPECT_EQ(Get(*drop, "event.kind"), "alert");
  EXPECT_EQ(Get(*drop, "event.action"), "sink_dropped");
  EXPECT_NE(Get(*drop, "permsentry.sink.dropped_total"), "0");
  EXPECT_TRUE(absl::StrContains(sensor_->Stderr(),
                                absl::StrCat("ALERT: sink syslog 127.0.0.1:", syslog_port_)))
      << sensor_->Stderr();
  // Ten alerts, a queue of four: at least six dropped (the drop report itself,
  // sent to every sink, may be one more).
  const std::string name = absl::StrCat("syslog 127.0.0.1:", syslog_port_);
  EXPECT_TRUE(Eventually([&] { return SinkStat(name, "dropped") >= 6; }))
      << ReadFile(*root_ + "/status.json");
  // The first send after the kill can fail otherwise (a reset or broken
  // connection); the reconnects that follow are refused.
  EXPECT_TRUE(Eventually([] { return StatusField("Connection refused"); }))
      << ReadFile(*root_ + "/status.json");
  // The collector is back: what the queue held is delivered.
  std::filesystem::remove(*root_ + "/syslog.out");
  StartRsyslog();
  EXPECT_TRUE(
      Eventually([] { return Lines(*root_ + "/syslog.out").size() >= 4; }, absl::Seconds(30)))
      << ReadFile(*root_ + "/syslog.out");
}

TEST_F(Alerts, WebhookDownLosesNoCaptureAndReportsFailures) {
  webhook_->Stop(SIGKILL);
  const std::string f = File("hook-down", 0755);
  ASSERT_EQ(chmod(f.c_str(), 04755), 0);
  Alert("setid-bit-added", f);
  // Two attempts, refused both times: given up, counted, reported.
  std::optional<Event> drop = sensor_->WaitFor(
      [&](const Event& e) {
        return Get(e, "rule.id") == "sensor-sink-dropped" &&
               absl::StartsWith(Get(e, "permsentry.sink.name"), "webhook http://127.0.0.1:") &&
               absl::StrContains(Get(e, "permsentry.sink.name"), "/hook");
      },
      absl::Seconds(15));
  ASSERT_TRUE(drop) << sensor_->Stderr();
  EXPECT_NE(Get(*drop, "permsentry.sink.failed_total"), "0");
  EXPECT_TRUE(absl::StrContains(Get(*drop, "permsentry.sink.last_error"), "Couldn't connect"))
      << Get(*drop, "permsentry.sink.last_error");
}

}  // namespace
}  // namespace permsentry::testing
