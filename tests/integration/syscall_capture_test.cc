// Integration: the real sensor, real syscalls, exact events. Needs root.
//
// One sensor runs for the whole suite; each test makes its calls on fresh paths
// and waits for the events carrying its own pid (or its child's).
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <functional>
#include <string>
#include <tuple>

#include "../common/acl_value.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/names.h"
#include "gtest/gtest.h"
#include "sensor_harness.h"

namespace permsentry::testing {
namespace {

constexpr uint32_t kNobody = 65534;

class Capture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(geteuid(), 0u) << "integration tests load BPF programs: run them as root";
    sensor_ = new SensorProcess();
    ASSERT_TRUE(sensor_->ready());
    // Name the backend under test in the log: "(rich backend, fentry)",
    // "(tracepoint backend, tp_btf)".
    if (const char* b = std::getenv("PERMSENTRY_TEST_BACKEND")) {
      const std::string want = RichBackend()                ? "(rich backend, fentry)"
                               : std::string(b) == "raw_tp" ? "(tracepoint backend, raw_tp)"
                               : std::string(b) == "tp_btf" ? "(tracepoint backend, tp_btf)"
                                                            : "(tracepoint backend, ";
      EXPECT_NE(sensor_->Stderr().find(want), std::string::npos) << sensor_->Stderr();
    }
  }
  static void TearDownTestSuite() {
    if (sensor_ != nullptr) {
      EXPECT_EQ(sensor_->Stop(), 0);
      EXPECT_EQ(sensor_->bad_lines(), 0u);
      delete sensor_;
      sensor_ = nullptr;
    }
  }

  void SetUp() override {
    char tmpl[] = "/var/tmp/permsentry-it-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    sensor_->StartWindow();
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)!system(cmd.c_str());
  }

  std::string MakeFile(const std::string& name, mode_t mode = 0644) {
    const std::string p = dir_ + "/" + name;
    const int fd = open(p.c_str(), O_CREAT | O_WRONLY | O_TRUNC, mode);
    EXPECT_GE(fd, 0) << p;
    close(fd);
    chmod(p.c_str(), mode);  // umask-proof
    // Let that chmod's event arrive, then leave it out of the test's window: it
    // has the same syscall and path as the calls tests make next, and events
    // from the two rings can arrive in either order.
    EXPECT_TRUE(sensor_->WaitFor([&](const Event& e) {
      const std::string path = Get(e, "file.path");
      return Get(e, "process.pid") == std::to_string(getpid()) &&
             (path == p || (Get(e, "file.path_escaped") == "true" && UnescapeBytes(path) == p));
    }));
    sensor_->StartWindow();
    return p;
  }

  // The event for `syscall` by this process on `path`; fails the test if absent.
  Event Expect(const std::string& syscall, const std::string& path = "", pid_t pid = 0) {
    std::optional<Event> e = sensor_->WaitForSyscall(pid ? pid : getpid(), syscall, path);
    if (!e) {
      ADD_FAILURE() << "no " << syscall << " event for " << path << "\nsensor stderr:\n"
                    << sensor_->Stderr();
      return {};
    }
    return *e;
  }

  // The event of an fd-based `syscall` on `fd` by this process: by the fd
  // (tracepoint backend) or the file it names, `path` (rich backend: the
  // kernel's object, no arguments).
  static std::optional<Event> WaitForFd(const std::string& syscall, int fd,
                                        const std::string& path) {
    return sensor_->WaitFor([&](const Event& ev) {
      return Get(ev, "process.pid") == std::to_string(getpid()) &&
             Get(ev, "permsentry.syscall") == syscall &&
             (RichBackend() ? Get(ev, "file.path") == path
                            : Get(ev, "permsentry.fd") == std::to_string(fd));
    });
  }

  // Proof that what happened since the window started (this thread's calls,
  // or a child's that has exited) made no event matching `match`: a barrier
  // chmod (not an alert candidate, so it travels the same ring, after them)
  // must arrive first.
  void ExpectNone(const std::function<bool(const Event&)>& match, const std::string& what) {
    const std::string barrier = dir_ + "/barrier";
    close(open(barrier.c_str(), O_CREAT | O_WRONLY, 0600));
    const std::vector<Event> seen = sensor_->SeenBefore(
        match, [&] { ASSERT_EQ(chmod(barrier.c_str(), 0640), 0); },
        [&](const Event& e) {
          return Get(e, "process.pid") == std::to_string(getpid()) &&
                 Get(e, "file.path") == barrier && Get(e, "file.mode") == "0640";
        });
    EXPECT_TRUE(seen.empty()) << what << ": " << (seen.empty() ? "" : SummaryOf(seen[0]));
  }
  // No event of `syscall` on `path` (argument or object) from this thread.
  void ExpectNoEvent(const std::string& syscall, const std::string& path) {
    ExpectNone(
        [&](const Event& e) {
          return Get(e, "process.pid") == std::to_string(getpid()) &&
                 Get(e, "permsentry.syscall") == syscall &&
                 (Get(e, "permsentry.path_arg") == path || Get(e, "file.path") == path);
        },
        "a " + syscall + " that reached no object is no operation");
  }

  // Runs fn in a forked child (so credential changes stay there); returns its pid.
  static pid_t InChild(const std::function<void()>& fn) {
    const pid_t pid = fork();
    if (pid == 0) {
      fn();
      _exit(0);
    }
    WaitChild(pid);
    return pid;
  }

  // Runs `steps` in a child, in a mount namespace of its own made private (so
  // nothing it mounts reaches the host). Returns the child's pid; `step` is 0
  // when every step worked, 1 when this machine refuses the namespace, 2 when
  // making it private failed, else the failed step `steps` returned (from 3).
  static pid_t InOwnMountNamespace(const std::function<int()>& steps, int& step) {
    int p[2];
    step = -1;
    if (pipe(p) != 0) return -1;
    const pid_t child = InChild([&] {
      const int s = unshare(CLONE_NEWNS) != 0                                         ? 1
                    : mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ? 2
                                                                                      : steps();
      (void)!write(p[1], &s, sizeof(s));
    });
    close(p[1]);
    if (read(p[0], &step, sizeof(step)) != static_cast<ssize_t>(sizeof(step))) step = -1;
    close(p[0]);
    return child;
  }

  static SensorProcess* sensor_;
  std::string dir_;
};

SensorProcess* Capture::sensor_ = nullptr;

// Is the running kernel at least major.minor?
bool KernelAtLeast(int major, int minor) {
  utsname u{};
  if (uname(&u) != 0) return false;
  int ma = 0, mi = 0;
  if (std::sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

// Fields every event carries.
void ExpectProcess(const Event& e, pid_t pid) {
  EXPECT_EQ(e.at("process.pid"), std::to_string(pid));
  EXPECT_EQ(e.at("event.module"), "permsentry");
  // A rule's match is an alert; every other event is an event.
  EXPECT_EQ(e.at("event.kind"), e.count("rule.id") ? "alert" : "event");
  EXPECT_EQ(e.at("user.id"), "0");
  EXPECT_EQ(e.at("user.name"), "root");
  EXPECT_TRUE(e.count("@timestamp"));
  EXPECT_TRUE(e.count("host.hostname"));
  EXPECT_TRUE(e.count("message"));
}

void ExpectSuccess(const Event& e) {
  EXPECT_EQ(e.at("event.outcome"), "success");
  // The raw return value is the tracepoint backend's (the call's trailer).
  if (!RichBackend()) EXPECT_EQ(e.at("permsentry.return_value"), "0");
  EXPECT_EQ(e.count("permsentry.errno"), 0u);
}

// How each backend came by the path: the argument as given (tracepoint, an
// absolute path without symlinks or ".."), the kernel's dcache lookup or the
// fd (tracepoint), or the struct path the kernel acted on (rich).
std::string Resolution(const char* tracepoint) {
  return RichBackend() ? "kernel_path" : tracepoint;
}
std::string StateSource(const char* tracepoint) {
  return RichBackend() ? "kernel_inode" : tracepoint;
}

void ExpectFailure(const Event& e, const char* err) {
  EXPECT_EQ(e.at("event.outcome"), "failure");
  EXPECT_EQ(e.at("permsentry.errno"), err);
}

// ------------------------------------------------------------------ chmod family

TEST_F(Capture, ChmodSuccessAndFailure) {
  const std::string f = MakeFile("somefile");
  ASSERT_EQ(syscall(SYS_chmod, f.c_str(), 04755), 0);
  Event e = Expect("chmod", f);
  ExpectProcess(e, getpid());
  ExpectSuccess(e);
  EXPECT_EQ(e["event.action"], "chmod");
  EXPECT_EQ(e["event.category.0"], "file");
  EXPECT_EQ(e["file.path"], f);
  EXPECT_EQ(e["permsentry.path_resolution"], Resolution("argument"));  // no symlink on the way
  EXPECT_EQ(e["file.mode"], "04755");
  // Its state before: the kernel's dcache lookup at sys_enter found the file
  // (tracepoint), or the entry hook read it (rich).
  EXPECT_EQ(e["permsentry.file.mode_before"], "0644");
  EXPECT_EQ(e["permsentry.file.state_source"], StateSource("kernel_lookup"));
  EXPECT_EQ(e["permsentry.operation"], "mode");
  EXPECT_EQ(e["permsentry.hook"], RichBackend() ? "fentry" : "syscall_tracepoint");
  EXPECT_EQ(Get(e, "permsentry.file.before_unknown"), "<missing>");
  EXPECT_TRUE(HasDelta(e, "owner root (0): +x"));  // 0644 -> 0755
  EXPECT_TRUE(HasDelta(e, "setuid bit added: runs as root (owner uid 0)"));
  EXPECT_NE(SummaryOf(e).find("0644 -> 04755"), std::string::npos) << SummaryOf(e);
  // The built-in rules make it an alert, whose message says it in a line.
  EXPECT_EQ(e["rule.id"], "setid-bit-added");
  EXPECT_EQ(e["permsentry.alert.severity"], "high");
  EXPECT_EQ(e["message"], absl::StrCat("setuid or setgid bit added: ", f, " 0644 → 04755 by ",
                                       SummaryOf(e).substr(SummaryOf(e).find(" by ") + 4)))
      << e["message"];
  EXPECT_EQ(e["process.thread.id"], std::to_string(gettid()));
  char comm[32] = {};
  prctl(PR_GET_NAME, comm);
  EXPECT_EQ(e["process.name"], comm);
  EXPECT_EQ(e["process.parent.pid"], std::to_string(getppid()));
  EXPECT_EQ(e["permsentry.urgent"], "true");  // setuid bit: sent on the wakeup ring

  const std::string missing = dir_ + "/missing";
  ASSERT_EQ(syscall(SYS_chmod, missing.c_str(), 0644), -1);
  if (RichBackend()) {
    // The lookup failed before any object was reached: no operation happened.
    ExpectNoEvent("chmod", missing);
    return;
  }
  Event m = Expect("chmod", missing);
  ExpectFailure(m, "ENOENT");
  EXPECT_EQ(m["permsentry.return_value"], "-2");
  EXPECT_EQ(Get(m, "file.mode"), "<missing>");  // nothing changed
  EXPECT_EQ(m["permsentry.file.mode_requested"], "0644");
  EXPECT_EQ(m["permsentry.file.before_unknown"], "true");
  const std::string reason = m["permsentry.file.before_unknown_reason"];
  EXPECT_TRUE(reason == "absent" || reason == "not_cached") << reason;
  EXPECT_EQ(Get(m, "permsentry.urgent"), "<missing>");
}

TEST_F(Capture, FchmodByFd) {
  const std::string f = MakeFile("byfd");
  const int fd = open(f.c_str(), O_RDONLY);
  ASSERT_EQ(syscall(SYS_fchmod, fd, 0600), 0);
  std::optional<Event> e = WaitForFd("fchmod", fd, f);
  ASSERT_TRUE(e);
  ExpectSuccess(*e);
  EXPECT_EQ((*e)["file.mode"], "0600");
  EXPECT_EQ((*e)["event.action"], "chmod");
  close(fd);

  sensor_->StartWindow();
  ASSERT_EQ(syscall(SYS_fchmod, 9999, 0600), -1);
  if (RichBackend()) {
    ExpectNone(
        [](const Event& ev) {
          return Get(ev, "process.pid") == std::to_string(getpid()) &&
                 Get(ev, "permsentry.syscall") == "fchmod";
        },
        "a bad fd names no object");
    return;
  }
  e = WaitForFd("fchmod", 9999, "");
  ASSERT_TRUE(e);
  ExpectFailure(*e, "EBADF");
}

TEST_F(Capture, FchmodatWithDirfd) {
  MakeFile("rel");
  const int dfd = open(dir_.c_str(), O_DIRECTORY | O_RDONLY);
  ASSERT_EQ(syscall(SYS_fchmodat, dfd, "rel", 0640), 0);
  Event e = Expect("fchmodat", dir_ + "/rel");
  ExpectSuccess(e);
  EXPECT_EQ(e["file.mode"], "0640");
  EXPECT_EQ(e["file.path"], dir_ + "/rel");  // looked up from the dirfd in the kernel
  EXPECT_EQ(e["permsentry.path_resolution"], Resolution("kernel_lookup"));
  EXPECT_EQ(e["permsentry.file.mode_before"], "0644");
  if (RichBackend()) {
    // No arguments on the rich backend: the kernel's object, not the call.
    EXPECT_EQ(Get(e, "permsentry.dirfd"), "<missing>");
    EXPECT_EQ(Get(e, "permsentry.path_arg"), "<missing>");
    close(dfd);
    return;
  }
  EXPECT_EQ(e["permsentry.dirfd"], std::to_string(dfd));
  EXPECT_EQ(e["permsentry.path_arg"], "rel");

  ASSERT_EQ(syscall(SYS_fchmodat, AT_FDCWD, "no-such-rel", 0640), -1);
  Event m = Expect("fchmodat", "no-such-rel");
  ExpectFailure(m, "ENOENT");
  EXPECT_EQ(m["permsentry.dirfd"], "AT_FDCWD");
  close(dfd);
}

TEST_F(Capture, Fchmodat2Flags) {
  const std::string f = MakeFile("two");
  // AT_SYMLINK_NOFOLLOW on a regular file is allowed (6.6+).
  const long r = syscall(452, AT_FDCWD, f.c_str(), 0604, AT_SYMLINK_NOFOLLOW);
  if (r == -1 && errno == ENOSYS) {
    // An older kernel: the tracepoint backend still sees the attempt; the
    // rich one sees no object reached, so nothing.
    if (RichBackend()) {
      ExpectNoEvent("fchmodat2", f);
    } else {
      ExpectFailure(Expect("fchmodat2", f), "ENOSYS");
    }
    return;
  }
  Event e = Expect("fchmodat2", f);
  ASSERT_EQ(r, 0) << strerror(errno);
  ExpectSuccess(e);
  EXPECT_EQ(e["file.mode"], "0604");
  if (!RichBackend()) EXPECT_EQ(e["permsentry.at_flags.0"], "AT_SYMLINK_NOFOLLOW");

  const std::string g = MakeFile("two-bad");
  ASSERT_EQ(syscall(452, AT_FDCWD, g.c_str(), 0604, 0x1), -1);  // unknown flag
  if (RichBackend()) {
    ExpectNoEvent("fchmodat2", g);  // refused before any object was looked up
    return;
  }
  ExpectFailure(Expect("fchmodat2", g), "EINVAL");
}

// ------------------------------------------------------------------ chown family

TEST_F(Capture, ChownFamily) {
  const std::string f = MakeFile("own");
  ASSERT_EQ(syscall(SYS_chown, f.c_str(), kNobody, kNobody), 0);
  Event e = Expect("chown", f);
  ExpectSuccess(e);
  EXPECT_EQ(e["event.action"], "chown");
  EXPECT_EQ(e["file.uid"], "65534");
  EXPECT_EQ(e["file.gid"], "65534");
  EXPECT_EQ(e["file.owner"], "nobody");

  ASSERT_EQ(syscall(SYS_chown, (dir_ + "/nope").c_str(), 0, 0), -1);
  if (RichBackend()) {
    ExpectNoEvent("chown", dir_ + "/nope");
  } else {
    ExpectFailure(Expect("chown", dir_ + "/nope"), "ENOENT");
  }

  const std::string link = dir_ + "/lnk";
  ASSERT_EQ(symlink(f.c_str(), link.c_str()), 0);
  ASSERT_EQ(syscall(SYS_lchown, link.c_str(), 0, -1), 0);
  Event l = Expect("lchown", link);
  ExpectSuccess(l);
  EXPECT_EQ(l["file.uid"], "0");
  EXPECT_EQ(l["file.gid"], l["permsentry.file.gid_before"]);  // -1: unchanged
  EXPECT_EQ(l["file.type"], "symlink");                       // the link itself, not its target
  EXPECT_EQ(l["permsentry.nofollow"], "true");

  ASSERT_EQ(syscall(SYS_lchown, (dir_ + "/nolink").c_str(), 0, 0), -1);
  if (RichBackend()) {
    ExpectNoEvent("lchown", dir_ + "/nolink");
  } else {
    ExpectFailure(Expect("lchown", dir_ + "/nolink"), "ENOENT");
  }

  const int fd = open(f.c_str(), O_RDONLY);
  ASSERT_EQ(syscall(SYS_fchown, fd, 0, 0), 0);
  std::optional<Event> fe = WaitForFd("fchown", fd, f);
  ASSERT_TRUE(fe);
  ExpectSuccess(*fe);
  EXPECT_EQ((*fe)["file.uid"], "0");
  close(fd);
  sensor_->StartWindow();
  ASSERT_EQ(syscall(SYS_fchown, 9998, 0, 0), -1);
  if (RichBackend()) {
    ExpectNone(
        [](const Event& ev) {
          return Get(ev, "process.pid") == std::to_string(getpid()) &&
                 Get(ev, "permsentry.syscall") == "fchown";
        },
        "a bad fd names no object");
  } else {
    fe = WaitForFd("fchown", 9998, "");
    ASSERT_TRUE(fe);
    ExpectFailure(*fe, "EBADF");
  }

  ASSERT_EQ(syscall(SYS_fchownat, AT_FDCWD, link.c_str(), kNobody, 0, AT_SYMLINK_NOFOLLOW), 0);
  Event at = Expect("fchownat", link);
  ExpectSuccess(at);
  if (!RichBackend()) EXPECT_EQ(at["permsentry.at_flags.0"], "AT_SYMLINK_NOFOLLOW");
  EXPECT_EQ(at["file.uid"], "65534");
  EXPECT_EQ(at["file.gid"], "0");
  ASSERT_EQ(syscall(SYS_fchownat, AT_FDCWD, f.c_str(), 0, 0, 0x4000000), -1);
  if (RichBackend()) {
    ExpectNoEvent("fchownat", f);
  } else {
    ExpectFailure(Expect("fchownat", f), "EINVAL");
  }
}

// ------------------------------------------------------------------ credentials

TEST_F(Capture, SetuidFamilyInChild) {
  struct Case {
    const char* name;
    std::function<long()> call;
    const char* uid_after;  // after: euid (or egid for gid calls)
    const char* key;
  };
  const Case cases[] = {
      {"setuid", [] { return syscall(SYS_setuid, 1234); }, "1234", "euid"},
      {"setgid", [] { return syscall(SYS_setgid, 1234); }, "1234", "egid"},
      {"setreuid", [] { return syscall(SYS_setreuid, 1234, 1235); }, "1235", "euid"},
      {"setregid", [] { return syscall(SYS_setregid, 1234, 1235); }, "1235", "egid"},
      {"setresuid", [] { return syscall(SYS_setresuid, -1, 1236, -1); }, "1236", "euid"},
      {"setresgid", [] { return syscall(SYS_setresgid, -1, 1236, -1); }, "1236", "egid"},
      {"setfsuid", [] { return syscall(SYS_setfsuid, 1237) == 0 ? 0 : -1; }, "0", "euid"},
      {"setfsgid", [] { return syscall(SYS_setfsgid, 1237) == 0 ? 0 : -1; }, "0", "egid"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const pid_t child = InChild([&] { _exit(c.call() == 0 ? 0 : 1); });
    Event e = Expect(c.name, "", child);
    ExpectProcess(e, child);  // user.* is the caller as it was before the change
    EXPECT_EQ(e["event.category.0"], "process");
    EXPECT_EQ(e["event.outcome"], "success");
    EXPECT_EQ(e["permsentry.creds.before." + std::string(c.key)], "0");
    EXPECT_EQ(e["permsentry.creds.after." + std::string(c.key)], c.uid_after);
  }
  // setfsuid changes only fsuid.
  const pid_t fs = InChild([] { syscall(SYS_setfsuid, 1240); });
  Event e = Expect("setfsuid", "", fs);
  EXPECT_EQ(e["permsentry.creds.before.fsuid"], "0");
  EXPECT_EQ(e["permsentry.creds.after.fsuid"], "1240");
  if (!RichBackend()) EXPECT_EQ(e["permsentry.requested_ids.0"], "1240");
}

TEST_F(Capture, SetuidFailureAfterDroppingRoot) {
  const pid_t child = InChild([] {
    if (syscall(SYS_setresgid, kNobody, kNobody, kNobody) != 0) _exit(2);
    if (syscall(SYS_setresuid, kNobody, kNobody, kNobody) != 0) _exit(2);
    syscall(SYS_setuid, 0);           // EPERM
    syscall(SYS_setgid, 0);           // EPERM
    syscall(SYS_setresuid, 0, 0, 0);  // EPERM
  });
  if (RichBackend()) {
    // Refused before anything was committed: the rich backend sees the two
    // changes that happened (to nobody), not the attempts that changed nothing.
    std::optional<Event> drop = sensor_->WaitFor([&](const Event& ev) {
      return Get(ev, "process.pid") == std::to_string(child) &&
             Get(ev, "permsentry.syscall") == "setresuid";
    });
    ASSERT_TRUE(drop);
    EXPECT_EQ((*drop)["permsentry.creds.after.euid"], "65534");
    ExpectNone(
        [&](const Event& ev) {
          return Get(ev, "process.pid") == std::to_string(child) &&
                 Get(ev, "event.outcome") == "failure";
        },
        "refused credential changes");
    return;
  }
  Event e = Expect("setuid", "", child);
  ExpectFailure(e, "EPERM");
  EXPECT_EQ(e["permsentry.creds.before.euid"], "65534");
  EXPECT_EQ(e["permsentry.creds.after.euid"], "65534");
  EXPECT_EQ(e["permsentry.requested_ids.0"], "0");
  ExpectFailure(Expect("setgid", "", child), "EPERM");
  std::optional<Event> r = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "process.pid") == std::to_string(child) &&
           Get(ev, "permsentry.syscall") == "setresuid" && Get(ev, "event.outcome") == "failure";
  });
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["permsentry.errno"], "EPERM");
  EXPECT_EQ((*r)["permsentry.requested_ids.2"], "0");
}

TEST_F(Capture, RegainingRootIsUrgent) {
  const pid_t child = InChild([] {
    syscall(SYS_setresuid, 1000, 1000, 0);  // keep root only as saved uid
    syscall(SYS_setresuid, -1, 0, -1);      // and take it back
  });
  std::optional<Event> e = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "process.pid") == std::to_string(child) &&
           Get(ev, "permsentry.syscall") == "setresuid" &&
           Get(ev, "permsentry.creds.after.euid") == "0";
  });
  ASSERT_TRUE(e);
  ExpectSuccess(*e);
  EXPECT_EQ((*e)["permsentry.creds.before.euid"], "1000");
  if (!RichBackend()) EXPECT_EQ((*e)["permsentry.requested_ids.0"], "-1");
  EXPECT_EQ((*e)["permsentry.urgent"], "true");
}

TEST_F(Capture, CapsetAndSetgroups) {
  const pid_t child = InChild([] {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    syscall(SYS_capget, &hdr, data);
    data[0].effective &= ~(1u << CAP_CHOWN);  // drop CAP_CHOWN from the effective set
    syscall(SYS_capset, &hdr, data);
    const gid_t groups[] = {4321};
    syscall(SYS_setgroups, 1, groups);
  });
  Event c = Expect("capset", "", child);
  ExpectSuccess(c);
  EXPECT_EQ(c["event.action"], "capset");
  const uint64_t before = std::stoull(c["permsentry.creds.before.cap_effective"], nullptr, 16);
  const uint64_t after = std::stoull(c["permsentry.creds.after.cap_effective"], nullptr, 16);
  EXPECT_EQ(before & ~after, uint64_t{1} << CAP_CHOWN);
  Event g = Expect("setgroups", "", child);
  ExpectSuccess(g);

  const pid_t bad = InChild([] {
    __user_cap_header_struct hdr{0x12345678, 0};  // bad version
    __user_cap_data_struct data[2]{};
    syscall(SYS_capset, &hdr, data);
  });
  if (RichBackend()) {
    ExpectNone([&](const Event& ev) { return Get(ev, "process.pid") == std::to_string(bad); },
               "a refused capset changes nothing");
    return;
  }
  ExpectFailure(Expect("capset", "", bad), "EINVAL");
}

// A set-id binary run by a user it elevates: the exec commits new credentials
// (rich: security_bprm_committing_creds; tracepoint: execve's credentials
// compared at sys_exit), reported with the binary.
TEST_F(Capture, SetuidExecIsReportedWithTheBinary) {
  const std::string bin = dir_ + "/suid-id";
  ASSERT_EQ(system(("cp /usr/bin/id '" + bin + "'").c_str()), 0);
  ASSERT_EQ(chown(bin.c_str(), 0, 0), 0);
  ASSERT_EQ(chmod(bin.c_str(), 04755), 0);
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);  // nobody must reach it
  sensor_->StartWindow();
  const pid_t child = InChild([&] {
    if (syscall(SYS_setresgid, kNobody, kNobody, kNobody) != 0) _exit(2);
    if (syscall(SYS_setresuid, kNobody, kNobody, kNobody) != 0) _exit(2);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDOUT_FILENO);
    execl(bin.c_str(), bin.c_str(), nullptr);
    _exit(127);
  });
  std::optional<Event> e = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "process.pid") == std::to_string(child) &&
           Get(ev, "event.action") == "exec_setid";
  });
  ASSERT_TRUE(e) << sensor_->Stderr();
  EXPECT_EQ((*e)["permsentry.operation"], "exec_creds");
  EXPECT_EQ((*e)["file.path"], bin);
  EXPECT_EQ((*e)["file.mode"], "04755");
  if (RichBackend()) EXPECT_EQ((*e)["permsentry.executable"], bin);  // the name it was run by
  EXPECT_EQ((*e)["permsentry.syscall"], "execve");
  EXPECT_EQ((*e)["rule.id"], "process-gained-root");
  EXPECT_EQ((*e)["permsentry.creds.before.euid"], "65534");
  EXPECT_EQ((*e)["permsentry.creds.after.euid"], "0");
  EXPECT_EQ((*e)["permsentry.creds.after.uid"], "65534");
  EXPECT_EQ((*e)["user.id"], "65534");  // who ran it
  EXPECT_EQ((*e)["permsentry.urgent"], "true");
  EXPECT_TRUE(HasDelta(*e, "euid 65534 -> 0 (root)")) << SummaryOf(*e);
  // Its commit is that event, not a second credential change.
  ExpectNone(
      [&](const Event& ev) {
        return Get(ev, "process.pid") == std::to_string(child) &&
               Get(ev, "permsentry.syscall") == "execve" && Get(ev, "event.action") != "exec_setid";
      },
      "the exec's own commit_creds");
}

// Entering a new user namespace gives every capability inside it: both
// backends see it (rich: the commit; tracepoint: unshare's credentials compared
// at sys_exit), and say so rather than reporting the capabilities as gained.
TEST_F(Capture, NewUserNamespaceIsNotAHostGain) {
  // The child reports unshare's errno through a pipe: a refusal (user
  // namespaces disabled, a chrooted caller) is a skip with its reason, and a
  // success must be reported.
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  const pid_t child = InChild([&] {
    int err = 0;
    if (syscall(SYS_setresgid, kNobody, kNobody, kNobody) != 0 ||
        syscall(SYS_setresuid, kNobody, kNobody, kNobody) != 0) {
      err = -1;
    } else if (unshare(CLONE_NEWUSER) != 0) {
      err = errno;
    }
    (void)!write(p[1], &err, sizeof(err));
  });
  int err = -2;
  close(p[1]);
  ASSERT_EQ(read(p[0], &err, sizeof(err)), static_cast<ssize_t>(sizeof(err)));
  close(p[0]);
  ASSERT_NE(err, -1) << "could not become nobody";
  if (err != 0) GTEST_SKIP() << "unshare(CLONE_NEWUSER) refused here: " << strerror(err);
  std::optional<Event> e = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "process.pid") == std::to_string(child) &&
           Get(ev, "permsentry.syscall") == "unshare";
  });
  ASSERT_TRUE(e) << "no event for unshare(CLONE_NEWUSER) by pid " << child;
  EXPECT_EQ((*e)["event.action"], "unshare");
  EXPECT_EQ((*e)["permsentry.creds.new_user_namespace"], "true");
  EXPECT_NE((*e)["permsentry.creds.before.userns"], (*e)["permsentry.creds.after.userns"]);
  EXPECT_EQ(Get(*e, "permsentry.creds.capabilities_gained.0"), "<missing>");
  EXPECT_EQ(Get(*e, "permsentry.urgent"), "<missing>");
  EXPECT_EQ(Get(*e, "rule.id"), "<missing>");  // not "capabilities gained"
}

TEST_F(Capture, CloneIntoNewUserNamespaceIsReportedAsTheChild) {
  // clone(CLONE_NEWUSER) makes the child's new namespace with the child's own
  // credentials: no credential call is made, the fork is the change. The
  // child reports the grandchild's pid (or clone's errno, as a negative).
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  const pid_t child = InChild([&] {
    long r = -EPERM;
    if (syscall(SYS_setresgid, kNobody, kNobody, kNobody) == 0 &&
        syscall(SYS_setresuid, kNobody, kNobody, kNobody) == 0) {
      r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
      if (r == 0) _exit(0);
      if (r < 0) {
        r = -errno;
      } else {
        (void)waitpid(static_cast<pid_t>(r), nullptr, 0);
      }
    }
    (void)!write(p[1], &r, sizeof(r));
  });
  long grandchild = 0;
  close(p[1]);
  ASSERT_EQ(read(p[0], &grandchild, sizeof(grandchild)), static_cast<ssize_t>(sizeof(grandchild)));
  close(p[0]);
  if (grandchild < 0)
    GTEST_SKIP() << "clone(CLONE_NEWUSER) as nobody refused here: " << strerror(-grandchild);
  std::optional<Event> e = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "process.pid") == std::to_string(grandchild) &&
           Get(ev, "event.action") == "clone";
  });
  ASSERT_TRUE(e) << "no event for clone(CLONE_NEWUSER) by pid " << child;
  EXPECT_EQ((*e)["process.parent.pid"], std::to_string(child));
  EXPECT_EQ((*e)["permsentry.syscall"], "clone");
  EXPECT_EQ((*e)["permsentry.hook"], "fork_tracepoint");
  EXPECT_EQ((*e)["event.outcome"], "success");
  EXPECT_EQ((*e)["permsentry.creds.new_user_namespace"], "true");
  EXPECT_NE((*e)["permsentry.creds.before.userns"], (*e)["permsentry.creds.after.userns"]);
  EXPECT_EQ((*e)["permsentry.creds.before.euid"], std::to_string(kNobody));
  EXPECT_EQ(Get(*e, "permsentry.creds.capabilities_gained.0"), "<missing>");
  EXPECT_EQ(Get(*e, "rule.id"), "<missing>");  // full capabilities, over its own namespace only
}

// A chrooted caller's /etc/passwd is not the host's: every path is named from
// the host's root, with the caller's own view beside it, whether the call
// named it absolutely, relatively or by a descriptor.
TEST_F(Capture, ChrootedCallerIsNamedFromTheHostRoot) {
  const std::string jail = dir_ + "/jail";
  ASSERT_EQ(mkdir(jail.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((jail + "/etc").c_str(), 0755), 0);
  const std::string inside = MakeFile("jail/etc/passwd");
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  const pid_t child = InChild([&] {
    int step = 0;
    if (chroot(jail.c_str()) != 0 || chdir("/") != 0) {
      step = 1;
    } else if (chmod("/etc/passwd", 0604) != 0) {
      step = 2;
    } else if (chmod("etc/passwd", 0640) != 0) {
      step = 3;
    } else {
      const int fd = open("/etc/passwd", O_RDONLY);
      if (fd < 0 || fchmod(fd, 0600) != 0) step = 4;
      close(fd);
    }
    (void)!write(p[1], &step, sizeof(step));
  });
  int step = -1;
  close(p[1]);
  ASSERT_EQ(read(p[0], &step, sizeof(step)), static_cast<ssize_t>(sizeof(step)));
  close(p[0]);
  ASSERT_EQ(step, 0) << "step " << step << " failed in the jail";
  for (const char* mode : {"0604", "0640", "0600"}) {
    std::optional<Event> e = sensor_->WaitFor([&](const Event& ev) {
      return Get(ev, "process.pid") == std::to_string(child) && Get(ev, "file.mode") == mode;
    });
    ASSERT_TRUE(e) << "no chmod to " << mode << " in the jail\n" << sensor_->Stderr();
    EXPECT_EQ((*e)["event.action"], "chmod") << mode;
    EXPECT_EQ((*e)["file.path"], inside) << mode;
    EXPECT_EQ((*e)["permsentry.chroot.root"], jail) << mode;
    EXPECT_EQ((*e)["permsentry.chroot.path"], "/etc/passwd") << mode;
    EXPECT_EQ(Get(*e, "permsentry.watch.class"), "<missing>") << mode;
    EXPECT_EQ(Get(*e, "rule.id"), "<missing>") << mode;
  }
}

// ------------------------------------------------------------------ xattrs

TEST_F(Capture, XattrFamily) {
  const std::string f = MakeFile("x");
  const std::string value = "v\x01\x02";
  const long set =
      syscall(SYS_setxattr, f.c_str(), "user.permsentry", value.data(), value.size(), XATTR_CREATE);
  if (set == -1 && errno == EOPNOTSUPP) {
    // tmpfs before 6.6 (the qemu kernels' /var/tmp) has no user.* xattrs.
    GTEST_SKIP() << "this filesystem has no user.* xattrs";
  }
  ASSERT_EQ(set, 0) << strerror(errno);
  Event e = Expect("setxattr", f);
  ExpectSuccess(e);
  EXPECT_EQ(e["event.action"], "setxattr");
  EXPECT_EQ(e["permsentry.xattr.name"], "user.permsentry");
  EXPECT_EQ(e["permsentry.xattr.value_hex"], "760102");
  EXPECT_EQ(e["permsentry.xattr.size"], "3");
  EXPECT_EQ(e["permsentry.xattr.flags.0"], "XATTR_CREATE");

  ASSERT_EQ(syscall(SYS_setxattr, f.c_str(), "user.permsentry", "x", 1, XATTR_CREATE), -1);
  std::optional<Event> dup = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "permsentry.syscall") == "setxattr" && Get(ev, "file.path") == f &&
           Get(ev, "event.outcome") == "failure";
  });
  ASSERT_TRUE(dup);
  EXPECT_EQ((*dup)["permsentry.errno"], "EEXIST");

  const std::string link = dir_ + "/xl";
  ASSERT_EQ(symlink(f.c_str(), link.c_str()), 0);
  // user.* xattrs are not allowed on symlinks themselves.
  ASSERT_EQ(syscall(SYS_lsetxattr, link.c_str(), "user.a", "1", 1, 0), -1);
  Event ls = Expect("lsetxattr", link);
  ExpectFailure(ls, "EPERM");
  EXPECT_EQ(ls["permsentry.nofollow"], "true");

  const int fd = open(f.c_str(), O_RDONLY);
  ASSERT_EQ(syscall(SYS_fsetxattr, fd, "user.fd", "abc", 3, 0), 0);
  std::optional<Event> fe = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "permsentry.syscall") == "fsetxattr" &&
           Get(ev, "process.pid") == std::to_string(getpid()) &&
           Get(ev, "permsentry.xattr.name") == "user.fd";
  });
  ASSERT_TRUE(fe);
  ExpectSuccess(*fe);
  if (!RichBackend()) EXPECT_EQ((*fe)["permsentry.fd"], std::to_string(fd));
  EXPECT_EQ((*fe)["file.path"], f);
  EXPECT_EQ((*fe)["permsentry.xattr.value_hex"], "616263");

  ASSERT_EQ(syscall(SYS_fremovexattr, fd, "user.fd"), 0);
  std::optional<Event> fr = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "permsentry.syscall") == "fremovexattr" &&
           Get(ev, "permsentry.xattr.name") == "user.fd" &&
           Get(ev, "process.pid") == std::to_string(getpid());
  });
  ASSERT_TRUE(fr);
  ExpectSuccess(*fr);
  EXPECT_EQ((*fr)["event.action"], "removexattr");
  close(fd);

  ASSERT_EQ(syscall(SYS_removexattr, f.c_str(), "user.permsentry"), 0);
  Event r = Expect("removexattr", f);
  ExpectSuccess(r);
  EXPECT_EQ(r["permsentry.xattr.name"], "user.permsentry");
  EXPECT_EQ(Get(r, "permsentry.xattr.value_hex"), "<missing>");

  ASSERT_EQ(syscall(SYS_lremovexattr, link.c_str(), "user.none"), -1);
  Event lr = Expect("lremovexattr", link);
  EXPECT_EQ(lr["event.outcome"], "failure");

  ASSERT_EQ(syscall(SYS_removexattr, f.c_str(), "user.gone"), -1);
  std::optional<Event> gone = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "permsentry.syscall") == "removexattr" &&
           Get(ev, "permsentry.xattr.name") == "user.gone";
  });
  ASSERT_TRUE(gone);
  ExpectFailure(*gone, "ENODATA");
}

TEST_F(Capture, SetxattratAndRemovexattrat) {
  const std::string f = MakeFile("xat");
  struct {
    uint64_t value;
    uint32_t size;
    uint32_t flags;
  } args{reinterpret_cast<uint64_t>("hello"), 5, 0};
  const long r = syscall(463, AT_FDCWD, f.c_str(), 0, "user.at", &args, sizeof(args));
  if (r == -1 && errno == ENOSYS) {
    if (RichBackend()) {
      ExpectNoEvent("setxattrat", f);  // no such call: no operation
    } else {
      ExpectFailure(Expect("setxattrat", f), "ENOSYS");  // before 6.13: the attempt is seen
    }
    return;
  }
  if (r == -1 && errno == EOPNOTSUPP) GTEST_SKIP() << "this filesystem has no user.* xattrs";
  Event e = Expect("setxattrat", f);
  ASSERT_EQ(r, 0) << strerror(errno);
  ExpectSuccess(e);
  EXPECT_EQ(e["event.action"], "setxattr");
  EXPECT_EQ(e["permsentry.xattr.name"], "user.at");
  EXPECT_EQ(e["permsentry.xattr.value_hex"], "68656c6c6f");
  if (!RichBackend()) EXPECT_EQ(e["permsentry.dirfd"], "AT_FDCWD");

  ASSERT_EQ(syscall(466, AT_FDCWD, f.c_str(), 0, "user.at"), 0);
  Event rm = Expect("removexattrat", f);
  ExpectSuccess(rm);
  EXPECT_EQ(rm["permsentry.xattr.name"], "user.at");
  ASSERT_EQ(syscall(466, AT_FDCWD, f.c_str(), 0, "user.at"), -1);
  std::optional<Event> again = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "permsentry.syscall") == "removexattrat" &&
           Get(ev, "event.outcome") == "failure";
  });
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)["permsentry.errno"], "ENODATA");
}

TEST_F(Capture, FileCapabilityXattrIsUrgent) {
  const std::string f = MakeFile("capfile", 0755);
  // VFS_CAP_REVISION_2 with CAP_NET_RAW permitted+effective.
  const uint32_t cap[5] = {0x02000001, 1u << 13, 0, 0, 0};
  ASSERT_EQ(setxattr(f.c_str(), "security.capability", cap, sizeof(cap), 0), 0) << strerror(errno);
  Event e = Expect("setxattr", f);
  ExpectSuccess(e);
  EXPECT_EQ(e["permsentry.xattr.name"], "security.capability");
  EXPECT_EQ(e["permsentry.xattr.size"], "20");
  EXPECT_EQ(e["permsentry.urgent"], "true");
  EXPECT_EQ(e["permsentry.capabilities.revision"], "2");
  EXPECT_EQ(e["permsentry.capabilities.effective"], "true");
  EXPECT_EQ(e["permsentry.capabilities.permitted.0"], "CAP_NET_RAW");
  EXPECT_EQ(Get(e, "permsentry.capabilities.permitted.1"), "<missing>");

  ASSERT_EQ(removexattr(f.c_str(), "security.capability"), 0);
  Event r = Expect("removexattr", f);
  EXPECT_EQ(r["permsentry.capabilities.removed"], "true");
}

TEST_F(Capture, PosixAclDecoded) {
  const std::string f = MakeFile("acl", 0640);
  constexpr uint32_t kNoId = 0xffffffff;
  // What `setfacl -m u:nobody:rw` writes.
  const std::string acl = AclValue(
      {{0x01, 6, kNoId}, {0x02, 6, kNobody}, {0x04, 4, kNoId}, {0x10, 6, kNoId}, {0x20, 0, kNoId}});
  ASSERT_EQ(setxattr(f.c_str(), "system.posix_acl_access", acl.data(), acl.size(), 0), 0)
      << strerror(errno);
  Event e = Expect("setxattr", f);
  ExpectSuccess(e);
  EXPECT_EQ(e["permsentry.acl.kind"], "access");
  EXPECT_EQ(e["permsentry.acl.entries.0"], "user::rw-");
  EXPECT_EQ(e["permsentry.acl.entries.1"], "user:nobody:rw-");
  EXPECT_EQ(e["permsentry.acl.entries.2"], "group::r--");
  EXPECT_EQ(e["permsentry.acl.entries.3"], "mask::rw-");
  EXPECT_EQ(e["permsentry.acl.entries.4"], "other::---");

  // A malformed ACL: the kernel refuses it, the event says why it is malformed.
  const std::string bad("\x02\0\0\0\x01\0", 6);
  const std::string g = MakeFile("badacl");
  ASSERT_EQ(setxattr(g.c_str(), "system.posix_acl_access", bad.data(), bad.size(), 0), -1);
  if (RichBackend() && KernelAtLeast(6, 2)) {
    // Since 6.2 the kernel parses an ACL into its own object before any VFS
    // call: a malformed one never reaches the file.
    ExpectNoEvent("setxattr", g);
    return;
  }
  Event b = Expect("setxattr", g);
  ExpectFailure(b, "EINVAL");
  EXPECT_EQ(b["permsentry.acl.malformed"],
            "malformed ACL: size 6 is not a 4-byte header plus 8-byte entries");
}

// ------------------------------------------------------------------ paths, before/after

TEST_F(Capture, FdBasedCallsHaveExactBeforeAfterAndDelta) {
  const std::string f = MakeFile("exact", 0640);
  ASSERT_EQ(chown(f.c_str(), 0, 4), 0);  // group adm
  const int fd = open(f.c_str(), O_RDONLY);
  struct stat st;
  fstat(fd, &st);
  ASSERT_EQ(syscall(SYS_fchmod, fd, 0662), 0);
  std::optional<Event> e = WaitForFd("fchmod", fd, f);
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["file.path"], f);
  EXPECT_EQ((*e)["permsentry.path_resolution"], Resolution("kernel_fd"));
  EXPECT_EQ((*e)["permsentry.file.mode_before"], "0640");
  EXPECT_EQ((*e)["file.mode"], "0662");
  EXPECT_EQ((*e)["permsentry.file.uid_before"], "0");
  EXPECT_EQ((*e)["permsentry.file.gid_before"], "4");
  EXPECT_EQ((*e)["permsentry.file.state_source"], "kernel_inode");
  EXPECT_EQ((*e)["file.inode"], std::to_string(st.st_ino));
  EXPECT_EQ((*e)["file.device"], absl::StrCat(major(st.st_dev), ":", minor(st.st_dev)));
  EXPECT_EQ((*e)["file.type"], "file");
  EXPECT_EQ((*e)["permsentry.access_delta.0"], "group adm (4): +w");
  EXPECT_EQ((*e)["permsentry.access_delta.1"], "others: +w");
  EXPECT_NE(SummaryOf(*e).find(" 0640 -> 0662 "), std::string::npos) << SummaryOf(*e);
  EXPECT_NE(SummaryOf(*e).find("others: +w"), std::string::npos) << SummaryOf(*e);
  EXPECT_EQ((*e)["rule.id"], "world-writable");

  // A failed fchmod (not permitted for nobody) still has exact, unchanged state.
  const pid_t child = InChild([&] {
    syscall(SYS_setresuid, kNobody, kNobody, kNobody);
    syscall(SYS_fchmod, fd, 0777);
  });
  std::optional<Event> fail = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "process.pid") == std::to_string(child) &&
           Get(ev, "permsentry.syscall") == "fchmod";
  });
  ASSERT_TRUE(fail);
  ExpectFailure(*fail, "EPERM");
  EXPECT_EQ((*fail)["permsentry.file.mode_before"], "0662");
  EXPECT_EQ((*fail)["file.mode"], "0662");
  EXPECT_EQ(Get(*fail, "permsentry.access_delta.0"), "<missing>");
  close(fd);
}

TEST_F(Capture, SetuidOnRootOwnedFileByFd) {
  const std::string f = MakeFile("suid", 0755);
  const int fd = open(f.c_str(), O_RDONLY);
  ASSERT_EQ(syscall(SYS_fchmod, fd, 04755), 0);
  std::optional<Event> e = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "permsentry.syscall") == "fchmod" && Get(ev, "file.path") == f;
  });
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["permsentry.access_delta.0"], "setuid bit added: runs as root (owner uid 0)");
  EXPECT_NE(SummaryOf(*e).find("0755 -> 04755"), std::string::npos) << SummaryOf(*e);
  EXPECT_NE((*e)["message"].find("0755 → 04755"), std::string::npos) << (*e)["message"];
  close(fd);
}

TEST_F(Capture, RelativePathAfterChdirAndDotDot) {
  const std::string sub = dir_ + "/sub";
  ASSERT_EQ(mkdir(sub.c_str(), 0755), 0);
  MakeFile("up");
  char old[PATH_MAX];
  ASSERT_NE(getcwd(old, sizeof(old)), nullptr);
  ASSERT_EQ(chdir(sub.c_str()), 0);
  ASSERT_EQ(syscall(SYS_chmod, "../up", 0600), 0);
  ASSERT_EQ(syscall(SYS_chmod, "././/../up", 0604), 0);
  ASSERT_EQ(chdir(old), 0);
  // The tracepoint backend names each call by its argument; the rich one has
  // only the object, the same for both.
  Event e = Expect("chmod", RichBackend() ? dir_ + "/up" : "../up");
  EXPECT_EQ(e["file.path"], dir_ + "/up");
  EXPECT_EQ(e["file.mode"], "0600");
  // ".." walked on the real tree by the kernel lookup: exact, no caveat.
  EXPECT_EQ(e["permsentry.path_resolution"], Resolution("kernel_lookup"));
  EXPECT_EQ(Get(e, "permsentry.path_caveats.0"), "<missing>");
  EXPECT_EQ(e["permsentry.file.mode_before"], "0644");
  std::optional<Event> f = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "process.pid") == std::to_string(getpid()) &&
           Get(ev, "permsentry.syscall") == "chmod" && Get(ev, "file.mode") == "0604";
  });
  ASSERT_TRUE(f);
  EXPECT_EQ((*f)["file.path"], dir_ + "/up");
  if (!RichBackend()) EXPECT_EQ((*f)["permsentry.path_arg"], "././/../up");
}

// The kernel lookup caches (directory, name) -> dentry. A name deleted and
// created again, or replaced by a rename, must be looked up afresh: the state
// before each chmod is the file that is there now.
TEST_F(Capture, LookupFollowsReplacedNames) {
  const std::string f = MakeFile("cached", 0600);
  auto chmod_before = [&](mode_t mode) {
    sensor_->StartWindow();
    EXPECT_EQ(syscall(SYS_chmod, f.c_str(), mode), 0);
    return Expect("chmod", f)["permsentry.file.mode_before"];
  };
  EXPECT_EQ(chmod_before(0640), "0600");
  ASSERT_EQ(unlink(f.c_str()), 0);
  const int fd = open(f.c_str(), O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fchmod(fd, 0604), 0);
  close(fd);
  EXPECT_EQ(chmod_before(0644), "0604");  // the new inode, not the cached dentry
  const std::string other = dir_ + "/replacement";
  ASSERT_EQ(close(open(other.c_str(), O_CREAT | O_WRONLY, 0600)), 0);
  ASSERT_EQ(chmod(other.c_str(), 0606), 0);
  ASSERT_EQ(rename(other.c_str(), f.c_str()), 0);
  EXPECT_EQ(chmod_before(0600), "0606");  // what the rename put there
}

TEST_F(Capture, AtEmptyPathIsTheFdItself) {
  const std::string f = MakeFile("empty", 0600);
  const int fd = open(f.c_str(), O_RDONLY);
  ASSERT_EQ(syscall(SYS_fchownat, fd, "", kNobody, -1, AT_EMPTY_PATH), 0);
  std::optional<Event> e = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "permsentry.syscall") == "fchownat" &&
           (RichBackend() ? Get(ev, "file.path") == f
                          : Get(ev, "permsentry.dirfd") == std::to_string(fd)) &&
           Get(ev, "process.pid") == std::to_string(getpid());
  });
  ASSERT_TRUE(e);
  ExpectSuccess(*e);
  EXPECT_EQ((*e)["file.path"], f);
  EXPECT_EQ((*e)["permsentry.path_resolution"], Resolution("kernel_fd"));
  if (!RichBackend()) EXPECT_EQ((*e)["permsentry.at_flags.0"], "AT_EMPTY_PATH");
  EXPECT_EQ((*e)["permsentry.file.uid_before"], "0");
  EXPECT_EQ((*e)["file.uid"], "65534");
  EXPECT_EQ((*e)["permsentry.access_delta.0"], "owner: root (0) -> nobody (65534)");
  close(fd);
}

TEST_F(Capture, SymlinkFollowedOrNot) {
  const std::string target = MakeFile("target", 0600);
  const std::string link = dir_ + "/link";
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  // chmod follows: the target changed, the event says so.
  ASSERT_EQ(syscall(SYS_chmod, link.c_str(), 0640), 0);
  Event e = Expect("chmod", RichBackend() ? target : link);
  EXPECT_EQ(e["file.path"], target);  // the object that changed
  EXPECT_EQ(e["permsentry.file.mode_before"], "0600");
  if (!RichBackend()) {
    // The argument went through a symlink; the rich backend sees only the
    // object the kernel reached, which is the whole truth of what changed.
    EXPECT_EQ(e["permsentry.path_arg"], link);
    EXPECT_EQ(e["permsentry.path_caveats.0"], "via_symlink");
    EXPECT_EQ(e["permsentry.symlink_target"], target);
  }
  // lchown does not follow: the link itself is the object.
  ASSERT_EQ(syscall(SYS_lchown, link.c_str(), kNobody, -1), 0);
  Event l = Expect("lchown", link);
  EXPECT_EQ(l["file.path"], link);
  EXPECT_EQ(Get(l, "permsentry.path_caveats.0"), "<missing>");
  EXPECT_EQ(Get(l, "permsentry.symlink_target"), "<missing>");
  // fchownat with AT_SYMLINK_NOFOLLOW: the link itself too.
  ASSERT_EQ(syscall(SYS_fchownat, AT_FDCWD, link.c_str(), 0, -1, AT_SYMLINK_NOFOLLOW), 0);
  Event n = Expect("fchownat", link);
  EXPECT_EQ(Get(n, "permsentry.symlink_target"), "<missing>");
}

TEST_F(Capture, BindMountPathIsTheOneUsed) {
  const std::string src = dir_ + "/src", dst = dir_ + "/dst";
  ASSERT_EQ(mkdir(src.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(dst.c_str(), 0755), 0);
  ASSERT_EQ(mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr), 0) << strerror(errno);
  MakeFile("src/inner");
  const std::string via_bind = dst + "/inner";
  const int fd = open(via_bind.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(syscall(SYS_fchmod, fd, 0604), 0);
  std::optional<Event> e = WaitForFd("fchmod", fd, via_bind);
  close(fd);
  umount2(dst.c_str(), MNT_DETACH);
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["file.path"], via_bind);  // walked through the bind mount, not /src
  EXPECT_EQ((*e)["permsentry.path_resolution"], Resolution("kernel_fd"));
}

TEST_F(Capture, DeletedFileByFd) {
  const std::string f = MakeFile("gone", 0600);
  const int fd = open(f.c_str(), O_RDONLY);
  ASSERT_EQ(unlink(f.c_str()), 0);
  ASSERT_EQ(syscall(SYS_fchmod, fd, 0644), 0);
  std::optional<Event> e = WaitForFd("fchmod", fd, f);
  close(fd);
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["file.path"], f);
  EXPECT_EQ((*e)["permsentry.path_caveats.0"], "deleted");
}

TEST_F(Capture, AclGrantDelta) {
  const std::string f = MakeFile("aclgrant", 0640);
  constexpr uint32_t kNoId = 0xffffffff;
  const std::string acl = AclValue(
      {{0x01, 6, kNoId}, {0x02, 7, kNobody}, {0x04, 4, kNoId}, {0x10, 6, kNoId}, {0x20, 0, kNoId}});
  ASSERT_EQ(setxattr(f.c_str(), "system.posix_acl_access", acl.data(), acl.size(), 0), 0);
  Event e = Expect("setxattr", f);
  // rwx asked, the mask limits it to rw-.
  EXPECT_EQ(e["permsentry.access_delta.0"], "user nobody (65534): rw- via ACL");
}

// An access ACL is a mode change: `setfacl -m o::rwx` alerts as `chmod o+rwx`
// does; a minimal ACL restating the mode (`setfacl -b`) grants nothing.
TEST_F(Capture, AclThatOpensTheModeAlertsLikeChmod) {
  constexpr uint32_t kNoId = 0xffffffff;
  const std::string f = MakeFile("acl-other-rwx", 0644);
  const std::string o_rwx = AclValue({{0x01, 6, kNoId}, {0x04, 4, kNoId}, {0x20, 7, kNoId}});
  ASSERT_EQ(setxattr(f.c_str(), "system.posix_acl_access", o_rwx.data(), o_rwx.size(), 0), 0);
  Event e = Expect("setxattr", f);
  EXPECT_EQ(e["rule.id"], "world-writable");
  EXPECT_EQ(e["file.mode"], "0647");  // the inode's mode after it: the kernel set it too
  const std::string g = MakeFile("acl-minimal", 0644);
  const std::string minimal = AclValue({{0x01, 6, kNoId}, {0x04, 4, kNoId}, {0x20, 4, kNoId}});
  ASSERT_EQ(setxattr(g.c_str(), "system.posix_acl_access", minimal.data(), minimal.size(), 0), 0);
  Event m = Expect("setxattr", g);
  EXPECT_EQ(Get(m, "rule.id"), "<missing>") << SummaryOf(m);
}

// A process that is not root taking gid 0 (here: one that kept CAP_SETGID
// across its switch to nobody) alerts; the same switch made while still root
// does not.
TEST_F(Capture, PrivilegedGroupTakenByANonRootProcess) {
  const pid_t child = InChild([&] {
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) _exit(2);
    if (syscall(SYS_setresgid, kNobody, kNobody, kNobody) != 0) _exit(2);  // as root: no alert
    if (syscall(SYS_setresuid, kNobody, kNobody, kNobody) != 0) _exit(2);
    __user_cap_header_struct h{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    __user_cap_data_struct d[2] = {};
    d[0].permitted = d[0].effective = 1u << CAP_SETGID;
    if (syscall(SYS_capset, &h, d) != 0) _exit(3);
    if (syscall(SYS_setresgid, 0, 0, 0) != 0) _exit(4);
  });
  std::optional<Event> e = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "process.pid") == std::to_string(child) &&
           Get(ev, "permsentry.syscall") == "setresgid" && Get(ev, "user.id") == "65534";
  });
  ASSERT_TRUE(e) << sensor_->Stderr();
  EXPECT_EQ(Get(*e, "rule.id"), "privileged-group-gained") << SummaryOf(*e);
  std::optional<Event> as_root = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "process.pid") == std::to_string(child) &&
           Get(ev, "permsentry.syscall") == "setresgid" && Get(ev, "user.id") == "0";
  });
  ASSERT_TRUE(as_root);
  EXPECT_EQ(Get(*as_root, "rule.id"), "<missing>") << SummaryOf(*as_root);
}

// setgroups with a privileged group, by a process that is not root (it kept
// CAP_SETGID): the groups by name, and the alert.
TEST_F(Capture, SetgroupsNamesTheGroupsItSet) {
  const pid_t child = InChild([&] {
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) _exit(2);
    if (syscall(SYS_setresuid, kNobody, kNobody, kNobody) != 0) _exit(2);
    __user_cap_header_struct h{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    __user_cap_data_struct d[2] = {};
    d[0].permitted = d[0].effective = 1u << CAP_SETGID;
    if (syscall(SYS_capset, &h, d) != 0) _exit(3);
    const gid_t groups[] = {4 /* adm */, kNobody};
    if (syscall(SYS_setgroups, 2, groups) != 0) _exit(4);
  });
  std::optional<Event> e = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "process.pid") == std::to_string(child) &&
           Get(ev, "permsentry.syscall") == "setgroups" && Get(ev, "user.id") == "65534";
  });
  ASSERT_TRUE(e) << sensor_->Stderr();
  EXPECT_EQ(Get(*e, "permsentry.creds.groups_after.0"), "4");
  EXPECT_EQ(Get(*e, "permsentry.creds.groups_after.1"), "65534");
  EXPECT_EQ(Get(*e, "rule.id"), "privileged-group-gained") << SummaryOf(*e);
  const std::string adm = getgrgid(4) != nullptr ? getgrgid(4)->gr_name : "4";
  bool named = false;
  for (int i = 0; i < 8; ++i) {
    const std::string d = Get(*e, absl::StrCat("permsentry.access_delta.", i));
    named = named || absl::StrContains(d, "groups") && absl::StrContains(d, adm + " (4)");
  }
  EXPECT_TRUE(named) << SummaryOf(*e);
}

// Dropping privileges is not gaining them: setpriv to an unprivileged user,
// keeping a capability through PR_SET_KEEPCAPS and raising it back into the
// effective set, alerts on nothing.
TEST_F(Capture, DroppingPrivilegesIsNotGainingRoot) {
  if (access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/setpriv (util-linux)";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/usr/bin/setpriv", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
          "--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service", "/bin/true",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const int status = WaitChild(pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  // Its last credential call: the capset that raises the kept capability.
  std::optional<Event> raise = sensor_->WaitFor([&](const Event& e) {
    if (Get(e, "process.pid") != std::to_string(pid) || Get(e, "permsentry.operation") != "creds")
      return false;
    for (int i = 0; i < 8; ++i)
      if (absl::StartsWith(Get(e, absl::StrCat("permsentry.access_delta.", i)),
                           "raised from permitted "))
        return true;
    return false;
  });
  ASSERT_TRUE(raise) << sensor_->Stderr();
  EXPECT_EQ(Get(*raise, "rule.id"), "<missing>") << SummaryOf(*raise);
  // The ambient capability it raised (prctl), which the programs it runs keep.
  std::optional<Event> ambient = sensor_->WaitFor([&](const Event& e) {
    return Get(e, "process.pid") == std::to_string(pid) && Get(e, "event.action") == "prctl" &&
           HasDelta(e, "ambient CAP_NET_BIND_SERVICE (kept across exec by unprivileged programs)");
  });
  EXPECT_TRUE(ambient) << "no prctl event raising the ambient capability";
  for (const Event& e : sensor_->InWindow(
           [&](const Event& e) { return Get(e, "process.pid") == std::to_string(pid); }))
    EXPECT_NE(Get(e, "rule.id"), "process-gained-root") << SummaryOf(e);
}

// ------------------------------------------------------------ creation modes

// A file or directory can be born open: a setuid-root file made by open(O_CREAT,
// 04755) and run later is the same backdoor as a chmod. Creations whose mode, as
// the new inode has it (umask and default ACL applied), opens access are
// reported wherever they happen; the rest are not.
TEST_F(Capture, CreationModesThatOpenAccess) {
  const mode_t saved_umask = umask(0);
  struct Made {
    std::string syscall, path, action, mode, rule;
  };
  std::vector<Made> made;
  const auto open_made = [&](const std::string& sc, const std::string& name, long fd,
                             const std::string& mode, const std::string& rule) {
    ASSERT_GE(fd, 0) << sc << " " << name << ": " << strerror(errno);
    close(static_cast<int>(fd));
    made.push_back({sc, dir_ + "/" + name, "create", mode, rule});
  };
  const std::string suid = dir_ + "/suid", sgid = dir_ + "/sgid", ww = dir_ + "/ww";
  open_made("open", "suid", syscall(SYS_open, suid.c_str(), O_CREAT | O_WRONLY | O_EXCL, 04755),
            "04755", "setid-file-created");
  open_made("creat", "sgid", syscall(SYS_creat, sgid.c_str(), 02755), "02755",
            "setid-file-created");
  open_how how{};
  how.flags = O_CREAT | O_WRONLY | O_EXCL;
  how.mode = 0666;
  open_made("openat2", "ww", syscall(SYS_openat2, AT_FDCWD, ww.c_str(), &how, sizeof(how)), "0666",
            "world-writable-created");
  const std::string drop = dir_ + "/drop";
  ASSERT_EQ(syscall(SYS_mkdir, drop.c_str(), 0777), 0);
  made.push_back({"mkdir", drop, "mkdir", "0777", "world-writable-created"});
  const std::string node = dir_ + "/mem-copy";
  ASSERT_EQ(syscall(SYS_mknodat, AT_FDCWD, node.c_str(), S_IFCHR | 0600, makedev(1, 1)), 0);
  made.push_back({"mknodat", node, "mknod", "0600", "device-node-outside-dev"});
  const std::string regnode = dir_ + "/reg-node";
  ASSERT_EQ(syscall(SYS_mknod, regnode.c_str(), S_IFREG | 04711, 0), 0);
  made.push_back({"mknod", regnode, "create", "04711", "setid-file-created"});

  for (const Made& m : made) {
    Event e = Expect(m.syscall, m.path);
    EXPECT_EQ(e["event.action"], m.action) << m.path;
    EXPECT_EQ(e["event.outcome"], "success") << m.path;
    EXPECT_EQ(e["file.path"], m.path);
    EXPECT_EQ(e["file.mode"], m.mode) << m.path;
    EXPECT_EQ(e["rule.id"], m.rule) << m.path;
    EXPECT_EQ(e["permsentry.urgent"], "true") << m.path;
    EXPECT_TRUE(HasDelta(e, "created with mode " + m.mode)) << m.path;
  }
  const Event dev = Expect("mknodat", node);
  EXPECT_TRUE(HasDelta(dev, "character device 1:1")) << dev.at("message");
  EXPECT_EQ(dev.at("permsentry.rdev"), "1:1");

  // What opens nothing is not reported: the umask took the world bit, a
  // directory with the sticky bit, a private file, a fifo, a socket's mode.
  umask(022);
  const std::string masked = dir_ + "/masked", sticky = dir_ + "/sticky", plain = dir_ + "/plain",
                    fifo = dir_ + "/fifo";
  ASSERT_EQ(mkdir(masked.c_str(), 0777), 0);
  ASSERT_EQ(mkdir(sticky.c_str(), 01777), 0);
  close(open(plain.c_str(), O_CREAT | O_WRONLY, 0666));
  ASSERT_EQ(mkfifo(fifo.c_str(), 0666), 0);
  umask(saved_umask);
  for (const std::string& p : {masked, sticky, plain, fifo})
    ExpectNone(
        [&](const Event& e) {
          return Get(e, "process.pid") == std::to_string(getpid()) &&
                 (Get(e, "file.path") == p || Get(e, "permsentry.path_arg") == p);
        },
        "a creation whose mode opens nothing: " + p);
}

// ------------------------------------------------------------------ ia32 ABI

// int 0x80 from a 64-bit process runs the ia32 syscall table: a different
// numbering that a sensor watching only x86-64 numbers would miss.
long Int80(long nr, long a, long b, long c) {
  long ret;
  asm volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
  return ret;
}

// Some machines boot with ia32 emulation off (ia32_emulation=0): int 0x80 then
// raises SIGSEGV. Tried in a child, so the probe cannot take the test binary
// down. Empty when it works, else why not.
std::string Int80Unavailable() {
  const pid_t pid = fork();
  if (pid == 0) _exit(Int80(20 /* ia32 getpid */, 0, 0, 0) == getpid() ? 0 : 1);
  const int status = WaitChild(pid);
  if (WIFSIGNALED(status))
    return absl::StrCat("int 0x80 raises signal ", WTERMSIG(status),
                        ": ia32 emulation is off on this kernel (ia32_emulation=0 or "
                        "no IA32_EMULATION)");
  if (WEXITSTATUS(status) != 0) return "int 0x80 does not run ia32 syscalls here";
  return "";
}

TEST_F(Capture, Ia32SyscallsAreSeen) {
  if (const std::string why = Int80Unavailable(); !why.empty()) GTEST_SKIP() << why;
  const std::string f = MakeFile("ia32");
  // ia32 pointers are 32-bit: the path must live below 4 GiB.
  char* low = static_cast<char*>(
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0));
  ASSERT_NE(low, MAP_FAILED);
  std::strcpy(low, f.c_str());
  const long r = Int80(15 /* ia32 chmod */, reinterpret_cast<long>(low), 02750, 0);
  if (r == -ENOSYS) GTEST_SKIP() << "kernel without IA32_EMULATION";
  ASSERT_EQ(r, 0);
  // MakeFile chmodded the same path natively: pick the ia32 call's event.
  std::optional<Event> compat = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "file.path") == f && Get(ev, "permsentry.syscall") == "chmod" &&
           Get(ev, "permsentry.compat_ia32") == "true";
  });
  ASSERT_TRUE(compat);
  Event e = *compat;
  ExpectSuccess(e);
  EXPECT_EQ(e["permsentry.compat_ia32"], "true");
  EXPECT_EQ(e["file.mode"], "02750");
  EXPECT_EQ(e["permsentry.urgent"], "true");

  ASSERT_EQ(Int80(212 /* chown32 */, reinterpret_cast<long>(low), kNobody, 0xffffffffL), 0);
  Event c = Expect("chown32", f);
  ExpectSuccess(c);
  EXPECT_EQ(c["event.action"], "chown");
  EXPECT_EQ(c["file.uid"], "65534");
  EXPECT_EQ(c["file.gid"], c["permsentry.file.gid_before"]);  // -1: unchanged

  // 16-bit lchown (16): 0xffff is "unchanged".
  ASSERT_EQ(Int80(16, reinterpret_cast<long>(low), 0, 0xffff), 0);
  Event l = Expect("lchown", f);
  EXPECT_EQ(l["permsentry.compat_ia32"], "true");
  EXPECT_EQ(l["file.uid"], "0");
  EXPECT_EQ(l["file.gid"], l["permsentry.file.gid_before"]);  // 0xffff: unchanged
  munmap(low, 4096);
}

// ------------------------------------------------------------------ hostile names

// ------------------------------------------------------------------ mounts

// Every mount and unmount is reported with its target, source and type: the
// old API (a tmpfs, a bind), the new one (fsopen/fsmount/move_mount, and
// open_tree's clone attached by move_mount). Made in a child's own mount
// namespace, so the host never sees them.
TEST_F(Capture, MountsAndUnmountsAreReported) {
  const std::string mnt = dir_ + "/mnt", a = dir_ + "/a", b = dir_ + "/b", nm = dir_ + "/newapi";
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(nm.c_str(), 0755), 0);
  close(open(a.c_str(), O_CREAT | O_WRONLY, 0644));
  close(open(b.c_str(), O_CREAT | O_WRONLY, 0644));
  int step = -1;
  const pid_t child = InOwnMountNamespace(
      [&] {
        if (mount("permsentry-test", mnt.c_str(), "tmpfs", MS_NOSUID, "size=64k") != 0) return 3;
        if (umount2(mnt.c_str(), 0) != 0) return 4;
        if (mount(a.c_str(), b.c_str(), nullptr, MS_BIND, nullptr) != 0) return 5;
        if (umount(b.c_str()) != 0) return 6;
        const int fs = static_cast<int>(syscall(SYS_fsopen, "tmpfs", 0));
        if (fs < 0) return 7;
        if (syscall(SYS_fsconfig, fs, 6 /* FSCONFIG_CMD_CREATE */, nullptr, nullptr, 0) != 0)
          return 8;
        const int m = static_cast<int>(syscall(SYS_fsmount, fs, 0, 0));
        if (m < 0) return 9;
        if (syscall(SYS_move_mount, m, "", AT_FDCWD, nm.c_str(), 4 /* MOVE_MOUNT_F_EMPTY_PATH */) !=
            0)
          return 10;
        if (umount2(nm.c_str(), MNT_DETACH) != 0) return 11;
        return 0;
      },
      step);
  if (step == 1) GTEST_SKIP() << "unshare(CLONE_NEWNS) refused here";
  ASSERT_EQ(step, 0) << "mount step " << step << " failed";

  const auto expect = [&](const std::string& syscall, const std::string& path) {
    return Expect(syscall, path, child);
  };
  Event t = expect("mount", mnt);
  EXPECT_EQ(t["event.action"], "mount");
  EXPECT_EQ(t["event.outcome"], "success");
  EXPECT_EQ(t["file.path"], mnt);
  EXPECT_EQ(t["permsentry.mount.fstype"], "tmpfs");
  EXPECT_EQ(t["permsentry.mount.source"], "permsentry-test");
  EXPECT_EQ(t["permsentry.mount.flag_names.0"], "MS_NOSUID");
  EXPECT_EQ(t["permsentry.urgent"], "true");
  EXPECT_EQ(Get(t, "rule.id"), "<missing>");  // covers nothing watched
  Event u = expect("umount2", mnt);
  EXPECT_EQ(u["event.action"], "umount");
  // The rich backend reports an unmount at its permission check.
  EXPECT_EQ(u["event.outcome"], RichBackend() ? "unknown" : "success");
  Event bind = expect("mount", b);
  EXPECT_EQ(bind["permsentry.mount.source"], a);
  EXPECT_EQ(bind["permsentry.mount.flag_names.0"], "MS_BIND");
  Event move = expect("move_mount", nm);
  EXPECT_EQ(move["event.action"], "mount");
  if (RichBackend()) EXPECT_EQ(move["permsentry.mount.fstype"], "tmpfs");
  // The propagation change is reported too, and covers nothing.
  std::optional<Event> priv = sensor_->WaitFor([&](const Event& e) {
    return Get(e, "process.pid") == std::to_string(child) &&
           Get(e, "permsentry.mount.flags") == absl::StrFormat("0x%x", MS_REC | MS_PRIVATE);
  });
  ASSERT_TRUE(priv);
  EXPECT_EQ(Get(*priv, "rule.id"), "<missing>") << SummaryOf(*priv);
}

// A mount on or above a watched path replaces what every reader of it gets:
// a bind over /etc/shadow, a tmpfs over /etc/pam.d alert, and so do their
// unmounts. In a child's own mount namespace: the host's files stay as they are.
TEST_F(Capture, MountOverAWatchedPathAlerts) {
  const std::string evil = dir_ + "/evil-shadow";
  close(open(evil.c_str(), O_CREAT | O_WRONLY, 0644));
  int step = -1;
  const pid_t child = InOwnMountNamespace(
      [&] {
        if (mount(evil.c_str(), "/etc/shadow", nullptr, MS_BIND, nullptr) != 0) return 3;
        if (mount("none", "/etc/pam.d", "tmpfs", 0, "size=64k") != 0) return 4;
        if (umount2("/etc/pam.d", 0) != 0 || umount2("/etc/shadow", 0) != 0) return 5;
        return 0;
      },
      step);
  if (step == 1) GTEST_SKIP() << "unshare(CLONE_NEWNS) refused here";
  ASSERT_EQ(step, 0) << "mount step " << step << " failed";
  for (const auto& [syscall, target, cls] :
       {std::tuple<std::string, std::string, std::string>{"mount", "/etc/shadow", "shadow"},
        {"mount", "/etc/pam.d", "pam"},
        {"umount2", "/etc/pam.d", "pam"},
        {"umount2", "/etc/shadow", "shadow"}}) {
    Event e = Expect(syscall, target, child);
    EXPECT_EQ(e["rule.id"], "mount-covers-watched") << syscall << " " << target;
    EXPECT_EQ(e["permsentry.alert.severity"], "high");
    EXPECT_EQ(e["permsentry.mount.covers_watched.0"], target);
    EXPECT_EQ(e["permsentry.watch.class"], cls) << syscall << " " << target;
  }
}

// ------------------------------------------- files that grant root or persistence

// Beyond credentials: what makes root run code (the library path, systemd
// units, cron) and what every login shell runs are watched by default, each
// with its class and rule. The files written here are comments only (nothing
// reads them as code) and are removed by the test.
TEST_F(Capture, PrivilegeBearingFilesAreWatched) {
  struct Target {
    const char* dir;
    const char* cls;
    const char* rule;
  };
  int tried = 0;
  for (const Target& t : {Target{"/etc/ld.so.conf.d", "ld_so_conf", "root-code-path-changed"},
                          Target{"/etc/systemd/system", "systemd_unit", "root-code-path-changed"},
                          Target{"/etc/cron.d", "cron", "root-code-path-changed"},
                          Target{"/etc/profile.d", "shell_startup", "credfile-changed"}}) {
    struct stat st;
    if (stat(t.dir, &st) != 0 || !S_ISDIR(st.st_mode)) continue;  // not on this host
    ++tried;
    const std::string f = absl::StrCat(t.dir, "/zz-permsentry-test-", getpid());
    const int fd = open(f.c_str(), O_CREAT | O_WRONLY | O_EXCL, 0644);
    ASSERT_GE(fd, 0) << f << ": " << strerror(errno);
    ASSERT_EQ(write(fd, "#\n", 2), 2);
    close(fd);
    ASSERT_EQ(unlink(f.c_str()), 0);
    std::optional<Event> w = sensor_->WaitFor([&](const Event& e) {
      return Get(e, "process.pid") == std::to_string(getpid()) &&
             Get(e, "event.action") == "credfile_write" && Get(e, "file.path") == f;
    });
    ASSERT_TRUE(w) << "no credfile_write for " << f;
    EXPECT_EQ(Get(*w, "permsentry.watch.class"), t.cls) << f;
    EXPECT_EQ(Get(*w, "rule.id"), t.rule) << f;
    std::optional<Event> u = sensor_->WaitFor([&](const Event& e) {
      return Get(e, "process.pid") == std::to_string(getpid()) &&
             Get(e, "event.action") == "credfile_unlink" &&
             (Get(e, "file.path") == f || Get(e, "permsentry.path_arg") == f);
    });
    EXPECT_TRUE(u) << "no credfile_unlink for " << f;
  }
  EXPECT_GT(tried, 0) << "none of the directories exists: /etc/profile.d is in base-files";
}

TEST_F(Capture, HostileFileNamesStayOneLine) {
  const std::string name = std::string("evil\nname \"q\" \\ \xff\xfe end");
  const std::string f = MakeFile(name);
  ASSERT_EQ(syscall(SYS_chmod, f.c_str(), 0777), 0);
  std::optional<Event> e = sensor_->WaitFor([&](const Event& ev) {
    return Get(ev, "process.pid") == std::to_string(getpid()) &&
           Get(ev, "permsentry.syscall") == "chmod" && Get(ev, "file.mode") == "0777";
  });
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["file.path_escaped"], "true");
  EXPECT_EQ(UnescapeBytes((*e)["file.path"]), f);

  // The longest path the kernel takes (4095 bytes + NUL): captured whole.
  std::string longpath = dir_ + "/";
  longpath += std::string(4095 - longpath.size(), 'L');
  ASSERT_EQ(longpath.size(), 4095u);
  syscall(SYS_chmod, longpath.c_str(), 0600);  // fails (name too long), still an event
  if (RichBackend()) {
    ExpectNoEvent("chmod", longpath);  // no object: the name was refused
    return;
  }
  Event l = Expect("chmod", longpath);
  EXPECT_EQ(l["event.outcome"], "failure");
  EXPECT_EQ(l["permsentry.path_arg"].size(), 4095u);
}

// ------------------------------------------------------------------ delivery

// A storm of identical calls: the kernel sends the first of each kind and
// counts the rest (coalesce.bpf.h), so records + repeats is exactly the calls
// made; none is lost, none counted twice, and no two kinds are merged.
TEST_F(Capture, EveryCallOfAStormIsDeliveredOrCounted) {
  const std::string f = dir_ + "/storm";
  close(open(f.c_str(), O_CREAT | O_WRONLY, 0600));  // not MakeFile: it chmods
  const int kCalls = Scaled(20000, 2000);
  for (int i = 0; i < kCalls; ++i) syscall(SYS_chmod, f.c_str(), (i & 1) ? 0600 : 0644);
  const auto ours = [&](const Event& x) {
    return Get(x, "file.path") == f && Get(x, "permsentry.syscall") == "chmod";
  };
  const auto calls = [&](const std::vector<Event>& evs) {
    uint64_t n = 0;
    for (const Event& e : evs) {
      // A summary line stands for its repeats; any other line for one call.
      const auto r = e.find("permsentry.repeats");
      n += r == e.end() ? 1 : std::stoull(r->second);
    }
    return n;
  };
  // All() scans every event received so far under the lock the reader needs:
  // poll rarely, or a sanitizer build's test process starves its own reader.
  // The last counts come when the kernel's window closes (a second or so).
  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  uint64_t seen = 0;
  while ((seen = calls(sensor_->All(ours))) < static_cast<uint64_t>(kCalls) &&
         absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(seen, static_cast<uint64_t>(kCalls));
  const std::vector<Event> records = sensor_->All(ours);
  EXPECT_LT(records.size(), static_cast<size_t>(kCalls) / 10) << "repeats were not coalesced";
  for (const Event& e : records) {
    // Two kinds of call, never merged: 0600 -> 0644 and 0644 -> 0600.
    const std::string to = Get(e, "file.mode"), from = Get(e, "permsentry.file.mode_before");
    EXPECT_TRUE((to == "0644" && from == "0600") || (to == "0600" && from == "0644") ||
                from == "<missing>")
        << SummaryOf(e);
    if (e.count("permsentry.repeats") != 0) {
      EXPECT_NE(Get(e, "permsentry.repeats_first"), "<missing>");
      EXPECT_LE(Get(e, "permsentry.repeats_first"), Get(e, "permsentry.repeats_last"));
      EXPECT_EQ(Get(e, "@timestamp"), Get(e, "permsentry.repeats_last"));
    }
  }
  // Alert candidates are never coalesced: each identical setuid chmod is an
  // event of its own, as it happens.
  const std::string g = dir_ + "/setid";
  close(open(g.c_str(), O_CREAT | O_WRONLY, 0755));
  for (int i = 0; i < 50; ++i) ASSERT_EQ(chmod(g.c_str(), 04755), 0);
  const auto setid = [&](const Event& x) {
    return Get(x, "file.path") == g && Get(x, "event.action") == "chmod" &&
           Get(x, "file.mode") == "04755";
  };
  int n = 0;  // WaitFor shows each event once
  ASSERT_TRUE(
      sensor_->WaitFor([&](const Event& x) { return setid(x) && ++n == 50; }, absl::Seconds(30)));
  for (const Event& e : sensor_->InWindow(setid)) EXPECT_EQ(e.count("permsentry.repeats"), 0u);
  EXPECT_TRUE(
      sensor_->All([](const Event& x) { return Get(x, "event.action") == "events_lost"; }).empty());
}

}  // namespace
}  // namespace permsentry::testing
